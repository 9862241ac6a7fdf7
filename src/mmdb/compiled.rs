//! An MMDB file compiled into geoip_rs's container: the networks into one Poptrie
//! per family (whose leaves are record numbers), the distinct records (as
//! [`super::stored`] keeps them), the MMDB metadata as it was. A batch over it walks the Poptrie instead of
//! MMDB's bit-by-bit tree, so it runs as fast as a database's.
//!
//! Sections: `mmdbmeta` (JSON: the source's metadata and name), `v4trie`,
//! `v6trie`, `recoff` (`u32` offsets of each record in `records`, one past the
//! last too) and `records`.

use super::index::{find_many, NetworkIndex};
use super::read::{Found, MmdbFile};
use super::value::MmdbValue;
use crate::batch::Keys;
use crate::db::file::{DbFile, Writer, COMPILED_MMDB_VERSION};
use crate::db::DbError;
use crate::key::Key;
use crate::poptrie::PoptrieRef;
use ipnet::IpNet;
use maxminddb::Metadata;
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
    /// Which IPv6 networks it answered as IPv4 (see [`super::index::ALIASES`]).
    #[serde(default)]
    pub aliases: [bool; 4],
    /// See [`NetworkIndex::ipv4_above`].
    #[serde(default)]
    pub ipv4_above: bool,
}

/// What a compilation wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompileSummary {
    pub ipv4_networks: u64,
    pub ipv6_networks: u64,
    pub records: u64,
    pub bytes: u64,
}

fn invalid(path: &Path, message: String) -> DbError {
    DbError::Invalid {
        path: path.to_path_buf(),
        message,
    }
}

/// Compile the MMDB file at `src` (checked whole first) into `out`.
pub fn compile_path(src: &Path, out: &Path) -> Result<CompileSummary, DbError> {
    compile(&MmdbFile::open(src, true)?, out)
}

/// Compile `src` into `out` (written atomically).
pub fn compile(src: &MmdbFile, out: &Path) -> Result<CompileSummary, DbError> {
    let index = NetworkIndex::build(src)?;
    let (mut offsets, mut text) = (Vec::new(), Vec::new());
    // Offsets are u32: records past 4 GiB in all cannot be stored (wrapping
    // would point records at each other's bytes).
    let offset = |text: &Vec<u8>| {
        u32::try_from(text.len()).map_err(|_| DbError::Invalid {
            path: src.path().to_path_buf(),
            message: "its records take more than 4 GiB once decoded: too many to compile".into(),
        })
    };
    for &(_, a) in &index.records {
        let v = src
            .lookup(a)?
            .map_or(MmdbValue::Map(Vec::new()), |(v, _)| v);
        offsets.push(offset(&text)?);
        text.extend_from_slice(&super::stored::store(&v));
    }
    offsets.push(offset(&text)?);
    let summary = CompileSummary {
        ipv4_networks: index.ipv4_networks as u64,
        ipv6_networks: index.ipv6_networks as u64,
        records: index.records.len() as u64,
        bytes: 0,
    };
    let meta = CompiledMeta {
        metadata: src.metadata().clone(),
        source: src
            .path()
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        aliases: index.aliases,
        ipv4_above: index.ipv4_above,
    };
    let mut w = Writer::default();
    w.version = COMPILED_MMDB_VERSION;
    let json = serde_json::to_vec(&meta).map_err(|e| invalid(out, e.to_string()))?;
    w.add("mmdbmeta", json);
    w.add("v4trie", index.v4.to_bytes());
    w.add("v6trie", index.v6.to_bytes());
    w.add(
        "recoff",
        offsets.iter().flat_map(|o| o.to_le_bytes()).collect(),
    );
    w.add("records", text);
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
        // One pass, so that records cannot overlap (see `offsets_cut`).
        let offs: Vec<u32> = c.file.bytes()[c.recoff.clone()]
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        if !crate::db::strings::offsets_cut(&offs, c.records.len()) {
            return Err(c
                .file
                .invalid("record offsets do not rise to the end of the records".into()));
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
        let (n, len) = self.find_many(&Keys::Mixed(&[addr]), 0..1)?[0];
        Ok(Found {
            offset: (n != usize::MAX).then_some(n),
            prefix_len: len,
        })
    }

    /// [`CompiledMmdb::find`] of rows `range` of `keys` (see [`find_many`]).
    pub fn find_many(&self, keys: &Keys, range: Range<usize>) -> Result<Vec<(usize, u8)>, DbError> {
        let (t4, t6) = (
            self.trie::<u32>(self.v4.clone())?,
            self.trie::<u128>(self.v6.clone())?,
        );
        Ok(find_many(t4, t6, self.meta.aliases, keys, range)?)
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
        super::stored::load(text).map_err(|e| self.file.invalid(format!("record {n}: {e}")))
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
        let v4 = match self.meta.ipv4_above {
            true => Vec::new(),
            false => self.trie::<u32>(self.v4.clone())?.prefixes(),
        };
        for (p, n) in v4 {
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
