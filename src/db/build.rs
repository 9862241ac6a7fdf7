//! Building a database: sources in, one file out.
//!
//! Prefix sources (MRT RIBs, ipasn, pfx2as) give each prefix its origins; a prefix
//! found in several sources keeps the first source's origins first and gains the
//! others' new ones. The registry sources (as2org, RIR delegated files, AS names)
//! describe ASes, organisations and address blocks. [`DbBuilder::to_writer`] lays it
//! all out as the sections of [`super::layout`].

use super::country::CountryOrder;
use super::file::{DbError, Writer};
use super::layout::{
    cc_bytes, find_range, AsInfo, FamilySections, OrgInfo, RirInfo, Section, Stored, NONE,
    V4_SECTIONS, V6_SECTIONS,
};
use super::mmdb_source::DEFAULT_COUNTRY_FIELDS;
use super::pool::Pool;
use super::provenance::{build_time, Metadata, SourceInfo};
use super::strings::StringsBuilder;
use crate::asn_ranges::AsnRanges;
use crate::ip::IpPrefix;
use crate::key::{Key, Prefix};
use crate::loaders::as2org::As2Org;
use crate::loaders::asnames::AsName;
use crate::loaders::rir::Delegated;
use crate::origin::Origin;
use crate::poptrie::{default_direct_bits, Poptrie};
use crate::table::IpTable;
use crate::treebitmap::TreeBitmap;
use bytemuck::cast_slice;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// Everything a database is made of, gathered before it is laid out.
pub struct DbBuilder {
    /// Prefix -> route id, a route being a distinct list of origins.
    prefixes: IpTable<u32>,
    routes: Pool<Vec<u32>>,
    as2org: As2Org,
    delegated: Vec<Delegated>,
    names: HashMap<u32, AsName>,
    /// Each MMDB file's countries by network, in the order given.
    mmdb_countries: Vec<IpTable<[u8; 2]>>,
    /// The fields an MMDB record's country is read from, the first it has.
    pub(super) mmdb_country_fields: Vec<String>,
    sources: Vec<SourceInfo>,
    options: BTreeMap<String, String>,
}

/// The origin ASes of a list of origins, in order, sets flattened, without repeats.
pub fn flatten_origins<'a>(origins: impl IntoIterator<Item = &'a Origin>) -> Vec<u32> {
    let mut out: Vec<u32> = Vec::new();
    for o in origins {
        let members = match o {
            Origin::Asn(a) => std::slice::from_ref(a),
            Origin::Set(s) => s.as_slice(),
        };
        for a in members {
            if !out.contains(a) {
                out.push(*a);
            }
        }
    }
    out
}

impl Default for DbBuilder {
    fn default() -> Self {
        DbBuilder {
            prefixes: IpTable::default(),
            routes: Pool::default(),
            as2org: As2Org::default(),
            delegated: Vec::new(),
            names: HashMap::new(),
            mmdb_countries: Vec::new(),
            mmdb_country_fields: DEFAULT_COUNTRY_FIELDS.map(String::from).to_vec(),
            sources: Vec::new(),
            options: BTreeMap::new(),
        }
    }
}

