//! Readers for routing and registry data. Every reader streams its file (plain, gzip
//! or bzip2, told apart by content) and hands each item to a callback or into a
//! table, so memory grows with the result, never with the file.
//!
//! Common to all readers:
//! - [`Input`]: the decompressed byte stream, with the position in the file for
//!   progress and error messages.
//! - [`LoadError`]: what went wrong and where (file and line, record or byte offset).
//! - [`ReadOptions`]: raise on the first bad item (the default) or skip bad items and
//!   count them; a [`Progress`] callback that may also cancel the load.
//! - [`Summary`]: what was read and what was skipped, and why.

pub mod as2org;
pub mod asnames;
mod error;
mod input;
pub mod ipasn;
pub mod iptoasn;
pub mod mrt;
pub mod pfx2as;
pub mod rir;
mod summary;

pub use error::{LoadError, Location};
pub use input::{Compression, Input, Lines, Tracker};
pub use summary::Summary;

use std::fmt;
use std::str::FromStr;

/// What to do with a malformed item.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Default)]
pub enum OnError {
    /// Stop with an error naming the item (the default).
    #[default]
    Raise,
    /// Keep what was read, count the item in the summary and go on.
    Skip,
}

impl OnError {
    pub const ALL: [OnError; 2] = [OnError::Raise, OnError::Skip];

    /// The name users pass (`on_error="skip"`).
    pub const fn name(self) -> &'static str {
        match self {
            OnError::Raise => "raise",
            OnError::Skip => "skip",
        }
    }
}

impl FromStr for OnError {
    type Err = BadName;

    fn from_str(s: &str) -> Result<Self, BadName> {
        by_name("on_error", &OnError::ALL, OnError::name, s)
    }
}

/// A name that is none of an option's values; the message lists the values, e.g.
/// `on_error must be 'raise' or 'skip', not "x"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadName(String);

impl fmt::Display for BadName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadName {}

/// The value of `all` called `s`, or the error that lists their names.
pub(crate) fn by_name<T: Copy>(
    option: &str,
    all: &[T],
    name: impl Fn(T) -> &'static str,
    s: &str,
) -> Result<T, BadName> {
    if let Some(&v) = all.iter().find(|&&v| name(v) == s) {
        return Ok(v);
    }
    let names: Vec<String> = all.iter().map(|&v| format!("'{}'", name(v))).collect();
    let listed = match names.split_last() {
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    };
    Err(BadName(format!("{option} must be {listed}, not {s:?}")))
}

/// Told how far a load has got; returns false to cancel it (e.g. on Ctrl-C).
pub trait Progress {
    /// `done` of `total` bytes of the (compressed) file have been read.
    fn update(&mut self, done: u64, total: u64) -> bool;
}

/// No progress reports, never cancels.
pub struct NoProgress;

impl Progress for NoProgress {
    fn update(&mut self, _: u64, _: u64) -> bool {
        true
    }
}

/// Options shared by every reader.
pub struct ReadOptions<'a> {
    pub on_error: OnError,
    pub progress: &'a mut dyn Progress,
}

impl ReadOptions<'_> {
    /// Raise `err`, or with [`OnError::Skip`] count it under `reason` and go on.
    pub fn bad_item(
        &self,
        summary: &mut Summary,
        reason: &str,
        err: LoadError,
    ) -> Result<(), LoadError> {
        match self.on_error {
            OnError::Raise => Err(err),
            OnError::Skip => {
                summary.skip(reason, err.to_string());
                Ok(())
            }
        }
    }

    /// Report progress every so often; `Err(Interrupted)` if the callback cancels.
    pub fn tick(&mut self, input: &Input) -> Result<(), LoadError> {
        self.tick_at(&input.tracker())
    }

    /// [`ReadOptions::tick`] from a [`Tracker`].
    pub fn tick_at(&mut self, at: &Tracker) -> Result<(), LoadError> {
        match self.progress.update(at.position(), at.size()) {
            true => Ok(()),
            false => Err(LoadError::Interrupted),
        }
    }
}

/// An AS number in decimal (digits only: no sign, no `AS` prefix), up to 2^32 - 1.
pub(crate) fn parse_asn(s: &str) -> Result<u32, String> {
    match s.bytes().all(|b| b.is_ascii_digit()) {
        true => s.parse::<u32>().ok(),
        false => None,
    }
    .ok_or_else(|| format!("bad AS number '{s}'"))
}

/// An AS number as users write it: `"15169"`, `"AS15169"` or `"as15169"`.
///
/// ```
/// use geoip_rs::loaders::parse_as_number;
/// assert_eq!(parse_as_number("AS15169"), Ok(15169));
/// assert_eq!(parse_as_number("4294967295"), Ok(u32::MAX));
/// assert!(parse_as_number("AS-1").is_err() && parse_as_number("4294967296").is_err());
/// ```
pub fn parse_as_number(s: &str) -> Result<u32, String> {
    let digits = s.strip_prefix("AS").or_else(|| s.strip_prefix("as"));
    parse_asn(digits.unwrap_or(s)).map_err(|_| format!("{s:?} is not an AS number"))
}

/// How often (in lines) a text reader reports progress.
pub(crate) const TICK_LINES: u64 = 1 << 14;

/// The loop every line-oriented reader shares: read each line (counted in
/// `summary.records`), report progress, pass over blank lines and those `is_comment`
/// picks, and hand the rest to `each`. An `Err(message)` from `each` is a malformed
/// line, raised or counted as `opts` says; a read error ends the file (see
/// [`truncated`]).
pub(crate) fn for_each_line(
    input: Input,
    opts: &mut ReadOptions,
    summary: &mut Summary,
    is_comment: impl Fn(&str) -> bool,
    mut each: impl FnMut(&str, &mut Summary) -> Result<(), String>,
) -> Result<(), LoadError> {
    let mut lines = input.lines();
    while let Some(line) = lines.next_line() {
        let line = match line {
            Ok(l) => l,
            Err(e) => return truncated(opts, summary, e),
        };
        summary.records += 1;
        if summary.records.is_multiple_of(TICK_LINES) {
            opts.tick(lines.input())?;
        }
        if line.trim().is_empty() || is_comment(&line) {
            continue;
        }
        if let Err(msg) = each(&line, summary) {
            opts.bad_item(summary, "malformed line", lines.error(msg))?;
        }
    }
    Ok(())
}

/// A read error mid-file: raised, or with `Skip` the end of what could be read.
pub(crate) fn truncated(
    opts: &ReadOptions,
    summary: &mut Summary,
    e: LoadError,
) -> Result<(), LoadError> {
    opts.bad_item(summary, "unreadable rest of file", e)?;
    summary.truncated = true;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::mrt::OriginPolicy;
    use super::OnError;

    #[test]
    fn option_names_round_trip_and_bad_ones_list_the_good_ones() {
        for o in OnError::ALL {
            assert_eq!(o.name().parse::<OnError>(), Ok(o));
        }
        for p in OriginPolicy::ALL {
            assert_eq!(p.name().parse::<OriginPolicy>(), Ok(p));
        }
        let err = "Skip".parse::<OnError>().unwrap_err().to_string();
        assert_eq!(err, r#"on_error must be 'raise' or 'skip', not "Skip""#);
        let err = "x'y".parse::<OriginPolicy>().unwrap_err().to_string();
        assert_eq!(
            err,
            r#"origin_policy must be 'first_peer', 'majority' or 'all', not "x'y""#
        );
    }
}
