//! Opening a data file: decompression chosen by the file's first bytes (not its
//! name), and a count of the file bytes consumed, for progress reports.
//!
//! A compressed file is decompressed in a thread of its own, a few buffers ahead of
//! the reader (see [`Pipelined`]): parsing a full RIB costs about as much as
//! decompressing it, so the two overlap and loading takes about as long as the
//! slower of them instead of their sum.

use super::{LoadError, Location};
use bzip2::read::MultiBzDecoder;
use flate2::read::MultiGzDecoder;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;

/// How a file is compressed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Bzip2,
}

impl Compression {
    /// From a file's first bytes: gzip's magic `1f 8b`, bzip2's `BZh`.
    pub fn detect(head: &[u8]) -> Self {
        match head {
            [0x1f, 0x8b, ..] => Compression::Gzip,
            [b'B', b'Z', b'h', ..] => Compression::Bzip2,
            _ => Compression::None,
        }
    }
}

/// Counts the bytes read from the file under the decompressor.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// A data file's decompressed content.
pub struct Input {
    reader: Box<dyn BufRead + Send>,
    path: PathBuf,
    compression: Compression,
    tracker: Tracker,
}

/// [`Input::read_error`], from the parts of an input.
fn read_error(
    path: &Path,
    compression: Compression,
    tracker: &Tracker,
    error: io::Error,
) -> LoadError {
    match error.kind() {
        io::ErrorKind::UnexpectedEof | io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => {
            let what = match compression {
                Compression::None => "unreadable data",
                _ => "truncated or corrupt compressed data",
            };
            LoadError::format(
                path,
                Location::Offset(tracker.offset()),
                format!("{what}: {error}"),
            )
        }
        _ => LoadError::Io {
            path: path.to_path_buf(),
            error,
        },
    }
}

/// Where a reader is in its file, readable while the reader itself is lent out
/// (e.g. to the MRT parser).
#[derive(Clone)]
pub struct Tracker {
    size: u64,
    /// File bytes consumed (compressed bytes for a compressed file).
    consumed: Arc<AtomicU64>,
    /// Decompressed bytes handed out.
    offset: Arc<AtomicU64>,
}

impl Tracker {
    /// Size of the file on disk.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// File bytes consumed so far.
    pub fn position(&self) -> u64 {
        self.consumed.load(Ordering::Relaxed).min(self.size)
    }

    /// Decompressed bytes read so far.
    pub fn offset(&self) -> u64 {
        self.offset.load(Ordering::Relaxed)
    }

    fn advance(&self, n: usize) {
        self.offset.fetch_add(n as u64, Ordering::Relaxed);
    }
}

impl Input {
    /// Open `path`, detecting its compression.
    pub fn open(path: impl AsRef<Path>) -> Result<Input, LoadError> {
        let path = path.as_ref();
        let io_err = |error: io::Error| match error.kind() {
            io::ErrorKind::NotFound => LoadError::NotFound(path.to_path_buf()),
            _ => LoadError::Io {
                path: path.to_path_buf(),
                error,
            },
        };
        let file = File::open(path).map_err(io_err)?;
        let meta = file.metadata().map_err(io_err)?;
        if meta.is_dir() {
            return Err(io_err(io::Error::other("is a directory")));
        }
        Input::from_reader(path, file, meta.len()).map_err(io_err)
    }

    /// Bytes in memory as an input named `name` (compressed or not): what fuzzers
    /// and tests feed the readers without a file.
    pub fn from_bytes(name: impl AsRef<Path>, bytes: Vec<u8>) -> Result<Input, LoadError> {
        let (name, size) = (name.as_ref(), bytes.len() as u64);
        Input::from_reader(name, io::Cursor::new(bytes), size).map_err(|error| LoadError::Io {
            path: name.to_path_buf(),
            error,
        })
    }