impl DbBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Read an MMDB record's country from the first of `fields` it has (dotted
    /// paths: `country.iso_code`, `registered_country.iso_code`), recorded in the
    /// file's build options.
    pub fn set_mmdb_country_fields(&mut self, fields: &[String]) -> Result<(), String> {
        if fields.is_empty() || fields.iter().any(|f| f.split('.').any(str::is_empty)) {
            return Err(format!(
                "MMDB country fields must be dotted paths, not {fields:?}"
            ));
        }
        self.mmdb_country_fields = fields.to_vec();
        self.set_option("mmdb_country_fields", &fields.join(","));
        Ok(())
    }

    /// Try the country sources in `order` (recorded in the file's build options).
    pub fn set_country_order(&mut self, order: CountryOrder) {
        self.set_option(CountryOrder::OPTION, &order.to_string());
    }

    /// Number of prefixes so far.
    pub fn len(&self) -> usize {
        self.prefixes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.prefixes.is_empty()
    }

    /// Add a prefix and its origins (the first is the primary one). A prefix already
    /// present keeps its origins first and gains the new ones after them.
    pub fn add_prefix(&mut self, prefix: &IpPrefix, origins: &[u32]) {
        if origins.is_empty() {
            return;
        }
        let mut list = match self.prefixes.exact(prefix) {
            Some(r) => self.routes.items[r as usize].clone(),
            None => Vec::new(),
        };
        for a in origins {
            if !list.contains(a) {
                list.push(*a);
            }
        }
        let id = self.routes.id(list);
        self.prefixes.insert(prefix, id);
    }

    /// Add organisations and ASes; a later file's entries replace an earlier one's.
    pub fn add_as2org(&mut self, data: As2Org) {
        self.as2org.orgs.extend(data.orgs);
        self.as2org.ases.extend(data.ases);
    }

    /// Add one registry's delegations (a later file wins where blocks overlap).
    pub fn add_delegated(&mut self, data: Delegated) {
        self.delegated.push(data);
    }

    /// Add AS names; an AS already named keeps its first name.
    pub fn add_asnames(&mut self, names: HashMap<u32, AsName>) {
        for (asn, name) in names {
            self.names.entry(asn).or_insert(name);
        }
    }

    /// Add one MMDB file's countries by network. An address takes its country
    /// from the first file whose networks cover it.
    pub fn add_mmdb_countries(&mut self, networks: IpTable<[u8; 2]>) {
        if !networks.is_empty() {
            self.mmdb_countries.push(networks);
        }
    }

    pub fn add_source(&mut self, source: SourceInfo) {
        self.sources.push(source);
    }

    pub fn set_option(&mut self, key: &str, value: &str) {
        self.options.insert(key.into(), value.into());
    }

    /// Lay out and write the database atomically to `path`; its metadata.
    pub fn write(&self, path: &Path) -> Result<Metadata, DbError> {
        let (writer, meta) = self.to_writer().map_err(|message| DbError::Invalid {
            path: path.to_path_buf(),
            message,
        })?;
        writer.write(path)?;
        Ok(meta)
    }

    /// The sections of the file, and the metadata they include.
    pub fn to_writer(&self) -> Result<(Writer, Metadata), String> {
        if self.prefixes.is_empty() {
            return Err("no prefixes: a database needs at least one prefix source".into());
        }
        let mut w = Sections::default();
        let mut strings = StringsBuilder::default();
        let rir = RirTables::build(&self.delegated, &self.mmdb_countries, &mut strings)?;
        let (as_num, as_info, orgs) = self.ases(&rir, &mut strings);
        let route_as = self.route_as(&as_num);
        let meta = self.metadata(&as_num, &orgs, &rir);
        let meta_json = serde_json::to_vec(&meta).map_err(|e| e.to_string())?;
        w.add(Section::Meta, meta_json);
        family(&mut w, &V4_SECTIONS, self.prefixes.v4())?;
        family(&mut w, &V6_SECTIONS, self.prefixes.v6())?;
        let mut off = vec![0u32];
        let mut asns = Vec::new();
        for r in &self.routes.items {
            asns.extend_from_slice(r);
            off.push(asns.len() as u32);
        }
        w.add(Section::RouteOff, cast_slice(&off).to_vec());
        w.add(Section::RouteAsn, cast_slice(&asns).to_vec());
        w.add(Section::RouteAs, cast_slice(&route_as).to_vec());
        w.add(Section::AsNum, cast_slice(&as_num).to_vec());
        w.add(Section::AsInfo, cast_slice(&as_info).to_vec());
        w.add(Section::OrgInfo, cast_slice(&orgs).to_vec());
        rir.add_to(&mut w)?;
        let (off, data) = strings.into_sections();
        w.add(Section::StrOff, cast_slice(&off).to_vec());
        w.add(Section::StrData, data);
        Ok((w.into_writer()?, meta))
    }

    /// The AS table (every AS any source names, sorted) and the organisations.
    fn ases(
        &self,
        rir: &RirTables,
        strings: &mut StringsBuilder,
    ) -> (Vec<u32>, Vec<AsInfo>, Vec<OrgInfo>) {
        let mut org_ids: Vec<&String> = self.as2org.orgs.keys().collect();
        org_ids.sort();
        let org_index: HashMap<&str, u32> = org_ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i as u32))
            .collect();
        let orgs = org_ids
            .iter()
            .map(|id| {
                let o = &self.as2org.orgs[*id];
                OrgInfo {
                    id: strings.id(Some(id)),
                    name: strings.id(o.name.as_deref()),
                    source: strings.id(o.source.as_deref().map(registry_name).as_deref()),
                    cc: cc_bytes(o.country.as_deref()),
                    pad: [0; 2],
                }
            })
            .collect();
        let mut as_num: Vec<u32> = self.routes.items.iter().flatten().copied().collect();
        as_num.extend(self.as2org.ases.keys());
        as_num.extend(self.names.keys());
        as_num.sort_unstable();
        as_num.dedup();
        let as_info = as_num
            .iter()
            .map(|asn| {
                let entry = self.as2org.ases.get(asn);
                let name = self.names.get(asn);
                let org = entry.and_then(|e| e.org_id.as_deref());
                AsInfo {
                    name: strings.id(name
                        .map(name_text)
                        .or(entry.and_then(|e| e.name.as_deref()))),
                    org: org.and_then(|o| org_index.get(o).copied()).unwrap_or(NONE),
                    rir: rir.asn_info(*asn),
                    name_cc: cc_bytes(name.and_then(|n| n.country.as_deref())),
                    pad: [0; 2],
                }
            })
            .collect();
        (as_num, as_info, orgs)
    }

    /// Each route's primary origin as an index into the AS table.
    fn route_as(&self, as_num: &[u32]) -> Vec<u32> {
        self.routes
            .items
            .iter()
            .map(|r| as_num.binary_search(&r[0]).map_or(NONE, |i| i as u32))
            .collect()
    }

    fn metadata(&self, as_num: &[u32], orgs: &[OrgInfo], rir: &RirTables) -> Metadata {
        let counts = [
            ("ipv4_prefixes", self.prefixes.v4().len()),
            ("ipv6_prefixes", self.prefixes.v6().len()),
            ("routes", self.routes.items.len()),
            ("ases", as_num.len()),
            ("orgs", orgs.len()),
            ("rir_ipv4_prefixes", rir.blocks[0]),
            ("rir_ipv6_prefixes", rir.blocks[1]),
            ("rir_asn_ranges", rir.asn_first.len()),
            (
                MMDB_COUNTRY_COUNT,
                self.mmdb_countries.iter().map(IpTable::len).sum(),
            ),
        ];
        Metadata {
            format_version: super::file::FORMAT_VERSION,
            geoip_rs_version: env!("CARGO_PKG_VERSION").into(),
            built: build_time(),
            sources: self.sources.clone(),
            options: self.options.clone(),
            // Absent without MMDB countries: such files keep the bytes earlier
            // versions wrote (readers take a missing count as none).
            counts: counts
                .into_iter()
                .filter(|&(k, v)| v > 0 || k != MMDB_COUNTRY_COUNT)
                .map(|(k, v)| (k.to_string(), v as u64))
                .collect(),
            snapshots: Vec::new(),
        }
    }
}

