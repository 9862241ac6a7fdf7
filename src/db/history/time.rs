//! Times of snapshots: the date of a database's routing data, read from its
//! provenance, and which snapshot answers at a given time.

use crate::db::kinds::SourceKind;
use crate::db::layout::NONE;
use crate::db::provenance::Metadata;
use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType};

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
    Some(civil_seconds(y, m, d) + secs)
}

/// The start (UTC) of a day of the proleptic Gregorian calendar, in seconds.
fn civil_seconds(y: i64, m: i64, d: i64) -> i64 {
    days_from_civil(y, m, d) * 86_400
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
    /// (MRT, ipasn, pfx2as), else among the MMDB files, as written and in seconds;
    /// `None` if none has one. An MMDB file comes last because its date is when it
    /// was built, and it may have given only countries.
    pub fn data_time(&self) -> Option<(&str, i64)> {
        let newest = |mmdb: bool| {
            let kind = |k: &str| {
                SourceKind::ALL.iter().any(|s| {
                    s.name() == k && s.is_prefix_source() && (*s == SourceKind::Mmdb) == mmdb
                })
            };
            self.sources
                .iter()
                .filter(|s| kind(&s.kind))
                .filter_map(|s| {
                    let d = s.date.as_deref()?;
                    Some((d, parse_time(d)?))
                })
                .max_by_key(|&(_, t)| t)
        };
        newest(false).or_else(|| newest(true))
    }
}

/// The snapshot in force at time `t` among snapshots taken at `times` (ascending):
/// the newest taken at or before `t`; `None` before the first.
#[inline]
pub fn snapshot_at(times: &[i64], t: i64) -> Option<u32> {
    match in_force(times, t) {
        NONE => None,
        s => Some(s),
    }
}

/// [`snapshot_at`] with [`NONE`] before the first: a binary search without branches
/// on the comparisons (the times of a log's rows are in no order the branch
/// predictor could learn): 45 ns a row with `partition_point` over 30 snapshots, a
/// few ns this way. [`SnapshotTimes`] is quicker still for a batch.
#[inline(always)]
fn in_force(times: &[i64], t: i64) -> u32 {
    let Some(&first) = times.first() else {
        return NONE;
    };
    let (mut base, mut n) = (0usize, times.len());
    while n > 1 {
        let half = n / 2;
        base = if times[base + half] <= t {
            base + half
        } else {
            base
        };
        n -= half;
    }
    match first <= t {
        true => base as u32,
        false => NONE,
    }
}

/// Snapshot times, with a table that finds the snapshot in force at a time in
/// constant time: buckets of a power of two seconds no longer than the shortest
/// gap between two snapshots, so that a bucket holds at most one snapshot's start;
/// each bucket knows the snapshot in force at its start, and one comparison with
/// the next snapshot's time settles the rest. A batch asks this once a row, where
/// the branch-free binary search cost about 60 instructions over 30 snapshots.
/// Times too spread for a small table fall back to the search.
#[derive(Clone, Debug)]
pub struct SnapshotTimes {
    taken: Vec<i64>,
    shift: u32,
    table: Vec<u32>,
}

/// The largest table [`SnapshotTimes`] makes (4 MiB).
const MAX_BUCKETS: i64 = 1 << 20;

impl SnapshotTimes {
    pub fn new(taken: &[i64]) -> Self {
        let gap = taken.windows(2).map(|w| w[1].saturating_sub(w[0])).min();
        let (first, last) = (taken.first().copied(), taken.last().copied());
        let mut out = SnapshotTimes {
            taken: taken.to_vec(),
            shift: 0,
            table: Vec::new(),
        };
        let (Some(gap), Some(first), Some(last)) = (gap.filter(|&g| g > 0), first, last) else {
            return out;
        };
        out.shift = 63 - gap.leading_zeros();
        let buckets = last.saturating_sub(first) >> out.shift;
        if buckets < MAX_BUCKETS {
            out.table = (0..=buckets)
                .map(|b| in_force(taken, first + (b << out.shift)))
                .collect();
        }
        out
    }

    pub fn times(&self) -> &[i64] {
        &self.taken
    }

    /// [`in_force`] at `t`.
    #[inline(always)]
    pub fn in_force(&self, t: i64) -> u32 {
        let Some(&first) = self.taken.first() else {
            return NONE;
        };
        if self.table.is_empty() || t < first {
            return in_force(&self.taken, t);
        }
        let bucket = (t.wrapping_sub(first) as u64 >> self.shift) as usize;
        let s = match self.table.get(bucket) {
            Some(&s) => s,
            None => return self.taken.len() as u32 - 1,
        };
        let next = self.taken.get(s as usize + 1).is_some_and(|&n| n <= t);
        s + next as u32
    }
}

/// The unit of integer times: numpy's `datetime64` units and Arrow's timestamps
/// and dates (calendar months and years are not fixed lengths, so not here).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TimeUnit {
    Weeks,
    Days,
    Hours,
    Minutes,
    Seconds,
    Millis,
    Micros,
    Nanos,
}

