//! Where a record's country comes from: the sources ([`CountrySource`]), the order
//! they are tried in ([`CountryOrder`]: the default, or the one a file was built
//! with), and the one chain that tries them ([`CountryOrder::first_known`]), which
//! records, batches and summaries all use.

use crate::loaders::{by_name, BadName};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Where a record's country came from. As `u8` (in batches, where 0 is no country)
/// they count from 1 in the order of [`CountrySource::ALL`]; the order they are
/// tried in is [`CountryOrder`]'s.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum CountrySource {
    /// The organisation's country in CAIDA as2org.
    As2Org = 1,
    /// The RIR delegated block that covers the address.
    RirPrefix,
    /// The RIR delegation of the origin AS number.
    RirAsn,
    /// The country at the end of the AS name.
    AsName,
    /// The network of an MMDB file (GeoLite2-Country, DB-IP, ipinfo) that covers
    /// the address.
    Mmdb,
}

impl CountrySource {
    /// Every source, in the order of their codes.
    pub const ALL: [CountrySource; 5] = [
        CountrySource::As2Org,
        CountrySource::RirPrefix,
        CountrySource::RirAsn,
        CountrySource::AsName,
        CountrySource::Mmdb,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            CountrySource::As2Org => "as2org",
            CountrySource::RirPrefix => "rir-prefix",
            CountrySource::RirAsn => "rir-asn",
            CountrySource::AsName => "asname",
            CountrySource::Mmdb => "mmdb",
        }
    }

    /// True for the sources that say something of an address rather than of its
    /// AS: an AS's own country ([`super::AsRecord`]) leaves them out.
    pub const fn of_address(self) -> bool {
        matches!(self, CountrySource::RirPrefix | CountrySource::Mmdb)
    }
}

impl FromStr for CountrySource {
    type Err = BadName;

    fn from_str(s: &str) -> Result<Self, BadName> {
        by_name(
            "country source",
            &CountrySource::ALL,
            CountrySource::name,
            s,
        )
    }
}

/// The order the country sources are tried in: each is asked only if the ones
/// before it gave no country; a source left out is never asked.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CountryOrder {
    steps: [CountrySource; 5],
    len: u8,
}

/// The order without the MMDB step: what every file without MMDB countries
/// answers with, tried along a path of its own (see [`CountryOrder::first_known`]).
const CLASSIC: CountryOrder = CountryOrder {
    steps: [
        CountrySource::As2Org,
        CountrySource::RirPrefix,
        CountrySource::RirAsn,
        CountrySource::AsName,
        CountrySource::As2Org,
    ],
    len: 4,
};

impl Default for CountryOrder {
    fn default() -> Self {
        CountryOrder::DEFAULT
    }
}

impl CountryOrder {
    /// The order unless a build chose another:
    /// - an MMDB file's country first: a user gives a geolocation file to say where
    ///   addresses are, and its networks are finer than any registry's record;
    /// - the organisation's (CAIDA as2org), since it says where the holder of the
    ///   address space is, which is what users of a GeoIP answer mostly ask;
    /// - then the RIR block the address is in: the registry's record of who the
    ///   block was delegated to, which covers ASes as2org does not know;
    /// - then the RIR delegation of the AS number, which says where the AS was
    ///   registered, not where this address is, so it comes after the block;
    /// - last the country written at the end of the AS name, free text by the holder.
    pub const DEFAULT: CountryOrder = CountryOrder {
        steps: [
            CountrySource::Mmdb,
            CountrySource::As2Org,
            CountrySource::RirPrefix,
            CountrySource::RirAsn,
            CountrySource::AsName,
        ],
        len: 5,
    };

    /// The build option (in the file's metadata) that holds a chosen order.
    pub const OPTION: &'static str = "country_order";

    /// An order of distinct sources, at least one.
    pub fn new(steps: &[CountrySource]) -> Result<Self, String> {
        let mut out = CountryOrder {
            steps: [CountrySource::As2Org; 5],
            len: 0,
        };
        for (i, s) in steps.iter().enumerate() {
            if steps[..i].contains(s) {
                return Err(format!("country source {:?} given twice", s.name()));
            }
            out.steps[i] = *s;
            out.len += 1;
        }
        match out.len {
            0 => Err("a country order needs at least one source".into()),
            _ => Ok(out),
        }
    }