/// as2org's `source` (`ARIN`, `RIPE`, `JPNIC`, ...) spelt as the delegated files
/// name registries (`arin`, `ripencc`, `jpnic`), so that both give one vocabulary.
fn registry_name(source: &str) -> String {
    match source.to_ascii_lowercase().as_str() {
        "ripe" => "ripencc".into(),
        other => other.into(),
    }
}

/// An AS name without the country at its end (the record has the country apart).
fn name_text(n: &AsName) -> &str {
    let cut = n.country.as_deref().and_then(|cc| n.text.strip_suffix(cc));
    cut.and_then(|t| t.strip_suffix(", ")).unwrap_or(&n.text)
}

/// The sections' contents as they are made, written in [`Section::ALL`] order
/// (then a history's, [`Section::HISTORY`]) whatever the order they were made in.
#[derive(Default)]
pub(crate) struct Sections {
    made: Vec<(Section, Vec<u8>)>,
}

impl Sections {
    pub(crate) fn add(&mut self, section: Section, bytes: Vec<u8>) {
        self.made.push((section, bytes));
    }

    fn into_writer(self) -> Result<Writer, String> {
        self.into_writer_of(&Section::ALL, super::file::FORMAT_VERSION)
    }

    /// A file of format `version` that must have exactly the sections `expected`.
    pub(crate) fn into_writer_of(
        mut self,
        expected: &[Section],
        version: u32,
    ) -> Result<Writer, String> {
        self.made.sort_by_key(|(s, _)| s.index());
        let order: Vec<Section> = self.made.iter().map(|(s, _)| *s).collect();
        if order != expected {
            return Err(format!("sections made: {order:?}, not each of them once"));
        }
        let mut w = Writer::default();
        w.version = version;
        for (s, bytes) in self.made {
            w.add(s.name(), bytes);
        }
        Ok(w)
    }
}

