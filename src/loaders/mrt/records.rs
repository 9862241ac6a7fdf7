//! MRT records from a file through `bgpkit-parser`, numbered, with the byte offset
//! where each starts, and parser errors turned into [`LoadError`]s that say where.

use crate::loaders::{Input, LoadError, Location, Tracker};
use bgpkit_parser::models::MrtRecord;
use bgpkit_parser::parser::iters::FallibleRecordIterator;
use bgpkit_parser::{BgpkitParser, ParserError};
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

pub(super) struct Records {
    iter: FallibleRecordIterator<Input>,
    tracker: Tracker,
    path: PathBuf,
    /// Records read so far, the bad ones included.
    pub(super) count: u64,
}

impl Records {
    pub(super) fn new(input: Input) -> Records {
        let tracker = input.tracker();
        let path = input.path().to_path_buf();
        let iter = BgpkitParser::from_reader(input)
            .disable_warnings()
            .into_fallible_record_iter();
        Records {
            iter,
            tracker,
            path,
            count: 0,
        }
    }

    pub(super) fn tracker(&self) -> &Tracker {
        &self.tracker
    }
}

impl Iterator for Records {
    type Item = Result<MrtRecord, BadRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        let start = self.tracker.offset();
        let item = self.iter.next()?;
        self.count += 1;
        let at = Location::Record {
            record: self.count,
            offset: start,
        };
        Some(item.map_err(|e| match e.error {
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
        }))
    }
}