    /// An order of sources by their names.
    pub fn from_names(names: &[impl AsRef<str>]) -> Result<Self, String> {
        let steps = names
            .iter()
            .map(|n| {
                n.as_ref()
                    .parse::<CountrySource>()
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<Vec<_>, _>>()?;
        CountryOrder::new(&steps)
    }

    /// The sources, in order.
    pub fn steps(&self) -> &[CountrySource] {
        &self.steps[..self.len as usize]
    }

    /// The order a file's build options give: its chosen one, else the default.
    pub fn of_options(options: &BTreeMap<String, String>) -> Result<Self, String> {
        match options.get(Self::OPTION) {
            Some(text) => text.parse(),
            None => Ok(Self::DEFAULT),
        }
    }

    /// The same order without `source`: what a file whose data never gives that
    /// source answers with (the default loses its MMDB step that way, and takes
    /// the straight path of files built before MMDB countries).
    pub fn without(&self, source: CountrySource) -> Self {
        let kept: Vec<CountrySource> = self
            .steps()
            .iter()
            .copied()
            .filter(|s| *s != source)
            .collect();
        CountryOrder::new(&kept).unwrap_or(*self)
    }

    /// The first known country of the sources, tried in this order; each closure
    /// is a source's country (zero bytes or `None` for none), called only if the
    /// sources before it gave none.
    #[inline]
    pub fn first_known(
        &self,
        mmdb: impl Fn() -> Option<[u8; 2]>,
        org: impl Fn() -> Option<[u8; 2]>,
        block: impl Fn() -> Option<[u8; 2]>,
        rir_asn: impl Fn() -> Option<[u8; 2]>,
        name: impl Fn() -> Option<[u8; 2]>,
    ) -> Option<([u8; 2], CountrySource)> {
        // The default order and the one without MMDB are written out, with the
        // steps as closures of their own types, rather than as the loop over the
        // steps a chosen order takes: this runs for every address of a batch, and
        // the loop made a database batch 25% slower (criterion, 1M IPv4 addresses).
        let known = |cc: Option<[u8; 2]>| cc.filter(|&cc| cc != [0, 0]);
        let classic = *self == CLASSIC;
        if classic || *self == Self::DEFAULT {
            if !classic {
                if let Some(cc) = known(mmdb()) {
                    return Some((cc, CountrySource::Mmdb));
                }
            }
            if let Some(cc) = known(org()) {
                return Some((cc, CountrySource::As2Org));
            }
            if let Some(cc) = known(block()) {
                return Some((cc, CountrySource::RirPrefix));
            }
            if let Some(cc) = known(rir_asn()) {
                return Some((cc, CountrySource::RirAsn));
            }
            return known(name()).map(|cc| (cc, CountrySource::AsName));
        }
        self.steps().iter().find_map(|&s| {
            let cc = match s {
                CountrySource::Mmdb => mmdb(),
                CountrySource::As2Org => org(),
                CountrySource::RirPrefix => block(),
                CountrySource::RirAsn => rir_asn(),
                CountrySource::AsName => name(),
            };
            known(cc).map(|cc| (cc, s))
        })
    }
}

impl FromStr for CountryOrder {
    type Err = String;

    /// Names separated by commas: `as2org,mmdb,rir-prefix`.
    fn from_str(text: &str) -> Result<Self, String> {
        CountryOrder::from_names(&text.split(',').map(str::trim).collect::<Vec<_>>())
    }
}

impl fmt::Display for CountryOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.steps().iter().map(|s| s.name()).collect();
        f.write_str(&names.join(","))
    }
}

/// A stored country code as a `'static` string (so records can outlive nothing but
/// the file): every code is two ASCII capitals, and all 676 are made once.
pub fn country_text(cc: [u8; 2]) -> Option<&'static str> {
    static CODES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let codes = CODES.get_or_init(|| {
        (0..26 * 26u32)
            .map(|i| [b'A' + (i / 26) as u8, b'A' + (i % 26) as u8])
            .map(|c| String::from_utf8_lossy(&c).into_owned())
            .collect()
    });
    let (a, b) = (
        cc[0].wrapping_sub(b'A') as usize,
        cc[1].wrapping_sub(b'A') as usize,
    );
    (a < 26 && b < 26).then(|| codes[a * 26 + b].as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use CountrySource::*;

    /// Each source's country, `None` where `has` leaves it out; the chain as a
    /// brute-force model: the first source of the order that has a country.
    fn model(order: &CountryOrder, has: u8) -> Option<([u8; 2], CountrySource)> {
        let cc = |s: CountrySource| [b'A' + s as u8, b'A'];
        order
            .steps()
            .iter()
            .find(|&&s| has & (1 << s as u8) != 0)
            .map(|&s| (cc(s), s))
    }

    #[test]
    fn every_order_tries_its_sources_in_turn() {
        let orders = [
            CountryOrder::DEFAULT,
            CLASSIC,
            "as2org,mmdb".parse().unwrap(),
            "asname,rir-asn,rir-prefix,as2org,mmdb".parse().unwrap(),
            "rir-prefix".parse().unwrap(),
        ];
        for order in orders {
            for has in 0..64u8 {
                let step = |s: CountrySource| {
                    move || (has & (1 << s as u8) != 0).then_some([b'A' + s as u8, b'A'])
                };
                let got = order.first_known(
                    step(Mmdb),
                    step(As2Org),
                    step(RirPrefix),
                    step(RirAsn),
                    step(AsName),
                );
                assert_eq!(got, model(&order, has), "{order} {has:#b}");
            }
        }
    }

    #[test]
    fn orders_read_and_print_their_names() {
        let o: CountryOrder = " as2org, mmdb ".parse().unwrap();
        assert_eq!(o.steps(), [As2Org, Mmdb]);
        assert_eq!(o.to_string(), "as2org,mmdb");
        assert_eq!(
            CountryOrder::DEFAULT.to_string(),
            "mmdb,as2org,rir-prefix,rir-asn,asname"
        );
        assert_eq!(CountryOrder::DEFAULT.without(Mmdb), CLASSIC);
        let err = "as2org,as2org".parse::<CountryOrder>().unwrap_err();
        assert!(err.contains("\"as2org\" given twice"), "{err}");
        let err = "as2org,geo".parse::<CountryOrder>().unwrap_err();
        assert!(err.contains("geo") && err.contains("rir-prefix"), "{err}");
        assert!("".parse::<CountryOrder>().is_err());
        let mut options = BTreeMap::new();
        assert_eq!(
            CountryOrder::of_options(&options),
            Ok(CountryOrder::DEFAULT)
        );
        options.insert(CountryOrder::OPTION.to_string(), "rir-asn".to_string());
        assert_eq!(
            CountryOrder::of_options(&options).unwrap().steps(),
            [RirAsn]
        );
    }
}