impl TimeUnit {
    /// A numpy `datetime64` unit code (`s`, `ms`, `us`, `ns`, `D`, ...).
    pub fn from_numpy(code: &str) -> Result<Self, String> {
        Ok(match code {
            "W" => TimeUnit::Weeks,
            "D" => TimeUnit::Days,
            "h" => TimeUnit::Hours,
            "m" => TimeUnit::Minutes,
            "s" => TimeUnit::Seconds,
            "ms" => TimeUnit::Millis,
            "us" => TimeUnit::Micros,
            "ns" => TimeUnit::Nanos,
            other => {
                return Err(format!(
                    "times in unit '{other}' are not supported: use datetime64 in D, h, m, s, \
                     ms, us or ns"
                ))
            }
        })
    }

    /// `v` of this unit in whole seconds (rounded down, so that a time compares
    /// with the snapshots' whole seconds as it would unrounded); `None` past the
    /// range of `i64` seconds.
    pub fn seconds(self, v: i64) -> Option<i64> {
        match self {
            TimeUnit::Weeks => v.checked_mul(7 * 86_400),
            TimeUnit::Days => v.checked_mul(86_400),
            TimeUnit::Hours => v.checked_mul(3600),
            TimeUnit::Minutes => v.checked_mul(60),
            TimeUnit::Seconds => Some(v),
            TimeUnit::Millis => Some(v.div_euclid(1_000)),
            TimeUnit::Micros => Some(v.div_euclid(1_000_000)),
            TimeUnit::Nanos => Some(v.div_euclid(1_000_000_000)),
        }
    }
}

/// Why a column of times cannot be used: the row without a time (NaT or null) or
/// out of range, or what is wrong with the column.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimeError {
    Missing { row: usize },
    OutOfRange { row: usize },
    Type(String),
}

impl std::fmt::Display for TimeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TimeError::Missing { row } => write!(f, "no time (NaT or null) at index {row}"),
            TimeError::OutOfRange { row } => write!(f, "time out of range at index {row}"),
            TimeError::Type(m) => f.write_str(m),
        }
    }
}

/// Integer times of `unit` as seconds; numpy's NaT (`i64::MIN`) is an error naming
/// its row, as a time out of range is.
pub fn to_seconds(values: &[i64], unit: TimeUnit) -> Result<Vec<i64>, TimeError> {
    values
        .iter()
        .enumerate()
        .map(|(row, &v)| match v {
            i64::MIN => Err(TimeError::Missing { row }),
            v => unit.seconds(v).ok_or(TimeError::OutOfRange { row }),
        })
        .collect()
}

/// The times of an Arrow column's chunks as seconds: a timestamp (any unit; its
/// time zone does not change the instant), a date, or integers taken as seconds.
/// A null is an error naming its row, counted across chunks.
pub fn arrow_times(chunks: &[ArrayRef]) -> Result<Vec<i64>, TimeError> {
    use arrow_array::types::*;
    use arrow_schema::{DataType as D, TimeUnit as U};
    let mut out = Vec::with_capacity(chunks.iter().map(|c| c.len()).sum());
    for chunk in chunks {
        let c = chunk.as_ref();
        let start = out.len();
        match c.data_type() {
            D::Timestamp(U::Second, _) => push::<TimestampSecondType>(c, TimeUnit::Seconds, start, &mut out),
            D::Timestamp(U::Millisecond, _) => push::<TimestampMillisecondType>(c, TimeUnit::Millis, start, &mut out),
            D::Timestamp(U::Microsecond, _) => push::<TimestampMicrosecondType>(c, TimeUnit::Micros, start, &mut out),
            D::Timestamp(U::Nanosecond, _) => push::<TimestampNanosecondType>(c, TimeUnit::Nanos, start, &mut out),
            D::Date32 => push::<Date32Type>(c, TimeUnit::Days, start, &mut out),
            D::Date64 => push::<Date64Type>(c, TimeUnit::Millis, start, &mut out),
            D::Int64 => push::<Int64Type>(c, TimeUnit::Seconds, start, &mut out),
            D::Int32 => push::<Int32Type>(c, TimeUnit::Seconds, start, &mut out),
            D::Int16 => push::<Int16Type>(c, TimeUnit::Seconds, start, &mut out),
            D::Int8 => push::<Int8Type>(c, TimeUnit::Seconds, start, &mut out),
            D::UInt32 => push::<UInt32Type>(c, TimeUnit::Seconds, start, &mut out),
            D::UInt16 => push::<UInt16Type>(c, TimeUnit::Seconds, start, &mut out),
            D::UInt8 => push::<UInt8Type>(c, TimeUnit::Seconds, start, &mut out),
            D::UInt64 => push_with::<UInt64Type>(c, start, &mut out, |v| i64::try_from(v).ok()),
            D::Float64 => push_with::<Float64Type>(c, start, &mut out, float_seconds),
            D::Float32 => push_with::<Float32Type>(c, start, &mut out, |v| float_seconds(v as f64)),
            other => Err(TimeError::Type(format!(
                "expected times as an Arrow timestamp, date or integer (seconds) column, got {other}"
            ))),
        }?;
    }
    Ok(out)
}

