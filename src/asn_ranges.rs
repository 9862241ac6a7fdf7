//! Ranges of AS numbers (`first..=last`, as RIR delegated files give them), each
//! with a value, kept as ranges: a file's count can say four billion, and a flipped
//! digit easily does, so nothing here is ever expanded per AS number.
//!
//! Ranges given later win where they overlap earlier ones (as inserting each AS
//! number into a map in file order would); neighbours with equal values merge.

use std::collections::BTreeMap;

/// Disjoint, sorted ranges of AS numbers, each with a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AsnRanges<V> {
    first: Vec<u32>,
    last: Vec<u32>,
    values: Vec<V>,
}

impl<V> Default for AsnRanges<V> {
    fn default() -> Self {
        AsnRanges {
            first: Vec::new(),
            last: Vec::new(),
            values: Vec::new(),
        }
    }
}

impl<V: Clone + PartialEq> AsnRanges<V> {
    /// The ranges `(first, last, value)` in the order given (later win); ranges
    /// with `last < first` are empty. Each insertion splits at most one range
    /// on each side, so the cost is O(n log n) in ranges, whatever their sizes.
    pub fn new(ranges: impl IntoIterator<Item = (u32, u32, V)>) -> Self {
        let mut map: BTreeMap<u32, (u32, V)> = BTreeMap::new();
        for (first, last, value) in ranges.into_iter().filter(|r| r.0 <= r.1) {
            let overlapping: Vec<u32> = map
                .range(..=last)
                .rev()
                .take_while(|(_, (end, _))| *end >= first)
                .map(|(&start, _)| start)
                .collect();
            for start in overlapping {
                let (end, old) = map.remove(&start).expect("a key just seen");
                if start < first {
                    map.insert(start, (first - 1, old.clone()));
                }
                if end > last {
                    map.insert(last + 1, (end, old));
                }
            }
            map.insert(first, (last, value));
        }
        let mut out = AsnRanges::default();
        for (start, (end, value)) in map {
            out.push(start, end, value);
        }
        out
    }

    fn push(&mut self, first: u32, last: u32, value: V) {
        let joins = self
            .last
            .last()
            .is_some_and(|&l| l.checked_add(1) == Some(first))
            && self.values.last() == Some(&value);
        if joins {
            *self.last.last_mut().expect("not empty") = last;
        } else {
            self.first.push(first);
            self.last.push(last);
            self.values.push(value);
        }
    }
}

impl<V> AsnRanges<V> {
    /// The value of the range holding `asn`.
    pub fn get(&self, asn: u32) -> Option<&V> {
        let i = self.first.partition_point(|&f| f <= asn).checked_sub(1)?;
        (asn <= self.last[i]).then(|| &self.values[i])
    }

    /// The ranges, in order: `(first, last, value)`.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (u32, u32, &V)> + '_ {
        (0..self.first.len()).map(|i| (self.first[i], self.last[i], &self.values[i]))
    }

    /// The value of the `i`-th range.
    pub fn value(&self, i: usize) -> &V {
        &self.values[i]
    }

    /// The number of ranges.
    pub fn len(&self) -> usize {
        self.first.len()
    }

    pub fn is_empty(&self) -> bool {
        self.first.is_empty()
    }

    /// The number of AS numbers the ranges hold (up to 2^32).
    pub fn asn_count(&self) -> u64 {
        self.iter().map(|(f, l, _)| u64::from(l - f) + 1).sum()
    }

    /// The AS number after `asn` of range `i` (a cursor over every AS number,
    /// for iterating without expanding): its range and the number. `None`
    /// starts at the first.
    pub fn next(&self, at: Option<(usize, u32)>) -> Option<(usize, u32)> {
        match at {
            Some((i, asn)) if asn < self.last[i] => Some((i, asn + 1)),
            Some((i, _)) => self.first.get(i + 1).map(|&f| (i + 1, f)),
            None => self.first.first().map(|&f| (0, f)),
        }
    }

    /// The same ranges with each value mapped (in range order; ranges whose new
    /// values are equal are not merged).
    pub fn map<W>(&self, f: impl FnMut(&V) -> W) -> AsnRanges<W> {
        AsnRanges {
            first: self.first.clone(),
            last: self.last.clone(),
            values: self.values.iter().map(f).collect(),
        }
    }

    /// The parts, for writing: firsts, lasts and values.
    pub fn into_parts(self) -> (Vec<u32>, Vec<u32>, Vec<V>) {
        (self.first, self.last, self.values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The model: every AS number inserted into a map, in order.
    fn model(ranges: &[(u32, u32, u8)]) -> BTreeMap<u32, u8> {
        let mut m = BTreeMap::new();
        for &(f, l, v) in ranges {
            for a in f..=l {
                m.insert(a, v);
            }
        }
        m
    }

    proptest! {
        #[test]
        fn ranges_answer_as_every_number_inserted(
            ranges in prop::collection::vec((0u32..120, 0u32..30, 0u8..4), 0..40),
            probes in prop::collection::vec(0u32..200, 1..50),
        ) {
            let ranges: Vec<_> = ranges.into_iter().map(|(f, n, v)| (f, f + n, v)).collect();
            let want = model(&ranges);
            let got = AsnRanges::new(ranges.iter().copied());
            for a in probes.into_iter().chain(0..200) {
                prop_assert_eq!(got.get(a), want.get(&a));
            }
            prop_assert_eq!(got.asn_count(), want.len() as u64);
            // disjoint, sorted, merged where equal neighbours touch
            let parts: Vec<_> = got.iter().collect();
            for w in parts.windows(2) {
                prop_assert!(w[0].1 < w[1].0);
                prop_assert!(w[0].1 + 1 < w[1].0 || w[0].2 != w[1].2);
            }
            let mut all = vec![];
            let mut at = got.next(None);
            while let Some((r, a)) = at {
                all.push((a, *got.value(r)));
                at = got.next(at);
            }
            prop_assert_eq!(all, want.into_iter().collect::<Vec<_>>());
        }
    }

    #[test]
    fn the_whole_number_space_is_one_range() {
        let r = AsnRanges::new([(0, u32::MAX, 1u8), (5, 5, 2), (u32::MAX, u32::MAX, 3)]);
        assert_eq!(r.len(), 4);
        assert_eq!(r.asn_count(), 1 << 32);
        assert_eq!(
            (r.get(4), r.get(5), r.get(6)),
            (Some(&1), Some(&2), Some(&1))
        );
        assert_eq!(r.get(u32::MAX), Some(&3));
        assert_eq!(r.next(Some((2, u32::MAX - 1))), Some((3, u32::MAX)));
        assert_eq!(r.next(Some((3, u32::MAX))), None);
    }
}
