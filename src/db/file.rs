//! The database container: one file of named, 8-byte aligned sections, memory-mapped
//! on open and used in place.
//!
//! Layout (all integers little-endian):
//! ```text
//! 0   magic        8 bytes  "GEOIPRS\0"
//! 8   version      u32      FORMAT_VERSION, HISTORY_VERSION for a history, or
//!                           COMPILED_MMDB_VERSION for an MMDB file compiled
//! 12  sections     u32      number of sections
//! 16  file length  u64      the whole file, to catch truncation at once
//! 24  checksum     u32      CRC-32 of every other byte of the file
//! 28  reserved     u32      0
//! 32  section table: per section  tag [u8; 8], offset u64, length u64
//! ..  section data, each starting at a multiple of 8
//! ```
//! Opening checks the magic, the version, the length, the checksum (unless asked
//! not to: it is the one check that reads the whole file), and that every section
//! lies inside the file without overlapping the header; only then are sections
//! handed out. Writing goes to a temporary file that is renamed over the
//! target, so a crash mid-save never leaves a broken file where a good one was.

use crate::alloc::OutOfMemory;
use memmap2::Mmap;
use std::fmt;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub const MAGIC: &[u8; 8] = b"GEOIPRS\0";
/// 2: tries with leaves inline after their nodes (1: nodes and leaves apart).
pub const FORMAT_VERSION: u32 = 2;
/// A history: the sections of version 2 over many snapshots, plus the history's
/// own (see [`super::versions`]). A number of its own, so that a reader of one-date
/// files only refuses it rather than misreading it.
pub const HISTORY_VERSION: u32 = 3;
/// An MMDB file compiled into this container (see [`crate::mmdb::compiled`]): its
/// own sections, not a database's, so a number of its own.
pub const COMPILED_MMDB_VERSION: u32 = 4;
const HEADER: usize = 32;
const ENTRY: usize = 24;

/// Why a file is not a usable database.
#[derive(Debug)]
pub enum DbError {
    Io {
        path: PathBuf,
        error: io::Error,
    },
    /// Not a database, a newer format, truncated or corrupt: what and where.
    Invalid {
        path: PathBuf,
        message: String,
    },
    /// A batch's buffers did not fit in memory.
    OutOfMemory(OutOfMemory),
}

impl From<OutOfMemory> for DbError {
    fn from(e: OutOfMemory) -> Self {
        DbError::OutOfMemory(e)
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            DbError::Invalid { path, message } => write!(f, "{}: {message}", path.display()),
            DbError::OutOfMemory(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for DbError {}

/// Sections to write, in order.
#[derive(Default)]
pub struct Writer {
    /// The format version written; 0 means [`FORMAT_VERSION`].
    pub version: u32,
    sections: Vec<([u8; 8], Vec<u8>)>,
}

/// A section tag: up to 8 ASCII bytes, zero-padded.
pub fn tag(name: &str) -> [u8; 8] {
    let mut t = [0u8; 8];
    assert!(name.len() <= 8 && name.is_ascii(), "section tag {name:?}");
    t[..name.len()].copy_from_slice(name.as_bytes());
    t
}

impl Writer {
    pub fn add(&mut self, name: &str, bytes: Vec<u8>) {
        self.sections.push((tag(name), bytes));
    }

    /// The whole file as bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let table_end = HEADER + ENTRY * self.sections.len();
        let mut offset = align8(table_end);
        let mut table = Vec::with_capacity(ENTRY * self.sections.len());
        for (t, bytes) in &self.sections {
            table.extend_from_slice(t);
            table.extend_from_slice(&(offset as u64).to_le_bytes());
            table.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
            offset = align8(offset + bytes.len());
        }
        let mut out = vec![0u8; offset];
        out[..8].copy_from_slice(MAGIC);
        let version = match self.version {
            0 => FORMAT_VERSION,
            v => v,
        };
        out[8..12].copy_from_slice(&version.to_le_bytes());
        out[12..16].copy_from_slice(&(self.sections.len() as u32).to_le_bytes());
        out[16..24].copy_from_slice(&(offset as u64).to_le_bytes());
        out[HEADER..table_end].copy_from_slice(&table);
        for (i, (_, bytes)) in self.sections.iter().enumerate() {
            let at = u64::from_le_bytes(table[ENTRY * i + 8..ENTRY * i + 16].try_into().unwrap())
                as usize;
            out[at..at + bytes.len()].copy_from_slice(bytes);
        }
        seal(&mut out);
        out
    }

    /// Write atomically (see [`write_atomic`]).
    pub fn write(&self, path: &Path) -> Result<(), DbError> {
        write_atomic(path, &self.to_bytes())
    }
}

/// Write `bytes` to `path` atomically: to a temporary file beside it, synced, then
/// renamed over it, so that a reader sees the old file or the whole new one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), DbError> {
    let io_err = |error| DbError::Io {
        path: path.to_path_buf(),
        error,
    };
    let name = path
        .file_name()
        .ok_or_else(|| io_err(io::Error::other("not a file name")))?;
    let tmp = path.with_file_name(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        // The rename itself survives a power cut only once its folder is synced.
        match path.parent().filter(|p| !p.as_os_str().is_empty()) {
            Some(dir) => File::open(dir)?.sync_all(),
            None => File::open(".")?.sync_all(),
        }
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io_err)
}

/// Set the checksum field of a whole file's bytes.
pub(crate) fn seal(bytes: &mut [u8]) {
    let crc = checksum(bytes);
    bytes[24..28].copy_from_slice(&crc.to_le_bytes());
}

/// CRC-32 of the whole file but its checksum field.
fn checksum(bytes: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&bytes[..24]);
    h.update(&bytes[28..]);
    h.finalize()
}

