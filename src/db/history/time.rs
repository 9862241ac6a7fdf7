//! Times of snapshots: the date of a database's routing data, read from its
//! provenance, and which snapshot answers at a given time.

use crate::db::kinds::SourceKind;
use crate::db::provenance::Metadata;

/// Seconds since 1970 of `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM:SSZ` (the two forms
/// source dates are written in; see [`crate::db::provenance`]), UTC. The inverse of
/// [`crate::db::provenance::iso_time`], by the same civil-calendar algorithm, so
/// that no date crate is needed for the forms this crate writes itself.
pub fn parse_time(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let digits = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (y, m, d) = (digits(0..4)?, digits(5..7)?, digits(8..10)?);
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || !(1..=12).contains(&m) {
        return None;
    }
    if !(1..=days_in_month(y, m)).contains(&d) {
        return None;
    }
    let secs = match b.len() {
        10 => 0,
        20 if b[10] == b'T' && b[13] == b':' && b[16] == b':' && b[19] == b'Z' => {
            let (h, mi, s) = (digits(11..13)?, digits(14..16)?, digits(17..19)?);
            if h > 23 || mi > 59 || s > 59 {
                return None;
            }
            h * 3600 + mi * 60 + s
        }
        _ => return None,
    };
    Some(days_from_civil(y, m, d) * 86_400 + secs)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    [
        31,
        28 + i64::from(leap),
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ][(m - 1) as usize]
}

/// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

impl Metadata {
    /// The time of the routing data: the newest date among the prefix sources
    /// (MRT, ipasn, pfx2as), as written and in seconds; `None` if none has one.
    pub fn data_time(&self) -> Option<(&str, i64)> {
        let prefix_kind = |k: &str| {
            SourceKind::ALL
                .iter()
                .any(|s| s.name() == k && s.is_prefix_source())
        };
        self.sources
            .iter()
            .filter(|s| prefix_kind(&s.kind))
            .filter_map(|s| {
                let d = s.date.as_deref()?;
                Some((d, parse_time(d)?))
            })
            .max_by_key(|&(_, t)| t)
    }
}

/// The snapshot in force at time `t` among snapshots taken at `times` (ascending):
/// the newest taken at or before `t`; `None` before the first.
#[inline]
pub fn snapshot_at(times: &[i64], t: i64) -> Option<u32> {
    (times.partition_point(|&s| s <= t) as u32).checked_sub(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::provenance::iso_time;
    use proptest::prelude::*;

    #[test]
    fn dates_and_times_read_as_utc_seconds() {
        assert_eq!(parse_time("1970-01-01"), Some(0));
        assert_eq!(parse_time("2014-05-30T22:00:00Z"), Some(1_401_487_200));
        assert_eq!(parse_time("2000-02-29"), Some(951_782_400));
        for bad in [
            "2014-02-30",
            "2015-02-29",
            "2014-13-01",
            "2014-05-30T24:00:00Z",
            "2014-5-30",
            "2014-05-30T22:00:00",
            "2014-05-30 22:00:00Z",
            "",
            "20140530",
            "2014-05-3x",
        ] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_snapshot_in_force_is_the_newest_not_after() {
        let times = [10, 20, 30];
        let got: Vec<_> = [0, 9, 10, 15, 20, 29, 30, 1000]
            .map(|t| snapshot_at(&times, t))
            .into();
        assert_eq!(
            got,
            [
                None,
                None,
                Some(0),
                Some(0),
                Some(1),
                Some(1),
                Some(2),
                Some(2)
            ]
        );
        assert_eq!(snapshot_at(&[], 5), None);
    }

    proptest! {
        #[test]
        fn parsing_inverts_writing(t in -2_000_000_000i64..8_000_000_000) {
            prop_assert_eq!(parse_time(&iso_time(t)), Some(t));
            let day = t.div_euclid(86_400) * 86_400;
            prop_assert_eq!(parse_time(&iso_time(t)[..10]), Some(day));
        }
    }
}
