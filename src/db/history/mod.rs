//! Histories: many dated databases merged into one file that answers as each of
//! them did at its time (see [`crate::db::versions`] for how values that change
//! are stored once with the snapshots they hold for).
//!
//! - [`build_history`]: dated database files (one-date files or histories) in, one
//!   history out, snapshots ordered by the date of their routing data.
//! - [`time`]: a database's data time, and the snapshot in force at a time.
//! - [`pools`]: the values all snapshots share, each once.
//! - [`snapshot`]: one snapshot's tables read from a view.
//! - [`changes`]: each table over the snapshots, grown one snapshot at a time, and
//!   the cells, timelines and tries made from it.
//! - [`resume`]: a history file's tables and pools read back, to grow further.
//! - [`write`]: the history's sections.
//! - [`queries`]: what only a history answers: a prefix's intervals, and what
//!   changed between two snapshots.

pub mod changes;
pub mod pools;
pub mod queries;
mod resume;
pub mod snapshot;
pub mod time;
mod write;

use super::file::DbError;
use super::provenance::Metadata;
use super::read::{Database, View};
use super::versions::MAX_SNAPSHOTS;
use crate::key::Prefix;
use crate::loaders::Progress;
use changes::Versioned;
use pools::Pools;
use snapshot::Tables;
use std::path::{Path, PathBuf};

pub use queries::{Change, ChangeKind, Interval};
pub use time::{parse_time, snapshot_at};

/// The snapshots as they are added, oldest first: every table over them, and the
/// values they share.
#[derive(Default)]
pub struct HistoryBuilder {
    pools: Pools,
    times: Vec<i64>,
    metas: Vec<Metadata>,
    v4: Versioned<Prefix<u32>>,
    v6: Versioned<Prefix<u128>>,
    rir4: Versioned<Prefix<u32>>,
    rir6: Versioned<Prefix<u128>>,
    rir_asn: Versioned<Prefix<u32>>,
    ases: Versioned<u32>,
}

impl HistoryBuilder {
    /// Add the snapshot `view` reads, taken at `time` (after every one added so
    /// far), with its provenance.
    pub fn add(&mut self, view: &View<'_>, meta: Metadata, time: i64) {
        let s = self.times.len() as u32;
        let t = Tables::read(view, &mut self.pools);
        self.v4.add_lpm(s, t.v4);
        self.v6.add_lpm(s, t.v6);
        self.rir4.add_lpm(s, t.rir4);
        self.rir6.add_lpm(s, t.rir6);
        self.rir_asn.add_lpm(s, t.rir_asn);
        self.ases.add_map(s, t.ases);
        self.times.push(time);
        self.metas.push(meta);
    }
}

impl Database {
    /// The snapshot in force at time `t` (Unix seconds): the newest taken at or
    /// before it; `None` before the first (see [`Database::times`]).
    pub fn snapshot_at(&self, t: i64) -> Option<u32> {
        snapshot_at(self.times(), t)
    }

    /// The view of the snapshot in force at `t`; `None` before the first.
    pub fn view_at_time(&self, t: i64) -> Option<View<'_>> {
        let v = self.view();
        let taken = if v.times.is_empty() {
            self.times()
        } else {
            v.times
        };
        Some(v.at_snapshot(snapshot_at(taken, t)?))
    }
}

/// One snapshot of an input file.
struct Input {
    time: i64,
    date: String,
    path: PathBuf,
    /// Its index in its file (0 for a one-date file).
    snapshot: u32,
    meta: Metadata,
}

/// Merge the snapshots of `inputs` (dated one-date databases, or histories) into
/// one history written atomically to `out`; its metadata. Each one-date file's
/// time is the date of its routing data ([`Metadata::data_time`]); a file without
/// one, or two snapshots of one time, is an error naming the files. `out` may be
/// one of the inputs (adding a snapshot to a history rewrites it).
pub fn build_history(
    out: &Path,
    inputs: &[PathBuf],
    progress: &mut dyn Progress,
) -> Result<Metadata, DbError> {
    let list = snapshots_of(inputs)?;
    let total = list.len() as u64;
    let (mut b, done) = resumed(&list)?;
    let mut open: Option<Database> = None;
    for (n, input) in list.into_iter().enumerate().skip(done) {
        if open.as_ref().is_none_or(|d| d.path() != input.path) {
            open = Some(Database::open(&input.path, true)?);
        }
        let db = open.as_ref().expect("opened above");
        b.add(&db.view_at(input.snapshot), input.meta, input.time);
        if !progress.update(n as u64 + 1, total) {
            return Err(DbError::Io {
                path: out.to_path_buf(),
                error: std::io::ErrorKind::Interrupted.into(),
            });
        }
    }
    drop(open);
    let invalid = |message| DbError::Invalid {
        path: out.to_path_buf(),
        message,
    };
    let (writer, meta) = b.to_writer().map_err(invalid)?;
    writer.write(out)?;
    Ok(meta)
}

/// Where the merge starts: from the tables of a history whose snapshots are the
/// oldest of all (so that adding newer ones to a history reads only them), else
/// from nothing; and how many snapshots that covers.
fn resumed(list: &[Input]) -> Result<(HistoryBuilder, usize), DbError> {
    let Some(first) = list.first() else {
        return Ok((HistoryBuilder::default(), 0));
    };
    let n = list.iter().take_while(|i| i.path == first.path).count();
    let probe = Database::open(&first.path, false)?;
    if !probe.is_history() || probe.snapshots() as usize != n {
        return Ok((HistoryBuilder::default(), 0));
    }
    let db = Database::open(&first.path, true)?;
    Ok((HistoryBuilder::resume(&db), n))
}

/// Every snapshot of the inputs with its time, oldest first (files opened for
/// their metadata only; the merge checks each file whole when it reads it).
fn snapshots_of(inputs: &[PathBuf]) -> Result<Vec<Input>, DbError> {
    let mut list = Vec::new();
    for path in inputs {
        let db = Database::open(path, false)?;
        let invalid = |message: String| DbError::Invalid {
            path: path.clone(),
            message,
        };
        let meta = db.metadata();
        let metas = match db.is_history() {
            true => meta.snapshots.clone(),
            false => vec![meta.clone()],
        };
        if metas.len() != db.snapshots() as usize {
            return Err(invalid(
                "the snapshots' metadata do not match the file's".into(),
            ));
        }
        for (s, m) in metas.into_iter().enumerate() {
            let Some((date, time)) = m.data_time().map(|(d, t)| (d.to_string(), t)) else {
                return Err(invalid(
                    "no date: none of its prefix sources has one, and a history orders its \
                     snapshots by the date of their routing data"
                        .into(),
                ));
            };
            list.push(Input {
                time,
                date,
                path: path.clone(),
                snapshot: s as u32,
                meta: m,
            });
        }
    }
    if list.len() > MAX_SNAPSHOTS as usize {
        return Err(DbError::Invalid {
            path: inputs.last().cloned().unwrap_or_default(),
            message: format!(
                "{} snapshots: a history holds at most {MAX_SNAPSHOTS}",
                list.len()
            ),
        });
    }
    list.sort_by_key(|i| i.time);
    if let Some(w) = list.windows(2).find(|w| w[0].time == w[1].time) {
        return Err(DbError::Invalid {
            path: w[1].path.clone(),
            message: format!(
                "its data is of {}, as is that of {}: a history has one snapshot per time",
                w[1].date,
                w[0].path.display()
            ),
        });
    }
    Ok(list)
}

#[cfg(test)]
mod tests;