    fn from_reader(path: &Path, inner: impl Read + Send + 'static, size: u64) -> io::Result<Input> {
        let consumed = Arc::new(AtomicU64::new(0));
        let count = consumed.clone();
        let mut raw = BufReader::with_capacity(1 << 16, Counting { inner, count });
        let compression = Compression::detect(raw.fill_buf()?);
        let reader: Box<dyn BufRead + Send> = match compression {
            Compression::None => Box::new(raw),
            Compression::Gzip => Box::new(Pipelined::spawn(MultiGzDecoder::new(raw))?),
            Compression::Bzip2 => Box::new(Pipelined::spawn(MultiBzDecoder::new(raw))?),
        };
        let tracker = Tracker {
            size,
            consumed,
            offset: Arc::new(AtomicU64::new(0)),
        };
        Ok(Input {
            reader,
            path: path.to_path_buf(),
            compression,
            tracker,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn compression(&self) -> Compression {
        self.compression
    }

    /// Size of the file on disk.
    pub fn size(&self) -> u64 {
        self.tracker.size()
    }

    /// File bytes consumed so far (compressed bytes for a compressed file).
    pub fn position(&self) -> u64 {
        self.tracker.position()
    }

    /// Decompressed bytes read so far.
    pub fn offset(&self) -> u64 {
        self.tracker.offset()
    }

    /// A handle on the position that outlives lending the input out.
    pub fn tracker(&self) -> Tracker {
        self.tracker.clone()
    }

    /// A format error at `at` in this file.
    pub fn error(&self, at: Location, message: impl Into<String>) -> LoadError {
        LoadError::format(&self.path, at, message)
    }

    /// A read error as a load error: a corrupt or truncated compressed stream is a
    /// format error at the current offset; anything else is an I/O error.
    pub fn read_error(&self, error: io::Error) -> LoadError {
        read_error(&self.path, self.compression, &self.tracker, error)
    }

    /// The next bytes of the decompressed stream, without consuming them (at most
    /// one buffer; empty at the end). For telling formats apart by content.
    pub fn peek(&mut self) -> Result<&[u8], LoadError> {
        // One call into the reader (the MRT reader peeks once per record): the
        // buffer borrows only `reader`, so the error can be made from the rest.
        let Input {
            reader,
            path,
            compression,
            tracker,
        } = self;
        reader
            .fill_buf()
            .map_err(|e| read_error(path, *compression, tracker, e))
    }

    /// Mark `n` bytes of what [`Input::peek`] showed as read.
    pub(crate) fn consume(&mut self, n: usize) {
        self.reader.consume(n);
        self.tracker.advance(n);
    }

    /// Lines of a text file; see [`Lines`].
    pub fn lines(self) -> Lines {
        Lines {
            input: self,
            buf: Vec::new(),
            number: 0,
            line_end: true,
        }
    }
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.reader.read(buf)?;
        self.tracker.advance(n);
        Ok(n)
    }
}

/// Size of the buffers the decompressing thread hands over: large enough that the
/// hand-over costs nothing next to filling one.
const CHUNK: usize = 1 << 18;
/// Buffers decompressed ahead of the reader: enough to even out the two threads'
/// speeds, few enough that memory stays small (1 MiB).
const AHEAD: usize = 4;

/// A reader whose bytes come from another reader (a decompressor) running in a
/// thread of its own. Standard channels rather than a crate: one producer, one
/// consumer, a bounded queue, and buffers sent back for reuse are all it needs.
struct Pipelined {
    full: Receiver<io::Result<Vec<u8>>>,
    empty: SyncSender<Vec<u8>>,
    buf: Vec<u8>,
    pos: usize,
    /// The error that ended the data, given again to every later read (a reader
    /// that failed stays failed, as the decompressor itself would).
    failed: Option<(io::ErrorKind, String)>,
    /// The end of the data was reached.
    done: bool,
}

impl Pipelined {
    fn spawn(mut inner: impl Read + Send + 'static) -> io::Result<Pipelined> {
        let (full_tx, full) = sync_channel(AHEAD);
        // One more than can be in flight, so that sending a buffer back never blocks.
        let (empty, empty_rx) = sync_channel::<Vec<u8>>(AHEAD + 2);
        std::thread::Builder::new()
            .name("geoip_rs-decompress".into())
            .spawn(move || loop {
                let mut buf = empty_rx.try_recv().unwrap_or_default();
                let (end, error) = fill(&mut inner, &mut buf);
                // A failed send means the reader was dropped before the end: stop.
                if !buf.is_empty() && full_tx.send(Ok(buf)).is_err() {
                    return;
                }
                if let Some(e) = error {
                    let _ = full_tx.send(Err(e));
                    return;
                }
                if end {
                    // An empty buffer marks the end, so that a thread that died
                    // (a panic in a decoder) is not taken for the end of the data.
                    let _ = full_tx.send(Ok(Vec::new()));
                    return;
                }
            })?;
        Ok(Pipelined {
            full,
            empty,
            buf: Vec::new(),
            pos: 0,
            failed: None,
            done: false,
        })
    }
}

/// Fill `buf` with up to [`CHUNK`] bytes of `inner`. Returns whether the end was
/// reached and the error that stopped reading, if any (the bytes before it stay in
/// `buf`, so that the reader gets them before the error).
fn fill(inner: &mut impl Read, buf: &mut Vec<u8>) -> (bool, Option<io::Error>) {
    buf.resize(CHUNK, 0);
    let mut n = 0;
    let mut stop = (false, None);
    while n < CHUNK {
        match inner.read(&mut buf[n..]) {
            Ok(0) => {
                stop.0 = true;
                break;
            }
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                stop.1 = Some(e);
                break;
            }
        }
    }
    buf.truncate(n);
    stop
}

impl Read for Pipelined {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(out.len());
        out[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Pipelined {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if let Some((kind, message)) = &self.failed {
            return Err(io::Error::new(*kind, message.clone()));
        }
        if self.pos == self.buf.len() && !self.done {
            match self.full.recv() {
                Ok(Ok(next)) if next.is_empty() => self.done = true,
                Ok(Ok(next)) => {
                    let used = std::mem::replace(&mut self.buf, next);
                    let _ = self.empty.try_send(used);
                    self.pos = 0;
                }
                Ok(Err(e)) => {
                    self.failed = Some((e.kind(), e.to_string()));
                    return Err(e);
                }
                Err(_) => {
                    let e = io::Error::other("the decompression thread stopped before the end");
                    self.failed = Some((e.kind(), e.to_string()));
                    return Err(e);
                }
            }
        }
        Ok(&self.buf[self.pos..])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.buf.len());
    }
}

/// Lines of a text file, without their line ends. Text that is not UTF-8 is read as
/// Latin-1 (registry files carry names in both), so no line is lost to its encoding.
pub struct Lines {
    input: Input,
    buf: Vec<u8>,
    number: u64,
    line_end: bool,
}

impl Lines {
    pub fn input(&self) -> &Input {
        &self.input
    }

