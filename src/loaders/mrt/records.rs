//! MRT records from a file through `bgpkit-parser`, numbered, with the byte offset
//! where each starts, and parser errors turned into [`LoadError`]s that say where.
//! [`Records::next_item`] reads RIB records the fast way (see [`fast`](super::fast)).

use super::fast::{rib_record, Entry, RibRecord, TABLE_DUMP_V2};
use crate::loaders::{Input, LoadError, Location, Tracker};
use bgpkit_parser::models::MrtRecord;
use bgpkit_parser::parser::mrt::mrt_record::{chunk_mrt_record, RawMrtRecord};
use bgpkit_parser::ParserError;
use std::path::PathBuf;

/// What can go wrong with one record.
pub(super) enum BadRecord {
    /// A record type the parser does not read (e.g. the deprecated BGP4MP_ENTRY):
    /// not malformed, so it is counted and passed over even when raising on errors.
    Unsupported,
    /// A malformed record (the stream goes on after it) or the end of a truncated or
    /// corrupt stream (nothing can be read after it).
    Malformed(LoadError),
}

/// A record as [`Records::next_item`] gives it.
pub(super) enum Item {
    /// A RIB record, read the fast way.
    Rib(RibRecord),
    /// Any other record, parsed in full.
    Record(MrtRecord),
}

pub(super) struct Records {
    input: Input,
    tracker: Tracker,
    path: PathBuf,
    finished: bool,
    /// Where the record last read starts in the decompressed stream.
    start: u64,
    /// Records read so far, the bad ones included.
    pub(super) count: u64,
    /// A vector for the entries of the next RIB record (see [`Records::recycle`]).
    spare: Vec<Entry>,
}

impl Records {
    pub(super) fn new(input: Input) -> Records {
        Records {
            tracker: input.tracker(),
            path: input.path().to_path_buf(),
            input,
            finished: false,
            start: 0,
            count: 0,
            spare: Vec::new(),
        }
    }

    pub(super) fn tracker(&self) -> &Tracker {
        &self.tracker
    }

    /// Give back a RIB record's vector of entries, to read the next one into.
    pub(super) fn recycle(&mut self, entries: Vec<Entry>) {
        self.spare = entries;
    }

    /// The next record, RIB records read the fast way.
    pub(super) fn next_item(&mut self) -> Option<Result<Item, BadRecord>> {
        if let Some(rib) = self.buffered_rib() {
            return Some(Ok(Item::Rib(rib)));
        }
        let raw = self.next_raw()?;
        Some(raw.and_then(|raw| {
            let h = &raw.common_header;
            let spare = std::mem::take(&mut self.spare);
            match rib_record(
                h.entry_type as u16,
                h.entry_subtype,
                &raw.message_bytes,
                spare,
            ) {
                Some(rib) => Ok(Item::Rib(rib)),
                None => self.parse(raw).map(Item::Record),
            }
        }))
    }

    /// The next record read in place from the input's buffer, without copying it
    /// out: if it is a RIB record, whole in the buffer, and read the fast way. Any
    /// other case (including a read error) is left to [`Records::next_raw`].
    fn buffered_rib(&mut self) -> Option<RibRecord> {
        if self.finished {
            return None;
        }
        let buf = self.input.peek().ok()?;
        let header = buf.get(..12)?;
        let field = |i: usize| u16::from_be_bytes([header[i], header[i + 1]]);
        if field(4) != TABLE_DUMP_V2 {
            return None;
        }
        let len = u32::from_be_bytes(header[8..12].try_into().ok()?) as usize;
        let body = buf.get(12..12 + len)?;
        let rib = rib_record(field(4), field(6), body, std::mem::take(&mut self.spare))?;
        self.start = self.tracker.offset();
        self.count += 1;
        self.input.consume(12 + len);
        Some(rib)
    }

    /// The next record's bytes, as `bgpkit-parser`'s record iterator frames them:
    /// a clean end of input ends the records, a cut or oversized one ends them after
    /// its error, other framing errors leave the stream at the next record.
    fn next_raw(&mut self) -> Option<Result<RawMrtRecord, BadRecord>> {
        if self.finished {
            return None;
        }
        let start = self.tracker.offset();
        let raw = match chunk_mrt_record(&mut self.input) {
            Ok(raw) => raw,
            Err(e) if matches!(e.error, ParserError::EofExpected) => {
                self.finished = true;
                return None;
            }
            Err(e) => {
                self.finished = matches!(
                    e.error,
                    ParserError::IoError(_)
                        | ParserError::EofError(_)
                        | ParserError::OversizedRecord { .. }
                );
                self.count += 1;
                return Some(Err(self.bad(e.error, start)));
            }
        };
        self.count += 1;
        self.start = start;
        Some(Ok(raw))
    }

    /// A format error at the record last read.
    pub(super) fn error(&self, message: String) -> LoadError {
        let at = Location::Record {
            record: self.count,
            offset: self.start,
        };
        LoadError::format(&self.path, at, message)
    }

    fn parse(&self, raw: RawMrtRecord) -> Result<MrtRecord, BadRecord> {
        raw.parse().map_err(|e| self.bad(e, self.start))
    }

    fn bad(&self, error: ParserError, start: u64) -> BadRecord {
        let at = Location::Record {
            record: self.count,
            offset: start,
        };
        match error {
            ParserError::Unsupported(_) => BadRecord::Unsupported,
            // Deprecated BGP4MP subtypes (BGP4MP_ENTRY, RFC 6396 4.4.3) come back as a
            // parse error; they are well-formed records of a kind we do not read.
            ParserError::ParseError(msg) if msg.starts_with("cannot parse bgp4mp subtype") => {
                BadRecord::Unsupported
            }
            ParserError::EofError(io) | ParserError::IoError(io) => BadRecord::Malformed(
                LoadError::format(&self.path, at, format!("truncated or corrupt input: {io}")),
            ),
            other => BadRecord::Malformed(LoadError::format(
                &self.path,
                at,
                format!("malformed record: {other}"),
            )),
        }
    }
}

impl Iterator for Records {
    type Item = Result<MrtRecord, BadRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        let raw = self.next_raw()?;
        Some(raw.and_then(|raw| self.parse(raw)))
    }
}
