//! An MMDB file compiled into geoip_rs's container: the networks into one Poptrie
//! per family (whose leaves are record numbers), the distinct records as JSON
//! text, the MMDB metadata as it was. A batch over it walks the Poptrie instead of
//! MMDB's bit-by-bit tree, so it runs as fast as a database's.
//!
//! Sections: `mmdbmeta` (JSON: the source's metadata and name), `v4trie`,
//! `v6trie`, `recoff` (`u32` offsets of each record in `records`, one past the
//! last too) and `records`.

use super::read::{Found, MmdbFile};
use super::value::MmdbValue;
use crate::batch::Keys;
use crate::db::file::{DbFile, Writer, COMPILED_MMDB_VERSION};
use crate::db::DbError;
use crate::key::{Key, Prefix};
use crate::poptrie::{default_direct_bits, unpack, Poptrie, PoptrieRef};
use ipnet::IpNet;
use maxminddb::Metadata;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::ops::Range;
use std::path::Path;

/// What the compiled file says about its source.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CompiledMeta {
    pub metadata: Metadata,
    /// The MMDB file's name.
    pub source: String,
}

/// What a compilation wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompileSummary {
    pub ipv4_networks: u64,
    pub ipv6_networks: u64,
    pub records: u64,
    pub bytes: u64,
}

/// Records numbered in the order first met, each as JSON.
#[derive(Default)]
struct Records {
    by_offset: FxHashMap<usize, u32>,
    offsets: Vec<u32>,
    text: Vec<u8>,
}

impl Records {
    /// The number of the record of `net` in `src`.
    fn number(&mut self, src: &MmdbFile, net: &IpNet) -> Result<u32, DbError> {
        let f = src.find(net.network())?;
        let Some(offset) = f.offset else {
            return Err(invalid(src.path(), format!("network {net} has no record")));
        };
        if let Some(&n) = self.by_offset.get(&offset) {
            return Ok(n);
        }
        let v = src
            .record(net.network())?
            .unwrap_or(MmdbValue::Map(Vec::new()));
        self.offsets.push(self.text.len() as u32);
        self.text.extend_from_slice(v.to_json().as_bytes());
        let n = self.offsets.len() as u32 - 1;
        self.by_offset.insert(offset, n);
        Ok(n)
    }
}

fn invalid(path: &Path, message: String) -> DbError {
    DbError::Invalid {
        path: path.to_path_buf(),
        message,
    }
}

fn trie<K: Key>(mut items: Vec<(Prefix<K>, u32)>, path: &Path) -> Result<Vec<u8>, DbError> {
    items.sort_unstable();
    let t = Poptrie::build(&items, default_direct_bits::<K>())
        .map_err(|e| invalid(path, format!("too many records to compile: {e}")))?;
    Ok(t.to_bytes())
}

