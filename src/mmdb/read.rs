//! MMDB files opened read-only, memory-mapped, through MaxMind's own Rust reader
//! (the `maxminddb` crate): every error it finds, at open or at a lookup, is a
//! [`DbError`] naming the file.

use super::index::NetworkIndex;
use super::value::MmdbValue;
use crate::db::DbError;
use ipnet::IpNet;
use maxminddb::{MaxMindDbError, Metadata, Reader, WithinOptions};
use memmap2::Mmap;
use std::fs::File;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// An opened MMDB file.
pub struct MmdbFile {
    path: PathBuf,
    reader: Reader<Mmap>,
    /// Built by the first batch large enough to repay it (see [`MmdbFile::index`]).
    index: OnceLock<Result<NetworkIndex, String>>,
    /// MaxMind's check of the whole file: at open with `verify`, else before the
    /// first walk over every network (see [`MmdbFile::networks`]).
    verified: OnceLock<Result<(), String>>,
}

/// The 14 bytes before an MMDB file's metadata.
pub const METADATA_MARKER: &[u8] = b"\xab\xcd\xefMaxMind.com";

/// Whether the file at `path` holds an MMDB metadata marker in its last 128 KiB,
/// where the format puts it (so that a database of either kind opens by path).
pub fn is_mmdb_file(path: &Path) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = File::open(path)?;
    let len = f.metadata()?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(128 * 1024)))?;
    let mut tail = Vec::new();
    f.read_to_end(&mut tail)?;
    Ok(tail
        .windows(METADATA_MARKER.len())
        .any(|w| w == METADATA_MARKER))
}

/// One answer: the record's data offset (a key shared by every address with the
/// same record) and the length of the network the address is in.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub offset: Option<usize>,
    pub prefix_len: u8,
}

impl MmdbFile {
    /// Open `path`; with `verify`, the whole search tree and data section are
    /// checked first (MaxMind's `verify`), so that a damaged file is refused here
    /// rather than at the lookup that meets the damage.
    pub fn open(path: impl AsRef<Path>, verify: bool) -> Result<MmdbFile, DbError> {
        let path = path.as_ref().to_path_buf();
        let map = crate::db::file::map_file(&path)?;
        let bad = |e: MaxMindDbError| invalid(&path, e);
        let reader = Reader::from_source(map).map_err(bad)?;
        let verified = OnceLock::new();
        if verify {
            full_check(&path, &reader).map_err(|e| invalid(&path, e))?;
            let _ = verified.set(Ok(()));
        }
        Ok(MmdbFile {
            path,
            reader,
            index: OnceLock::new(),
            verified,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The networks indexed in Poptries, for a batch of `rows` addresses: built the
    /// first time a batch has as many rows as the tree has nodes (building costs
    /// about one visit of each node, as many lookups would), then kept.
    pub fn index(&self, rows: usize) -> Result<Option<&NetworkIndex>, DbError> {
        if self.index.get().is_none() && rows < self.metadata().node_count as usize {
            return Ok(None);
        }
        let built = self
            .index
            .get_or_init(|| NetworkIndex::build(self).map_err(|e| e.to_string()));
        match built {
            Ok(i) => Ok(Some(i)),
            Err(e) => Err(self.invalid(e)),
        }
    }

    pub fn metadata(&self) -> &Metadata {
        self.reader.metadata()
    }

    /// The data offset and network length of `addr`.
    #[inline]
    pub fn find(&self, addr: IpAddr) -> Result<Found, DbError> {
        if self.outside(addr) {
            return Ok(Found {
                offset: None,
                prefix_len: 0,
            });
        }
        let r = self.reader.lookup(addr).map_err(|e| self.invalid(e))?;
        let n = r.network().map_err(|e| self.invalid(e))?;
        let prefix_len = self.net(addr, (n.network(), n.prefix()))?.prefix_len();
        Ok(Found {
            offset: r.offset(),
            prefix_len,
        })
    }

    /// The record and network of `addr`; `None` if the file has no record for it.
    pub fn lookup(&self, addr: IpAddr) -> Result<Option<(MmdbValue, IpNet)>, DbError> {
        if self.outside(addr) {
            return Ok(None);
        }
        let r = self.reader.lookup(addr).map_err(|e| self.invalid(e))?;
        let Some(v) = r.decode::<MmdbValue>().map_err(|e| self.invalid(e))? else {
            return Ok(None);
        };
        let n = r.network().map_err(|e| self.invalid(e))?;
        Ok(Some((v, self.net(addr, (n.network(), n.prefix()))?)))
    }

    /// Every network with a record, IPv4 ones as IPv4 (not again under their
    /// IPv6 aliases), in tree order; [`MmdbFile::lookup`] of a network's first
    /// address gives its record.
    ///
    /// A file opened without `verify` is checked first, once: a damaged tree whose
    /// nodes point at shared subtrees has up to 2^128 paths for the walk to follow
    /// (a lookup follows one path, so it needs no check); see [`super::shape`].
    pub fn networks(&self) -> impl Iterator<Item = Result<IpNet, DbError>> + '_ {
        let checked = self
            .verified
            .get_or_init(|| full_check(&self.path, &self.reader));
        let walk = match checked {
            Ok(()) => self.reader.networks(WithinOptions::default()),
            Err(e) => Err(MaxMindDbError::invalid_database(e.clone())),
        };
        let (first, rest) = match walk {
            Ok(it) => (None, Some(it)),
            Err(e) => (Some(Err(self.invalid(e))), None),
        };
        let rest = rest.into_iter().flatten().map(move |r| {
            let n = r.and_then(|r| r.network()).map_err(|e| self.invalid(e))?;
            IpNet::new(n.network(), n.prefix()).map_err(|e| self.invalid(e))
        });
        first.into_iter().chain(rest)
    }

    /// An IPv6 address asked of an IPv4-only file, which has no record for it
    /// (MaxMind's reader calls that an error; in a batch of both families it is a
    /// miss, as an unrouted address is).
    #[inline]
    fn outside(&self, addr: IpAddr) -> bool {
        addr.is_ipv6() && self.metadata().ip_version == 4
    }

    /// The network the reader found for `addr`. An IPv4 address answered above
    /// `::/96` (a file whose tree has no IPv4 subtree) is in an IPv6 network: as
    /// MaxMind's Python reader does, its length counts from the 96th bit, here
    /// `0.0.0.0/0`.
    fn net(&self, addr: IpAddr, (at, len): (IpAddr, u8)) -> Result<IpNet, DbError> {
        let net = match addr.is_ipv4() && at.is_ipv6() {
            true => IpNet::new(addr, len.saturating_sub(96)).map(|n| n.trunc()),
            false => IpNet::new(at, len),
        };
        net.map_err(|e| self.invalid(e))
    }

    fn invalid(&self, e: impl std::fmt::Display) -> DbError {
        invalid(&self.path, e)
    }
}

/// The tree's shape (see [`super::shape`]: MaxMind's `verify` would walk a damaged
/// one for hours), then MaxMind's `verify` of the whole file.
fn full_check(path: &Path, reader: &Reader<Mmap>) -> Result<(), String> {
    // maxminddb keeps its bytes to itself: the file is mapped again (the same pages).
    let map = crate::db::file::map_file(path).map_err(|e| e.to_string())?;
    super::shape::check(&map, reader.metadata())?;
    reader.verify().map_err(|e| e.to_string())
}

fn invalid(path: &Path, e: impl std::fmt::Display) -> DbError {
    DbError::Invalid {
        path: path.to_path_buf(),
        message: format!("not a valid MMDB file: {e}"),
    }
}