fn push<T: ArrowPrimitiveType>(
    array: &dyn Array,
    unit: TimeUnit,
    start: usize,
    out: &mut Vec<i64>,
) -> Result<(), TimeError>
where
    T::Native: Into<i64>,
{
    push_with::<T>(array, start, out, |v| unit.seconds(v.into()))
}

/// The values of a primitive array as seconds by `seconds` (`None`: out of range).
fn push_with<T: ArrowPrimitiveType>(
    array: &dyn Array,
    start: usize,
    out: &mut Vec<i64>,
    seconds: impl Fn(T::Native) -> Option<i64>,
) -> Result<(), TimeError> {
    for (i, v) in array.as_primitive::<T>().iter().enumerate() {
        let row = start + i;
        let v = v.ok_or(TimeError::Missing { row })?;
        out.push(seconds(v).ok_or(TimeError::OutOfRange { row })?);
    }
    Ok(())
}

/// Seconds as a float, rounded down; `None` for NaN, infinities and past `i64`.
fn float_seconds(f: f64) -> Option<i64> {
    (f.is_finite() && f.abs() < 9.2e18).then(|| f.floor() as i64)
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
        fn the_bucket_table_finds_the_snapshot_the_search_does(
            mut times in prop::collection::vec(-1_000i64..1_000_000, 0..40),
            probes in prop::collection::vec(-2_000i64..1_100_000, 100),
            extreme in prop::sample::select(vec![i64::MIN, i64::MIN + 1, i64::MAX, 0]),
        ) {
            times.sort_unstable();
            times.dedup();
            let index = SnapshotTimes::new(&times);
            let edges = times.iter().flat_map(|&t| [t - 1, t, t + 1]);
            for t in probes.into_iter().chain(edges).chain([extreme]) {
                prop_assert_eq!(index.in_force(t), in_force(&times, t), "t = {}", t);
            }
        }

        #[test]
        fn the_branchless_search_is_partition_point(
            mut times in prop::collection::vec(-100i64..100, 0..40),
            t in -120i64..120,
        ) {
            times.sort_unstable();
            times.dedup();
            let want = (times.partition_point(|&s| s <= t) as u32).checked_sub(1);
            prop_assert_eq!(snapshot_at(&times, t), want);
        }
    }

    #[test]
    fn times_of_any_unit_are_whole_seconds_rounded_down() {
        assert_eq!(
            to_seconds(&[1, -1], TimeUnit::Days),
            Ok(vec![86_400, -86_400])
        );
        assert_eq!(to_seconds(&[1_999, -1], TimeUnit::Millis), Ok(vec![1, -1]));
        assert_eq!(
            to_seconds(&[5, i64::MIN], TimeUnit::Seconds),
            Err(TimeError::Missing { row: 1 })
        );
        assert_eq!(
            to_seconds(&[i64::MAX], TimeUnit::Weeks),
            Err(TimeError::OutOfRange { row: 0 })
        );
        assert!(TimeUnit::from_numpy("M").unwrap_err().contains("'M'"));
        use arrow_array::{Date32Array, StringArray, TimestampNanosecondArray};
        use std::sync::Arc;
        let chunks: Vec<ArrayRef> = vec![
            Arc::new(TimestampNanosecondArray::from(vec![1_500_000_000, -1])),
            Arc::new(Date32Array::from(vec![Some(2), None])),
        ];
        assert_eq!(arrow_times(&chunks), Err(TimeError::Missing { row: 3 }));
        assert_eq!(arrow_times(&chunks[..1]), Ok(vec![1, -1]));
        let text: Vec<ArrayRef> = vec![Arc::new(StringArray::from(vec!["x"]))];
        assert!(arrow_times(&text)
            .unwrap_err()
            .to_string()
            .contains("got Utf8"));
        use arrow_array::{Float64Array, Int8Array, UInt64Array};
        let numbers: Vec<ArrayRef> = vec![
            Arc::new(Int8Array::from(vec![-3])),
            Arc::new(Float64Array::from(vec![1.5, -0.5])),
            Arc::new(UInt64Array::from(vec![7])),
        ];
        assert_eq!(arrow_times(&numbers), Ok(vec![-3, 1, -1, 7]));
        let nan: Vec<ArrayRef> = vec![Arc::new(Float64Array::from(vec![f64::NAN]))];
        assert_eq!(arrow_times(&nan), Err(TimeError::OutOfRange { row: 0 }));
        let big: Vec<ArrayRef> = vec![Arc::new(UInt64Array::from(vec![u64::MAX]))];
        assert_eq!(arrow_times(&big), Err(TimeError::OutOfRange { row: 0 }));
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