/// One family's compiled trie and sorted prefix arrays.
fn family<K: Stored>(
    w: &mut Sections,
    sections: &FamilySections,
    tree: &TreeBitmap<K, u32>,
) -> Result<(), String> {
    let items: Vec<(Prefix<K>, u32)> = tree.iter().collect();
    let trie = Poptrie::build(&items, default_direct_bits::<K>())
        .map_err(|e| format!("too many distinct origin lists: {e}"))?;
    w.add(sections.trie, trie.to_bytes());
    let addr: Vec<K::Raw> = items.iter().map(|(p, _)| p.addr().store()).collect();
    let len: Vec<u8> = items.iter().map(|(p, _)| p.prefix_len()).collect();
    let route: Vec<u32> = items.iter().map(|(_, r)| *r).collect();
    w.add(sections.addr, cast_slice(&addr).to_vec());
    w.add(sections.len, len);
    w.add(sections.route, cast_slice(&route).to_vec());
    Ok(())
}

/// The metadata count of MMDB networks with a country: a file without any
/// answers along the country chain's straight path (see [`super::read`]).
pub const MMDB_COUNTRY_COUNT: &str = "mmdb_country_networks";

/// Each place of a family's address space as the RIR blocks and the MMDB files'
/// networks describe it: one trie over all their prefixes, whose value is the
/// pool's entry for the block (`blocks`' value) and the first file's country.
///
/// An address whose longest match in the union is `p` has, in each table, the
/// longest prefix that covers `p` as its own longest match (a longer one would be
/// in the union and longer than `p`), so each prefix of the union is asked once.
fn with_countries<K: Key>(
    blocks: TreeBitmap<K, u32>,
    countries: &[&TreeBitmap<K, [u8; 2]>],
    pool: &mut Pool<RirInfo>,
) -> TreeBitmap<K, u32> {
    if countries.is_empty() {
        return blocks;
    }
    let mut union: Vec<Prefix<K>> = blocks.iter().map(|(p, _)| p).collect();
    for t in countries {
        union.extend(t.iter().map(|(p, _)| p));
    }
    union.sort_unstable();
    union.dedup();
    let mut out = TreeBitmap::new();
    for p in union {
        let block = blocks
            .longest_covering(&p)
            .map(|(_, i)| pool.items[i as usize]);
        let mmdb_cc = countries
            .iter()
            .find_map(|t| t.longest_covering(&p))
            .map_or([0, 0], |(_, cc)| cc);
        let place = RirInfo {
            mmdb_cc,
            ..block.unwrap_or(RirInfo {
                registry: NONE,
                cc: [0, 0],
                mmdb_cc,
            })
        };
        out.insert(&p, pool.id(place));
    }
    out
}

