//! Summaries of a whole database: per origin AS or per country, prefixes and
//! addresses, with each AS's names and country.

use super::country::country_text;
use super::query::{AsRecord, Tally};
use super::read::View;
use crate::loaders::{by_name, BadName};
use std::str::FromStr;

/// What a summary groups by.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SummaryBy {
    Asn,
    Country,
}

impl SummaryBy {
    pub const ALL: [SummaryBy; 2] = [SummaryBy::Asn, SummaryBy::Country];

    pub const fn name(self) -> &'static str {
        match self {
            SummaryBy::Asn => "asn",
            SummaryBy::Country => "country",
        }
    }
}

impl FromStr for SummaryBy {
    type Err = BadName;

    fn from_str(s: &str) -> Result<Self, BadName> {
        by_name("by", &SummaryBy::ALL, SummaryBy::name, s)
    }
}

/// One row of a per-AS summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AsRow<'a> {
    pub asn: u32,
    pub tally: Tally,
    /// What the database knows about the AS (names, organisation, country).
    pub info: Option<AsRecord<'a>>,
}

/// One row of a per-country summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CountryRow {
    /// `None` for addresses in no country.
    pub country: Option<&'static str>,
    pub tally: Tally,
    /// Number of distinct primary origin ASes.
    pub ases: u64,
}

impl<'a> View<'a> {
    /// Per origin AS, in AS number order.
    pub fn as_summary(&self) -> Vec<AsRow<'a>> {
        self.as_tally()
            .into_iter()
            .map(|(asn, tally)| AsRow {
                asn,
                tally,
                info: self.as_record(asn),
            })
            .collect()
    }

    /// Per country, in code order (no country first).
    pub fn country_summary(&self) -> Vec<CountryRow> {
        self.country_tally()
            .into_iter()
            .map(|(cc, (tally, ases))| CountryRow {
                country: cc.and_then(country_text),
                tally,
                ases,
            })
            .collect()
    }
}