/// Compile `src` into `out` (written atomically).
pub fn compile(src: &MmdbFile, out: &Path) -> Result<CompileSummary, DbError> {
    let (mut v4, mut v6) = (Vec::new(), Vec::new());
    let mut records = Records::default();
    let bad = |net: &IpNet| invalid(src.path(), format!("network {net} has host bits"));
    for net in src.networks() {
        let net = net?;
        let n = records.number(src, &net)?;
        match net {
            IpNet::V4(p) => v4.push((
                Prefix::<u32>::new(p.network().into(), p.prefix_len()).ok_or_else(|| bad(&net))?,
                n,
            )),
            IpNet::V6(p) => v6.push((
                Prefix::<u128>::new(p.network().into(), p.prefix_len()).ok_or_else(|| bad(&net))?,
                n,
            )),
        }
    }
    let summary = CompileSummary {
        ipv4_networks: v4.len() as u64,
        ipv6_networks: v6.len() as u64,
        records: records.offsets.len() as u64,
        bytes: 0,
    };
    let meta = CompiledMeta {
        metadata: src.metadata().clone(),
        source: src
            .path()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    let mut w = Writer::default();
    w.version = COMPILED_MMDB_VERSION;
    let json = serde_json::to_vec(&meta).map_err(|e| invalid(out, e.to_string()))?;
    w.add("mmdbmeta", json);
    w.add("v4trie", trie(v4, src.path())?);
    w.add("v6trie", trie(v6, src.path())?);
    records.offsets.push(records.text.len() as u32);
    w.add(
        "recoff",
        records
            .offsets
            .iter()
            .flat_map(|o| o.to_le_bytes())
            .collect(),
    );
    w.add("records", records.text);
    let bytes = w.to_bytes();
    crate::db::file::write_atomic(out, &bytes)?;
    Ok(CompileSummary {
        bytes: bytes.len() as u64,
        ..summary
    })
}

/// A compiled MMDB file, opened.
pub struct CompiledMmdb {
    file: DbFile,
    meta: CompiledMeta,
    v4: Range<usize>,
    v6: Range<usize>,
    recoff: Range<usize>,
    records: Range<usize>,
}

impl CompiledMmdb {
    /// Open `path`; `verify` checks the checksum (reading the whole file).
    pub fn open(path: &Path, verify: bool) -> Result<CompiledMmdb, DbError> {
        let file = DbFile::open_with(path, verify)?;
        if file.version() != COMPILED_MMDB_VERSION {
            return Err(file.invalid("a database, not a compiled MMDB file".into()));
        }
        let meta = serde_json::from_slice(file.section("mmdbmeta")?)
            .map_err(|e| file.invalid(format!("bad metadata: {e}")))?;
        let c = CompiledMmdb {
            meta,
            v4: file.section_range("v4trie")?,
            v6: file.section_range("v6trie")?,
            recoff: file.section_range("recoff")?,
            records: file.section_range("records")?,
            file,
        };
        if !c.recoff.len().is_multiple_of(4) || c.recoff.is_empty() {
            return Err(c.file.invalid("record offsets of a wrong size".into()));
        }
        c.trie::<u32>(c.v4.clone())?;
        c.trie::<u128>(c.v6.clone())?;
        Ok(c)
    }

    pub fn path(&self) -> &Path {
        self.file.path()
    }

    pub fn metadata(&self) -> &Metadata {
        &self.meta.metadata
    }

    /// The name of the MMDB file it was compiled from.
    pub fn source(&self) -> &str {
        &self.meta.source
    }

    fn trie<K: Key>(&self, r: Range<usize>) -> Result<PoptrieRef<'_, K>, DbError> {
        PoptrieRef::from_bytes_unwalked(&self.file.bytes()[r])
            .map_err(|e| self.file.invalid(format!("bad trie: {e}")))
    }

    /// The record number and network length of `addr`.
    #[inline]
    pub fn find(&self, addr: IpAddr) -> Result<Found, DbError> {
        let leaf = match addr {
            IpAddr::V4(a) => self.trie::<u32>(self.v4.clone())?.lookup(a.into()),
            IpAddr::V6(a) => self.trie::<u128>(self.v6.clone())?.lookup(a.into()),
        };
        Ok(match unpack(leaf) {
            Some((len, n)) => Found {
                offset: Some(n as usize),
                prefix_len: len,
            },
            None => Found {
                offset: None,
                prefix_len: 0,
            },
        })
    }

    /// [`CompiledMmdb::find`] of rows `range` of `keys` as `(record number or
    /// usize::MAX, network length)`: whole families through the Poptrie's
    /// interleaved lookups, whose memory loads overlap.
    pub fn find_many(&self, keys: &Keys, range: Range<usize>) -> Result<Vec<(usize, u8)>, DbError> {
        let mut leaves = vec![0u32; range.len()];
        match keys.slice(range) {
            Keys::V4(v) => self
                .trie::<u32>(self.v4.clone())?
                .lookup_many(v, &mut leaves),
            Keys::V6(v) => {
                let v: Vec<u128> = v.iter().map(|b| u128::from_be_bytes(*b)).collect();
                self.trie::<u128>(self.v6.clone())?
                    .lookup_many(&v, &mut leaves)
            }
            Keys::Mixed(v) => {
                let (t4, t6) = (
                    self.trie::<u32>(self.v4.clone())?,
                    self.trie::<u128>(self.v6.clone())?,
                );
                for (leaf, a) in leaves.iter_mut().zip(v) {
                    *leaf = match a {
                        IpAddr::V4(a) => t4.lookup(u32::from(*a)),
                        IpAddr::V6(a) => t6.lookup(u128::from(*a)),
                    };
                }
            }
        }
        let found = |leaf| match unpack(leaf) {
            Some((len, n)) => (n as usize, len),
            None => (usize::MAX, 0),
        };
        Ok(leaves.into_iter().map(found).collect())
    }

    /// Record number `n`.
    pub fn record(&self, n: usize) -> Result<MmdbValue, DbError> {
        let offs = &self.file.bytes()[self.recoff.clone()];
        let at = |i: usize| -> Option<usize> {
            let b = offs.get(4 * i..4 * i + 4)?;
            Some(u32::from_le_bytes(b.try_into().ok()?) as usize)
        };
        let bad = || self.file.invalid(format!("record {n} is out of bounds"));
        let (a, b) = (at(n).ok_or_else(bad)?, at(n + 1).ok_or_else(bad)?);
        let text = self.file.bytes()[self.records.clone()]
            .get(a..b)
            .ok_or_else(bad)?;
        serde_json::from_slice(text).map_err(|e| self.file.invalid(format!("record {n}: {e}")))
    }

    /// The record and network of `addr`.
    pub fn lookup(&self, addr: IpAddr) -> Result<Option<(MmdbValue, IpNet)>, DbError> {
        let f = self.find(addr)?;
        let Some(n) = f.offset else { return Ok(None) };
        let net = IpNet::new(addr, f.prefix_len)
            .map_err(|e| self.file.invalid(e.to_string()))?
            .trunc();
        Ok(Some((self.record(n)?, net)))
    }

    /// Every network in address order, IPv4 first, with its record number.
    pub fn networks(&self) -> Result<Vec<(IpNet, usize)>, DbError> {
        let mut out = Vec::new();
        for (p, n) in self.trie::<u32>(self.v4.clone())?.prefixes() {
            let net = ipnet::Ipv4Net::new(p.addr().into(), p.prefix_len());
            out.push((
                net.map_err(|e| self.file.invalid(e.to_string()))?.into(),
                n as usize,
            ));
        }
        for (p, n) in self.trie::<u128>(self.v6.clone())?.prefixes() {
            let net = ipnet::Ipv6Net::new(p.addr().into(), p.prefix_len());
            out.push((
                net.map_err(|e| self.file.invalid(e.to_string()))?.into(),
                n as usize,
            ));
        }
        Ok(out)
    }
}