fn align8(n: usize) -> usize {
    n.div_ceil(8) * 8
}

/// The file at `path` mapped read-only (a database, or an MMDB file).
pub(crate) fn map_file(path: &Path) -> Result<Mmap, DbError> {
    let io_err = |error| DbError::Io {
        path: path.to_path_buf(),
        error,
    };
    let file = File::open(path).map_err(io_err)?;
    // Safety: the map is read-only; a file changed under it by another process
    // can give wrong answers but not unsafety in our code, which validates every
    // offset it follows (MaxMind's reader checks its own). Saves replace the file
    // by rename, never in place.
    unsafe { Mmap::map(&file) }.map_err(io_err)
}

/// An opened, validated database file.
pub struct DbFile {
    map: Mmap,
    path: PathBuf,
    sections: Vec<([u8; 8], usize, usize)>,
}

impl DbFile {
    /// Map and validate `path`, checksum included.
    pub fn open(path: impl AsRef<Path>) -> Result<DbFile, DbError> {
        Self::open_with(path, true)
    }

    /// Map and validate `path`; without `verify_checksum`, only the header and the
    /// section table are checked, so that opening reads none of the section data.
    pub fn open_with(path: impl AsRef<Path>, verify_checksum: bool) -> Result<DbFile, DbError> {
        let path = path.as_ref().to_path_buf();
        let map = map_file(&path)?;
        let sections = validate(&map, verify_checksum).map_err(|message| DbError::Invalid {
            path: path.clone(),
            message,
        })?;
        Ok(DbFile {
            map,
            path,
            sections,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Bytes of the file.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The bytes of section `name`, 8-byte aligned.
    pub fn section(&self, name: &str) -> Result<&[u8], DbError> {
        Ok(&self.map[self.section_range(name)?])
    }

    /// Where section `name` lies in [`DbFile::bytes`].
    pub fn section_range(&self, name: &str) -> Result<std::ops::Range<usize>, DbError> {
        let t = tag(name);
        let (_, at, len) = self
            .sections
            .iter()
            .find(|s| s.0 == t)
            .ok_or_else(|| self.invalid(format!("no section {name:?}")))?;
        Ok(*at..*at + *len)
    }

    /// The whole file.
    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// The format version (checked on open).
    pub fn version(&self) -> u32 {
        u32::from_le_bytes(self.map[8..12].try_into().expect("checked on open"))
    }

    /// A format error in this file.
    pub fn invalid(&self, message: String) -> DbError {
        DbError::Invalid {
            path: self.path.clone(),
            message,
        }
    }
}

/// Check the header and section table; the sections as (tag, offset, length).
fn validate(bytes: &[u8], verify_checksum: bool) -> Result<Vec<([u8; 8], usize, usize)>, String> {
    if bytes.len() < HEADER || &bytes[..8] != MAGIC {
        return Err("not a geoip_rs database (bad magic)".into());
    }
    let u32_at = |i: usize| u32::from_le_bytes(bytes[i..i + 4].try_into().unwrap());
    let u64_at = |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().unwrap());
    let version = u32_at(8);
    if ![FORMAT_VERSION, HISTORY_VERSION, COMPILED_MMDB_VERSION].contains(&version) {
        return Err(format!(
            "format version {version}, this geoip_rs reads versions {FORMAT_VERSION} \
             (one date), {HISTORY_VERSION} (history) and {COMPILED_MMDB_VERSION} \
             (a compiled MMDB file)"
        ));
    }
    if u64_at(16) != bytes.len() as u64 {
        return Err(format!(
            "truncated or extended: header says {} bytes, file has {}",
            u64_at(16),
            bytes.len()
        ));
    }
    if verify_checksum && checksum(bytes) != u32_at(24) {
        return Err("checksum mismatch: the file is corrupt".into());
    }
    let count = u32_at(12) as usize;
    let table_end = count
        .checked_mul(ENTRY)
        .and_then(|n| n.checked_add(HEADER))
        .filter(|&n| n <= bytes.len());
    let table_end = table_end.ok_or("section table runs past the end")?;
    (0..count)
        .map(|i| {
            let e = HEADER + ENTRY * i;
            let (at, len) = (u64_at(e + 8), u64_at(e + 16));
            let end = at.checked_add(len).filter(|&end| end <= bytes.len() as u64);
            if at < table_end as u64 || at % 8 != 0 || end.is_none() {
                return Err(format!(
                    "section {i} at {at}+{len} is outside the data area"
                ));
            }
            Ok((
                bytes[e..e + 8].try_into().unwrap(),
                at as usize,
                len as usize,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Writer {
        let mut w = Writer::default();
        w.add("alpha", vec![1, 2, 3]);
        w.add("beta", (0..100u8).collect());
        w.add("empty", vec![]);
        w
    }

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("geoip_rs_db_{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    #[test]
    fn round_trip() {
        let p = temp("ok.db");
        sample().write(&p).unwrap();
        let f = DbFile::open(&p).unwrap();
        assert_eq!(f.section("alpha").unwrap(), &[1, 2, 3]);
        assert_eq!(f.section("beta").unwrap().len(), 100);
        assert_eq!(f.section("empty").unwrap(), &[] as &[u8]);
        assert_eq!(f.section("beta").unwrap().as_ptr() as usize % 8, 0);
        assert!(f
            .section("gamma")
            .unwrap_err()
            .to_string()
            .contains(r#"no section "gamma""#));
    }

    #[test]
    fn every_truncation_and_bit_flip_is_refused() {
        let bytes = sample().to_bytes();
        let p = temp("bad.db");
        for cut in 0..bytes.len() {
            std::fs::write(&p, &bytes[..cut]).unwrap();
            assert!(DbFile::open(&p).is_err(), "cut at {cut}");
        }
        for bit in 0..bytes.len() * 8 {
            let mut b = bytes.clone();
            b[bit / 8] ^= 1 << (bit % 8);
            std::fs::write(&p, &b).unwrap();
            let err = DbFile::open(&p)
                .err()
                .unwrap_or_else(|| panic!("bit {bit} went unnoticed"));
            assert!(err.to_string().contains("bad.db"), "{err}");
        }
    }

    #[test]
    fn messages_say_what_is_wrong() {
        let p = temp("msg.db");
        std::fs::write(&p, b"not a database at all, clearly").unwrap();
        assert!(DbFile::open(&p)
            .err()
            .unwrap()
            .to_string()
            .contains("bad magic"));
        let mut b = sample().to_bytes();
        b[8] = 9;
        std::fs::write(&p, &b).unwrap();
        assert!(DbFile::open(&p)
            .err()
            .unwrap()
            .to_string()
            .contains("format version 9"));
        assert!(matches!(
            DbFile::open(temp("missing.db")),
            Err(DbError::Io { .. })
        ));
    }
}
