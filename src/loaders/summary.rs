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

impl Summary {
    /// Count one malformed item under `reason`, keeping its message if there is room.
    pub fn skip(&mut self, reason: &str, message: String) {
        self.count(reason);
        if self.errors.len() < MAX_ERRORS {
            self.errors.push(message);
        }
    }

    /// Count one item left out on purpose under `reason`.
    pub fn count(&mut self, reason: &str) {
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
