//! Load errors, each naming the file and the place in it.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Where in a file a problem is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// 1-based line of a text file.
    Line(u64),
    /// 1-based record of a binary file, and the byte offset (in the decompressed
    /// stream) where it starts.
    Record { record: u64, offset: u64 },
    /// Byte offset in the decompressed stream.
    Offset(u64),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Line(n) => write!(f, "line {n}"),
            Location::Record { record, offset } => {
                write!(f, "record {record} (byte offset {offset})")
            }
            Location::Offset(o) => write!(f, "byte offset {o}"),
        }
    }
}

/// Why a load failed.
#[derive(Debug)]
pub enum LoadError {
    /// The file does not exist.
    NotFound(PathBuf),
    /// Reading failed for a reason other than the content (permissions, a directory).
    Io { path: PathBuf, error: io::Error },
    /// The content is not what the format says: bad line or record, or a truncated
    /// or corrupt compressed stream.
    Format {
        path: PathBuf,
        at: Location,
        message: String,
    },
    /// The progress callback cancelled the load.
    Interrupted,
    /// The files or options given cannot work together (a database without a
    /// prefix source); nothing was read.
    Usage(String),
}

impl LoadError {
    pub fn format(path: impl Into<PathBuf>, at: Location, message: impl Into<String>) -> Self {
        LoadError::Format {
            path: path.into(),
            at,
            message: message.into(),
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::NotFound(p) => write!(f, "{}: no such file", p.display()),
            LoadError::Io { path, error } => write!(f, "{}: {error}", path.display()),
            LoadError::Format { path, at, message } => {
                write!(f, "{}: {at}: {message}", path.display())
            }
            LoadError::Interrupted => write!(f, "load interrupted"),
            LoadError::Usage(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for LoadError {}
