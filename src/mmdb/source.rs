//! An MMDB file or its compiled form behind one interface: what `MmdbDatabase`
//! and the batches use.

use super::compiled::CompiledMmdb;
use super::index::{find_many, NetworkIndex};
use super::read::{Found, MmdbFile};
use super::value::MmdbValue;
use crate::batch::Keys;
use crate::db::file::{COMPILED_MMDB_VERSION, MAGIC};
use crate::db::DbError;
use ipnet::IpNet;
use maxminddb::Metadata;
use std::io::Read;
use std::net::IpAddr;
use std::ops::Range;
use std::path::Path;

/// The kinds of file `geoip_rs.open` tells apart.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A geoip_rs database (or something else, which opening it then says).
    Database,
    Mmdb,
    CompiledMmdb,
}

impl FileKind {
    pub const fn name(self) -> &'static str {
        match self {
            FileKind::Database => "database",
            FileKind::Mmdb => "mmdb",
            FileKind::CompiledMmdb => "compiled-mmdb",
        }
    }

    /// The kind of the file at `path`, by its first 12 bytes and its tail. A file
    /// that cannot be read counts as a database, whose opening then says why.
    pub fn of(path: &Path) -> FileKind {
        let mut head = [0u8; 12];
        let n = std::fs::File::open(path).and_then(|mut f| f.read(&mut head));
        let Ok(n) = n else {
            return FileKind::Database;
        };
        let version = u32::from_le_bytes(head[8..12].try_into().expect("4 bytes"));
        let ours = n == 12 && head[..8] == MAGIC[..];
        if ours && version == COMPILED_MMDB_VERSION {
            return FileKind::CompiledMmdb;
        }
        if !ours && super::read::is_mmdb_file(path).unwrap_or(false) {
            return FileKind::Mmdb;
        }
        FileKind::Database
    }
}

/// An MMDB file, or one compiled.
pub enum MmdbSource {
    File(MmdbFile),
    Compiled(CompiledMmdb),
}

impl MmdbSource {
    /// Open `path` as whichever of the two it is.
    pub fn open(path: &Path, verify: bool) -> Result<MmdbSource, DbError> {
        match FileKind::of(path) {
            FileKind::CompiledMmdb => Ok(MmdbSource::Compiled(CompiledMmdb::open(path, verify)?)),
            _ => Ok(MmdbSource::File(MmdbFile::open(path, verify)?)),
        }
    }

    pub fn path(&self) -> &Path {
        match self {
            MmdbSource::File(f) => f.path(),
            MmdbSource::Compiled(c) => c.path(),
        }
    }

    pub fn metadata(&self) -> &Metadata {
        match self {
            MmdbSource::File(f) => f.metadata(),
            MmdbSource::Compiled(c) => c.metadata(),
        }
    }

    pub fn is_compiled(&self) -> bool {
        matches!(self, MmdbSource::Compiled(_))
    }

    /// A key for `addr`'s record (shared by every address with that record) and
    /// the length of its network.
    #[inline]
    pub fn find(&self, addr: IpAddr) -> Result<Found, DbError> {
        match self {
            MmdbSource::File(f) => f.find(addr),
            MmdbSource::Compiled(c) => c.find(addr),
        }
    }

    /// How a batch of `rows` addresses finds their records, decided once for the
    /// whole batch (the keys of the ways differ: data offsets, record numbers).
    pub fn finder(&self, rows: usize) -> Result<Finder<'_>, DbError> {
        Ok(match self {
            MmdbSource::Compiled(c) => Finder::Compiled(c),
            MmdbSource::File(f) => match f.index(rows)? {
                Some(i) => Finder::Index(i),
                None => Finder::Direct(f),
            },
        })
    }

    /// The record [`MmdbSource::find`] gave `key` for at `addr`.
    pub fn record_of(&self, key: usize, addr: IpAddr) -> Result<MmdbValue, DbError> {
        let empty = || MmdbValue::Map(Vec::new());
        match self {
            MmdbSource::File(f) => Ok(f.lookup(addr)?.map_or_else(empty, |(v, _)| v)),
            MmdbSource::Compiled(c) => c.record(key),
        }
    }

    pub fn lookup(&self, addr: IpAddr) -> Result<Option<(MmdbValue, IpNet)>, DbError> {
        match self {
            MmdbSource::File(f) => f.lookup(addr),
            MmdbSource::Compiled(c) => c.lookup(addr),
        }
    }

    /// The record of `addr` and the length of the network it is in; for a miss,
    /// the length of the empty network, as MaxMind's readers give it (0 in a
    /// compiled file, which keeps no empty networks).
    pub fn with_prefix_len(&self, addr: IpAddr) -> Result<(Option<MmdbValue>, u8), DbError> {
        match self.lookup(addr)? {
            Some((v, net)) => Ok((Some(v), net.prefix_len())),
            None => Ok((None, self.find(addr)?.prefix_len)),
        }
    }

    /// The record of a network [`MmdbSource::networks`] gave.
    pub fn network_record(&self, net: &IpNet) -> Result<MmdbValue, DbError> {
        let v = self.lookup(net.network())?;
        Ok(v.map_or(MmdbValue::Map(Vec::new()), |(v, _)| v))
    }

    /// Every network with a record; [`MmdbSource::lookup`] of its first address
    /// gives the record.
    pub fn networks(&self) -> Result<Vec<IpNet>, DbError> {
        match self {
            MmdbSource::File(f) => f.networks().collect(),
            MmdbSource::Compiled(c) => Ok(c.networks()?.into_iter().map(|(n, _)| n).collect()),
        }
    }
}

/// A batch's way to its records.
pub enum Finder<'a> {
    /// MaxMind's reader, an address at a time.
    Direct(&'a MmdbFile),
    /// The file's networks indexed in memory.
    Index(&'a NetworkIndex),
    Compiled(&'a CompiledMmdb),
}

impl Finder<'_> {
    /// The records' keys (`usize::MAX` for none) and the networks' lengths of rows
    /// `range` of `keys`.
    pub fn find_many(&self, keys: &Keys, range: Range<usize>) -> Result<Vec<(usize, u8)>, DbError> {
        match self {
            Finder::Compiled(c) => c.find_many(keys, range),
            Finder::Index(i) => Ok(find_many(i.v4.view(), i.v6.view(), i.aliases, keys, range)?),
            Finder::Direct(f) => range
                .map(|i| {
                    let found = f.find(keys.get(i))?;
                    Ok((found.offset.unwrap_or(usize::MAX), found.prefix_len))
                })
                .collect(),
        }
    }
}
