//! The origin AS of a route, read from its AS path.
//!
//! The rules, walking the path from its end (the originating side):
//! - AS_CONFED_SEQUENCE and AS_CONFED_SET segments are passed over: they describe
//!   hops inside the collector-side confederation (RFC 5065), never the origin.
//! - An AS_SET at the end (from aggregation, RFC 4271 5.1.6) makes the origin a set
//!   of its public members.
//! - In an AS_SEQUENCE the origin is the last public AS: private and reserved ASNs
//!   at the end (a customer numbered from the private range behind its provider) are
//!   passed over, as pyasn does, so the provider that announces the route counts.
//! - A path with no public AS at all (empty: a route originated by the collector's
//!   own AS, e.g. RIS beacons; or only private ASNs) has no origin; the reader counts
//!   such entries and leaves them out.

use crate::origin::Origin;
use bgpkit_parser::models::{AsPath, AsPathSegment};
use std::fmt::Write;

/// Private, reserved and documentation ASNs (IANA "Special-Purpose AS Numbers"):
/// never a real origin.
pub fn is_reserved(asn: u32) -> bool {
    matches!(asn,
        0                           // RFC 7607
        | 23456                     // AS_TRANS, RFC 6793
        | 64496..=64511             // documentation, RFC 5398
        | 64512..=65534             // private, RFC 6996
        | 65535                     // RFC 7300
        | 65536..=65551             // documentation, RFC 5398
        | 65552..=131071            // reserved
        | 4_200_000_000..=u32::MAX) // private (RFC 6996) and last ASN (RFC 7300)
}

/// Why a path gave no origin.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NoOrigin {
    /// No AS_PATH attribute, or one with no segments.
    EmptyPath,
    /// Only private, reserved or confederation ASNs.
    NoPublicAs,
}

impl NoOrigin {
    /// The reason counted in the load summary.
    pub fn reason(self) -> &'static str {
        match self {
            NoOrigin::EmptyPath => "empty AS path",
            NoOrigin::NoPublicAs => "no public origin AS",
        }
    }
}

/// The origin of a route with AS path `path` (see the module docs for the rules).
pub fn origin_of(path: Option<&AsPath>) -> Result<Origin, NoOrigin> {
    let path = path.ok_or(NoOrigin::EmptyPath)?;
    if path.segments.iter().all(|s| s.is_empty()) {
        return Err(NoOrigin::EmptyPath);
    }
    for segment in path.segments.iter().rev() {
        match segment {
            AsPathSegment::AsSet(members) => {
                let public: Vec<u32> = members
                    .iter()
                    .map(|a| a.to_u32())
                    .filter(|&a| !is_reserved(a))
                    .collect();
                if !public.is_empty() {
                    return Ok(Origin::set(public));
                }
            }
            AsPathSegment::AsSequence(seq) => {
                if let Some(a) = seq
                    .iter()
                    .rev()
                    .map(|a| a.to_u32())
                    .find(|&a| !is_reserved(a))
                {
                    return Ok(Origin::Asn(a));
                }
            }
            AsPathSegment::ConfedSequence(_) | AsPathSegment::ConfedSet(_) => {}
        }
    }
    Err(NoOrigin::NoPublicAs)
}

/// The path as `bgpdump -m` prints it: `1 2 {3,4}`, confederation segments in
/// `(...)` and `[...]`.
pub fn path_text(path: &AsPath) -> String {
    let mut out = String::new();
    for segment in &path.segments {
        if !out.is_empty() {
            out.push(' ');
        }
        let (open, sep, close, asns) = match segment {
            AsPathSegment::AsSequence(a) => ("", " ", "", a),
            AsPathSegment::AsSet(a) => ("{", ",", "}", a),
            AsPathSegment::ConfedSequence(a) => ("(", " ", ")", a),
            AsPathSegment::ConfedSet(a) => ("[", ",", "]", a),
        };
        out.push_str(open);
        for (i, a) in asns.iter().enumerate() {
            if i > 0 {
                out.push_str(sep);
            }
            let _ = write!(out, "{}", a.to_u32());
        }
        out.push_str(close);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(segments: Vec<AsPathSegment>) -> AsPath {
        AsPath::from_segments(segments)
    }

    #[test]
    fn origins_follow_the_documented_rules() {
        let seq = |a: &[u32]| AsPathSegment::sequence(a);
        let set = |a: &[u32]| AsPathSegment::set(a);
        assert_eq!(
            origin_of(Some(&path(vec![seq(&[2905, 65023, 16637])]))),
            Ok(Origin::Asn(16637))
        );
        assert_eq!(
            origin_of(Some(&path(vec![seq(&[701, 6453, 64512])]))),
            Ok(Origin::Asn(6453))
        );
        assert_eq!(
            origin_of(Some(&path(vec![seq(&[1, 2]), set(&[701, 13659, 64600])]))),
            Ok(Origin::Set(vec![701, 13659]))
        );
        assert_eq!(
            origin_of(Some(&path(vec![seq(&[1, 2]), set(&[64600])]))),
            Ok(Origin::Asn(2))
        );
        let confed =
            AsPathSegment::ConfedSequence([65001u32, 3].iter().map(|&a| a.into()).collect());
        assert_eq!(
            origin_of(Some(&path(vec![seq(&[7, 8]), confed]))),
            Ok(Origin::Asn(8))
        );
        assert_eq!(origin_of(Some(&path(vec![]))), Err(NoOrigin::EmptyPath));
        assert_eq!(origin_of(None), Err(NoOrigin::EmptyPath));
        assert_eq!(
            origin_of(Some(&path(vec![seq(&[64512, 23456])]))),
            Err(NoOrigin::NoPublicAs)
        );
    }

    #[test]
    fn reserved_ranges() {
        for a in [
            0,
            23456,
            64496,
            64512,
            65535,
            65536,
            131071,
            4_200_000_000,
            u32::MAX,
        ] {
            assert!(is_reserved(a), "{a}");
        }
        for a in [1, 15169, 64495, 131072, 399999, 4_199_999_999] {
            assert!(!is_reserved(a), "{a}");
        }
    }

    #[test]
    fn text_like_bgpdump() {
        let p = path(vec![
            AsPathSegment::sequence([1853, 1239, 13659]),
            AsPathSegment::set([13659, 701]),
        ]);
        assert_eq!(path_text(&p), "1853 1239 13659 {13659,701}");
    }
}