/// The RIR delegations: address blocks per family (with the MMDB countries) and
/// AS number ranges, each giving an index into one list of distinct
/// (registry, country, MMDB country) entries.
struct RirTables {
    info: Vec<RirInfo>,
    /// The delegated blocks per family (the tries also cut at MMDB networks).
    blocks: [usize; 2],
    v4: TreeBitmap<u32, u32>,
    v6: TreeBitmap<u128, u32>,
    asn_first: Vec<u32>,
    asn_last: Vec<u32>,
    asn_info: Vec<u32>,
}

impl RirTables {
    fn build(
        files: &[Delegated],
        countries: &[IpTable<[u8; 2]>],
        strings: &mut StringsBuilder,
    ) -> Result<Self, String> {
        let mut pool = Pool::default();
        let mut id_of = |registry: &str, cc: Option<&str>| {
            pool.id(RirInfo {
                registry: strings.id(Some(registry)),
                cc: cc_bytes(cc),
                mmdb_cc: [0; 2],
            })
        };
        let mut table = IpTable::new();
        let mut asns = Vec::new();
        for file in files {
            for (p, d) in file.prefixes() {
                table.insert(&p, id_of(&d.registry, d.country.as_deref()));
            }
            for (first, last, &i) in file.asns().iter() {
                let d = &file.records[i];
                asns.push((first, last, id_of(&d.registry, d.country.as_deref())));
            }
        }
        // Later files win; consecutive ranges with the same entry become one.
        let (asn_first, asn_last, asn_info) = AsnRanges::new(asns).into_parts();
        let (v4, v6) = table.into_parts();
        let blocks = [v4.len(), v6.len()];
        let v4s: Vec<_> = countries.iter().map(IpTable::v4).collect();
        let v6s: Vec<_> = countries.iter().map(IpTable::v6).collect();
        let v4 = with_countries(v4, &v4s, &mut pool);
        let v6 = with_countries(v6, &v6s, &mut pool);
        Ok(RirTables {
            info: pool.items,
            blocks,
            v4,
            v6,
            asn_first,
            asn_last,
            asn_info,
        })
    }

    /// The `ririnfo` index of an AS number's delegation, [`NONE`] if none.
    fn asn_info(&self, asn: u32) -> u32 {
        find_range(&self.asn_first, &self.asn_last, &self.asn_info, asn).unwrap_or(NONE)
    }

    fn add_to(&self, w: &mut Sections) -> Result<(), String> {
        let v4: Vec<_> = self.v4.iter().collect();
        let v6: Vec<_> = self.v6.iter().collect();
        let too_many = |e| format!("too many distinct RIR registries and countries: {e}");
        let t4 = Poptrie::build(&v4, default_direct_bits::<u32>()).map_err(too_many)?;
        let t6 = Poptrie::build(&v6, default_direct_bits::<u128>()).map_err(too_many)?;
        w.add(Section::Rir4Trie, t4.to_bytes());
        w.add(Section::Rir6Trie, t6.to_bytes());
        w.add(Section::RirInfo, cast_slice(&self.info).to_vec());
        w.add(Section::RirAsnFirst, cast_slice(&self.asn_first).to_vec());
        w.add(Section::RirAsnLast, cast_slice(&self.asn_last).to_vec());
        w.add(Section::RirAsnInfo, cast_slice(&self.asn_info).to_vec());
        Ok(())
    }
}