    /// The 1-based number of the line last returned.
    pub fn number(&self) -> u64 {
        self.number
    }

    /// False if the line last returned had no line end: the file's last line, cut
    /// off (or a file whose writer left out the final newline).
    pub fn has_line_end(&self) -> bool {
        self.line_end
    }

    /// A format error at the line last returned.
    pub fn error(&self, message: impl Into<String>) -> LoadError {
        self.input.error(Location::Line(self.number), message)
    }

    /// The next line, or `None` at the end of the file. A line longer than
    /// [`MAX_LINE`] is an error (the rest of the file is not read).
    pub fn next_line(&mut self) -> Option<Result<String, LoadError>> {
        self.buf.clear();
        let mut limited = (&mut self.input.reader).take(MAX_LINE as u64 + 1);
        match limited.read_until(b'\n', &mut self.buf) {
            Ok(0) => None,
            Ok(n) => {
                self.input.tracker.advance(n);
                self.number += 1;
                self.line_end = self.buf.last() == Some(&b'\n');
                if n > MAX_LINE && !self.line_end {
                    let msg = format!(
                        "a line of more than {MAX_LINE} bytes: not a text file of this format"
                    );
                    return Some(Err(self.error(msg)));
                }
                while matches!(self.buf.last(), Some(b'\n' | b'\r')) {
                    self.buf.pop();
                }
                Some(Ok(decode(&self.buf)))
            }
            Err(e) => Some(Err(self.input.read_error(e))),
        }
    }
}

/// The longest line the text readers take, line end included: the lines of every
/// format read are under a few hundred bytes, and a cap keeps a damaged file or a
/// decompression bomb (gigabytes without a line end) from growing one line buffer
/// without bound.
pub const MAX_LINE: usize = 1 << 20;

/// UTF-8, or Latin-1 when the bytes are not UTF-8.
fn decode(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => bytes.iter().map(|&b| b as char).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn temp(name: &str, bytes: &[u8]) -> PathBuf {
        crate::testutil::temp_file("input", name, bytes)
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn bzip(data: &[u8]) -> Vec<u8> {
        let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn read_lines(p: &Path) -> Result<Vec<String>, LoadError> {
        let mut lines = Input::open(p)?.lines();
        let mut out = Vec::new();
        while let Some(l) = lines.next_line() {
            out.push(l?);
        }
        Ok(out)
    }

    #[test]
    fn detects_compression_by_content_not_name() {
        let text = b"a\r\nb\n\xe9t\xe9\n";
        for (name, bytes, kind) in [
            ("plain.gz", text.to_vec(), Compression::None),
            ("gz.txt", gzip(text), Compression::Gzip),
            ("bz.gz", bzip(text), Compression::Bzip2),
        ] {
            let p = temp(name, &bytes);
            assert_eq!(Input::open(&p).unwrap().compression(), kind);
            assert_eq!(read_lines(&p).unwrap(), ["a", "b", "été"], "{name}");
        }
    }

    #[test]
    fn peek_does_not_consume_and_line_ends_are_reported() {
        let p = temp("peek.gz", &gzip(b"{x\nlast"));
        let mut input = Input::open(&p).unwrap();
        assert_eq!(input.peek().unwrap(), b"{x\nlast");
        let mut lines = input.lines();
        assert_eq!(lines.next_line().unwrap().unwrap(), "{x");
        assert!(lines.has_line_end());
        assert_eq!(lines.next_line().unwrap().unwrap(), "last");
        assert!(!lines.has_line_end());
        assert!(lines.next_line().is_none());
    }

    #[test]
    fn missing_truncated_and_directory_inputs_are_errors() {
        assert!(matches!(
            Input::open("/nonexistent/x"),
            Err(LoadError::NotFound(_))
        ));
        assert!(matches!(
            Input::open(std::env::temp_dir()),
            Err(LoadError::Io { .. })
        ));
        let long: Vec<u8> = (0..200_000u32)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        for (name, bytes) in [("cut.gz", gzip(&long)), ("cut.bz2", bzip(&long))] {
            let cut = &bytes[..bytes.len() / 2];
            let err = read_lines(&temp(name, cut)).unwrap_err();
            let msg = err.to_string();
            assert!(
                msg.contains(name) && msg.contains("truncated or corrupt"),
                "{msg}"
            );
        }
    }

    #[test]
    fn lines_past_the_cap_are_an_error_and_the_cap_itself_is_not() {
        let mut at_cap = vec![b'a'; MAX_LINE - 1];
        at_cap.extend_from_slice(b"\nnext\n");
        assert_eq!(read_lines(&temp("at-cap", &at_cap)).unwrap().len(), 2);
        // 64 MiB without a line end in a small file: an error at line 2
        let mut body = b"first\n".to_vec();
        body.resize(64 << 20, 0);
        let bomb = bzip(&body);
        assert!(bomb.len() < 1 << 12, "{}", bomb.len());
        let err = read_lines(&temp("bomb.bz2", &bomb))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 2: a line of more than 1048576 bytes"),
            "{err}"
        );
    }
}
