//! What a load read and what it skipped.

use std::collections::BTreeMap;
use std::fmt;

/// Counts from one load. Readers fill in what applies to their format.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Lines (text) or records (MRT) read.
    pub records: u64,
    /// Distinct prefixes (or ASes, or organisations) in the result.
    pub prefixes: u64,
    /// Data items read: RIB entries, table rows.
    pub entries: u64,
    /// Items left out, by reason: both malformed ones (with [`super::OnError::Skip`])
    /// and ones the format says to leave out (e.g. "default route").
    pub skipped: BTreeMap<String, u64>,
    /// The first few messages of malformed items that were skipped.
    pub errors: Vec<String>,
    /// True if the input ended early (a truncated file read with `Skip`).
    pub truncated: bool,
}

/// How many skip messages a summary keeps.
const MAX_ERRORS: usize = 20;

/// The longest message kept in `errors`, in bytes.
pub const MAX_MESSAGE: usize = 1000;

/// The most distinct reasons counted in `skipped` (then [`OTHER_REASONS`]).
pub const MAX_REASONS: usize = 64;
pub const OTHER_REASONS: &str = "other reasons";

impl Summary {
    /// Count one malformed item under `reason`, keeping its message if there is room.
    pub fn skip(&mut self, reason: &str, mut message: String) {
        self.count(reason);
        if self.errors.len() < MAX_ERRORS {
            // Messages quote the line: a damaged one can be a megabyte long.
            if message.len() > MAX_MESSAGE {
                let mut end = MAX_MESSAGE;
                while !message.is_char_boundary(end) {
                    end -= 1;
                }
                message.truncate(end);
                message.push_str("...");
            }
            self.errors.push(message);
        }
    }

    /// Count one item left out on purpose under `reason`; past [`MAX_REASONS`]
    /// distinct reasons (some quote a field of the file), under `other reasons`.
    pub fn count(&mut self, reason: &str) {
        let reason = match self.skipped.len() < MAX_REASONS || self.skipped.contains_key(reason) {
            true => reason,
            false => OTHER_REASONS,
        };
        *self.skipped.entry(reason.to_string()).or_insert(0) += 1;
    }

    /// Total items skipped.
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} records, {} prefixes, {} entries",
            self.records, self.prefixes, self.entries
        )?;
        if !self.skipped.is_empty() {
            let reasons: Vec<String> = self
                .skipped
                .iter()
                .map(|(r, n)| format!("{n} {r}"))
                .collect();
            write!(f, "; skipped: {}", reasons.join(", "))?;
        }
        if self.truncated {
            write!(f, "; input truncated")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_messages_and_reasons_are_bounded() {
        let mut s = Summary::default();
        for i in 0..1000 {
            s.skip(&format!("not delegated (status{i})"), "é".repeat(100_000));
        }
        assert_eq!(s.skipped.len(), MAX_REASONS + 1);
        assert_eq!(s.skipped[OTHER_REASONS], 1000 - MAX_REASONS as u64);
        assert_eq!(s.skipped_total(), 1000);
        assert_eq!(s.errors.len(), MAX_ERRORS);
        assert!(s
            .errors
            .iter()
            .all(|m| m.len() <= MAX_MESSAGE + 3 && m.ends_with("...")));
    }
}
