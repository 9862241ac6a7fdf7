//! Origin ASes of routes, as prefix-to-AS sources report them.

use std::fmt;

/// The origin of a route: one AS, or the members of an AS_SET that ends the AS path
/// (RFC 4271 section 5.1.2; CAIDA's pfx2as writes these joined with `,`).
#[derive(Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum Origin {
    Asn(u32),
    /// Members sorted and without duplicates.
    Set(Vec<u32>),
}

impl Origin {
    /// An AS_SET origin from its members (sorted, deduplicated); a one-member set is
    /// kept as a set, since it was announced as one.
    pub fn set(mut members: Vec<u32>) -> Origin {
        members.sort_unstable();
        members.dedup();
        Origin::Set(members)
    }

    /// One AS to stand for this origin: the AS itself, or a set's lowest member (a
    /// fixed choice, where pyasn takes an arbitrary one).
    pub fn primary(&self) -> u32 {
        match self {
            Origin::Asn(a) => *a,
            Origin::Set(s) => s.first().copied().unwrap_or(0),
        }
    }
}

impl fmt::Display for Origin {
    /// `15169`, or a set as `{1,2,3}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Asn(a) => write!(f, "{a}"),
            Origin::Set(s) => {
                let members: Vec<String> = s.iter().map(u32::to_string).collect();
                write!(f, "{{{}}}", members.join(","))
            }
        }
    }
}
