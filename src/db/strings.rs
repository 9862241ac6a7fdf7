//! The string table: every name and id once, addressed by index, so that records
//! stay fixed-size arrays.

use super::layout::NONE;
use std::collections::HashMap;

/// Collects strings at build time.
#[derive(Default)]
pub struct StringsBuilder {
    ids: HashMap<String, u32>,
    offsets: Vec<u32>,
    data: Vec<u8>,
}

impl StringsBuilder {
    /// The id of `s` (added if new); [`NONE`] for `None`.
    pub fn id(&mut self, s: Option<&str>) -> u32 {
        let Some(s) = s else { return NONE };
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.offsets.len() as u32;
        self.offsets.push(self.data.len() as u32);
        self.data.extend_from_slice(s.as_bytes());
        self.ids.insert(s.to_owned(), id);
        id
    }

    /// A table holding `strings` with their ids as they are (a repeat keeps its
    /// place; lookups find the first).
    pub fn from_strings<'s>(strings: impl Iterator<Item = &'s str>) -> Self {
        let mut b = StringsBuilder::default();
        for s in strings {
            let id = b.offsets.len() as u32;
            b.offsets.push(b.data.len() as u32);
            b.data.extend_from_slice(s.as_bytes());
            b.ids.entry(s.to_owned()).or_insert(id);
        }
        b
    }

    /// The `stroff` and `strdata` sections.
    pub fn into_sections(mut self) -> (Vec<u32>, Vec<u8>) {
        self.offsets.push(self.data.len() as u32);
        (self.offsets, self.data)
    }
}

/// Whether `offsets` rise from 0 to `len` (an empty list for no items): then the
/// items they delimit are disjoint, so reading every item reads each byte once. A
/// damaged list going up and down would make every item span most of the data.
pub fn offsets_cut(offsets: &[u32], len: usize) -> bool {
    offsets.is_empty()
        || (offsets[0] == 0
            && offsets.windows(2).all(|w| w[0] <= w[1])
            && offsets[offsets.len() - 1] as usize == len)
}

/// The string table of an opened file.
#[derive(Copy, Clone)]
pub struct Strings<'a> {
    offsets: &'a [u32],
    data: &'a [u8],
}

impl<'a> Strings<'a> {
    /// A view in constant time: each string is checked when it is read.
    pub fn new(offsets: &'a [u32], data: &'a [u8]) -> Self {
        Strings { offsets, data }
    }

    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Whether the offsets cut the data into consecutive pieces (see
    /// [`offsets_cut`]).
    pub fn is_sound(&self) -> bool {
        offsets_cut(self.offsets, self.data.len())
    }

    /// String `id`; `None` for [`NONE`] (or, defensively, any id out of range).
    pub fn get(&self, id: u32) -> Option<&'a str> {
        let i = id as usize;
        let (start, end) = (*self.offsets.get(i)?, *self.offsets.get(i + 1)?);
        // Checked here rather than on open, so that opening does not read them all.
        std::str::from_utf8(self.data.get(start as usize..end as usize)?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_stored_once_and_read_back() {
        let mut b = StringsBuilder::default();
        assert_eq!(b.id(Some("GOOGLE")), 0);
        assert_eq!(b.id(Some("")), 1);
        assert_eq!(b.id(Some("GOOGLE")), 0);
        assert_eq!(b.id(None), NONE);
        assert_eq!(b.id(Some("Zürich")), 2);
        let (off, data) = b.into_sections();
        let s = Strings::new(&off, &data);
        assert_eq!(s.len(), 3);
        assert_eq!(s.get(0), Some("GOOGLE"));
        assert_eq!(s.get(1), Some(""));
        assert_eq!(s.get(2), Some("Zürich"));
        assert_eq!(s.get(NONE), None);
        assert_eq!(s.get(3), None);
    }

    #[test]
    fn damaged_tables_give_none_not_panics() {
        assert_eq!(Strings::new(&[], b"").get(0), None);
        assert_eq!(Strings::new(&[], b"").len(), 0);
        assert_eq!(Strings::new(&[0, 5], b"abc").get(0), None);
        let s = Strings::new(&[0, 2, 1, 3], b"abc");
        assert_eq!(
            (s.get(0), s.get(1), s.get(2)),
            (Some("ab"), None, Some("bc"))
        );
        assert_eq!(Strings::new(&[0, 1, 2], b"a\xff").get(1), None);
        // A split multi-byte character is not UTF-8 on either side.
        let s = Strings::new(&[0, 2, 3], "aü".as_bytes());
        assert_eq!((s.get(0), s.get(1)), (None, None));
        assert_eq!(Strings::new(&[0, 1, 3], "aü".as_bytes()).get(1), Some("ü"));
    }
}
