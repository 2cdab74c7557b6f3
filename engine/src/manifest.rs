//! The manifest: an append-only, CRC-framed log of version-tree changes and array-set
//! edits, replayed at open and compacted (rewritten) when it grows.
//!
//! File `MANIFEST-<n>`; the highest `n` is current. Records (frame payloads):
//! - `1 | kind u8 | a u32 | b u32` — version op (0 snapshot a→b, 1 clone a→b, 2 delete a)
//! - `2 | n_add u32 | (array_id u64, level u32)* | n_remove u32 | array_id u64* | wal_floor u64`
//!   — array-set edit; `wal_floor` 0 means unchanged.
//!
//! Invariants:
//! 1. A change is in effect once its record is fsynced; the in-memory state is updated
//!    only after that. One edit is atomic (a merge's inputs and outputs swap together).
//! 2. An array is named by the manifest only after its file is durable (renamed + dir synced).
//! 3. A compacted manifest is written as a tmp file, fsynced and renamed, then the dir is
//!    synced, so `MANIFEST-<n+1>` is complete whenever it exists; older ones are then removed.
//! 4. Only the last record may be torn (truncated at open); any other damage is corruption.
//! 5. After a failed append the manifest refuses further commits (its tail is unknown).

use std::collections::BTreeMap;

use crate::codec::{put_frame, put_u32, put_u64, put_u8, read_frame, Frame, Reader};
use crate::logfile::LogFile;
use crate::version::{VersionOp, VersionTree};
use crate::{Error, Result, Storage};

const PREFIX: &str = "MANIFEST-";
const MAX_MANIFEST_RECORD: usize = 64 << 20;

fn manifest_name(n: u64) -> String {
    format!("{PREFIX}{n:010}")
}

/// An array-set change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Edit {
    pub add: Vec<(u64, u32)>,
    pub remove: Vec<u64>,
    /// WAL segments below this id are obsolete (0 = unchanged).
    pub wal_floor: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Record {
    Version(VersionOp),
    Edit(Edit),
}

impl Record {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        match self {
            Record::Version(op) => {
                put_u8(&mut out, 1);
                let (kind, a, b) = match *op {
                    VersionOp::Snapshot { of, new } => (0, of, new),
                    VersionOp::Clone { of, new } => (1, of, new),
                    VersionOp::Delete { version } => (2, version, 0),
                };
                put_u8(&mut out, kind);
                put_u32(&mut out, a);
                put_u32(&mut out, b);
            }
            Record::Edit(e) => {
                put_u8(&mut out, 2);
                put_u32(&mut out, crate::codec::len_u32(e.add.len()));
                for (id, level) in &e.add {
                    put_u64(&mut out, *id);
                    put_u32(&mut out, *level);
                }
                put_u32(&mut out, crate::codec::len_u32(e.remove.len()));
                for id in &e.remove {
                    put_u64(&mut out, *id);
                }
                put_u64(&mut out, e.wal_floor);
            }
        }
        out
    }

    fn decode(buf: &[u8]) -> std::result::Result<Record, &'static str> {
        let mut r = Reader::new(buf);
        let rec = match r.u8().map_err(|e| e.0)? {
            1 => {
                let (kind, a, b) = (
                    r.u8().map_err(|e| e.0)?,
                    r.u32().map_err(|e| e.0)?,
                    r.u32().map_err(|e| e.0)?,
                );
                Record::Version(match kind {
                    0 => VersionOp::Snapshot { of: a, new: b },
                    1 => VersionOp::Clone { of: a, new: b },
                    2 => VersionOp::Delete { version: a },
                    _ => return Err("unknown version op"),
                })
            }
            2 => {
                let n = r.count(12).map_err(|e| e.0)?;
                let mut add = Vec::with_capacity(n);
                for _ in 0..n {
                    add.push((r.u64().map_err(|e| e.0)?, r.u32().map_err(|e| e.0)?));
                }
                let n = r.count(8).map_err(|e| e.0)?;
                let mut remove = Vec::with_capacity(n);
                for _ in 0..n {
                    remove.push(r.u64().map_err(|e| e.0)?);
                }
                Record::Edit(Edit {
                    add,
                    remove,
                    wal_floor: r.u64().map_err(|e| e.0)?,
                })
            }
            _ => return Err("unknown record type"),
        };
        if r.remaining() != 0 {
            return Err("trailing bytes in record");
        }
        Ok(rec)
    }
}

/// What the manifest describes.
#[derive(Clone, Debug, Default)]
pub(crate) struct ManifestState {
    pub tree: VersionTree,
    /// Live arrays: id -> level.
    pub arrays: BTreeMap<u64, u32>,
    pub wal_floor: u64,
}

impl ManifestState {
    pub(crate) fn apply(&mut self, rec: &Record) -> Result<()> {
        match rec {
            Record::Version(op) => self.tree.apply(*op),
            Record::Edit(e) => {
                for id in &e.remove {
                    self.arrays.remove(id);
                }
                for (id, level) in &e.add {
                    self.arrays.insert(*id, *level);
                }
                if e.wal_floor != 0 {
                    self.wal_floor = self.wal_floor.max(e.wal_floor);
                }
                Ok(())
            }
        }
    }

    fn snapshot_records(&self) -> Vec<Record> {
        let mut out: Vec<Record> = self
            .tree
            .rebuild_ops()
            .into_iter()
            .map(Record::Version)
            .collect();
        out.push(Record::Edit(Edit {
            add: self.arrays.iter().map(|(&id, &l)| (id, l)).collect(),
            remove: Vec::new(),
            wal_floor: self.wal_floor,
        }));
        out
    }
}

pub(crate) struct Manifest {
    storage: std::sync::Arc<dyn Storage>,
    number: u64,
    file: LogFile,
    failed: Option<String>,
}

/// Zero padding kept ahead of the records, so a commit's fsync does not also commit a new
/// file size (see `logfile`).
const PAD_CHUNK: u64 = 64 << 10;

impl Manifest {
    /// Opens the newest manifest (creating one in an empty directory) and replays it.
    pub(crate) fn open(storage: std::sync::Arc<dyn Storage>) -> Result<(Manifest, ManifestState)> {
        let mut numbers: Vec<u64> = storage
            .list()?
            .iter()
            .filter_map(|n| n.strip_prefix(PREFIX))
            .filter_map(|n| n.parse().ok())
            .collect();
        numbers.sort_unstable();
        let Some(&newest) = numbers.last() else {
            let state = ManifestState::default();
            let m = Manifest::write_new(storage, 1, &state)?;
            return Ok((m, state));
        };
        for &old in numbers.iter().filter(|&&n| n != newest) {
            storage.remove(&manifest_name(old))?;
        }
        let name = manifest_name(newest);
        let log = storage.read_all(&name)?;
        let mut state = ManifestState::default();
        let mut pos = 0;
        loop {
            match read_frame(&log, pos, MAX_MANIFEST_RECORD) {
                Frame::Record(payload, next) => {
                    let rec = Record::decode(payload)
                        .map_err(|d| Error::corruption(&name, format!("record at {pos}: {d}")))?;
                    state.apply(&rec).map_err(|e| {
                        Error::corruption(&name, format!("record at {pos} does not apply: {e}"))
                    })?;
                    pos = next;
                }
                Frame::End => break,
                Frame::TornTail => {
                    storage.truncate(&name, pos as u64)?;
                    storage.sync(&name)?;
                    break;
                }
                Frame::Corrupt(d) => {
                    return Err(Error::corruption(&name, format!("record at {pos}: {d}")))
                }
            }
        }
        let file = LogFile::new(name, pos as u64, PAD_CHUNK);
        Ok((
            Manifest {
                storage,
                number: newest,
                file,
                failed: None,
            },
            state,
        ))
    }

    fn write_new(
        storage: std::sync::Arc<dyn Storage>,
        number: u64,
        state: &ManifestState,
    ) -> Result<Manifest> {
        let mut buf = Vec::new();
        for rec in state.snapshot_records() {
            put_frame(&mut buf, &rec.encode());
        }
        let tmp = format!("{}.tmp", manifest_name(number));
        storage.create(&tmp)?;
        storage.append(&tmp, &buf)?;
        storage.sync(&tmp)?;
        storage.rename(&tmp, &manifest_name(number))?;
        storage.sync_dir()?;
        let file = LogFile::new(manifest_name(number), buf.len() as u64, PAD_CHUNK);
        Ok(Manifest {
            storage,
            number,
            file,
            failed: None,
        })
    }

    /// Appends and fsyncs one record.
    pub(crate) fn commit(&mut self, rec: &Record) -> Result<()> {
        if let Some(f) = &self.failed {
            return Err(Error::Poisoned(f.clone()));
        }
        let mut buf = Vec::new();
        put_frame(&mut buf, &rec.encode());
        let written = self
            .file
            .append(&*self.storage, &buf)
            .and_then(|()| self.storage.sync(self.file.name()));
        if let Err(e) = written {
            self.failed = Some(format!("manifest write failed: {e}"));
            return Err(e.into());
        }
        Ok(())
    }

    /// Rewrites the manifest from `state` if it has grown past `threshold` bytes.
    pub(crate) fn maybe_compact(&mut self, state: &ManifestState, threshold: u64) -> Result<()> {
        if self.file.end() < threshold || self.failed.is_some() {
            return Ok(());
        }
        let old = manifest_name(self.number);
        let new = Manifest::write_new(self.storage.clone(), self.number + 1, state)?;
        *self = new;
        // A leftover old manifest is harmless: open() uses the newest and removes the rest.
        let _ = self.storage.remove(&old);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CrashMode, CrashStorage};
    use std::sync::Arc;

    #[test]
    fn records_survive_reopen_and_compaction() {
        let storage = Arc::new(CrashStorage::new());
        let (mut m, mut state) = Manifest::open(storage.clone()).unwrap();
        let recs = [
            Record::Version(VersionOp::Clone { of: 0, new: 1 }),
            Record::Edit(Edit {
                add: vec![(5, 0), (6, 1)],
                remove: vec![],
                wal_floor: 3,
            }),
            Record::Edit(Edit {
                add: vec![(7, 1)],
                remove: vec![5],
                wal_floor: 0,
            }),
            Record::Version(VersionOp::Snapshot { of: 1, new: 2 }),
        ];
        for r in &recs {
            m.commit(r).unwrap();
            state.apply(r).unwrap();
        }
        let after = storage.crash(CrashMode::DropUnsynced);
        let (mut m2, s2) = Manifest::open(after.clone()).unwrap();
        assert_eq!(s2.arrays, state.arrays);
        assert_eq!(s2.wal_floor, 3);
        assert_eq!(s2.tree.info(2), state.tree.info(2));
        m2.maybe_compact(&s2, 0).unwrap();
        let again = after.crash(CrashMode::DropUnsynced);
        let (_, s3) = Manifest::open(again.clone()).unwrap();
        assert_eq!(s3.arrays, state.arrays);
        assert_eq!(s3.tree.info(1), state.tree.info(1));
        assert_eq!(again.list().unwrap().len(), 1);
    }

    #[test]
    fn a_torn_last_record_is_dropped_but_middle_damage_is_corruption() {
        let storage = Arc::new(CrashStorage::new());
        let (mut m, _) = Manifest::open(storage.clone()).unwrap();
        m.commit(&Record::Version(VersionOp::Clone { of: 0, new: 1 }))
            .unwrap();
        m.commit(&Record::Version(VersionOp::Snapshot { of: 1, new: 2 }))
            .unwrap();
        let name = manifest_name(1);
        let end = m.file.end();
        // Torn at the end of the file, and torn over the zero padding.
        let truncated = storage.crash(CrashMode::KeepAll);
        truncated.truncate(&name, end - 3).unwrap();
        let zeroed = storage.crash(CrashMode::KeepAll);
        zeroed.write_at(&name, end - 10, &[0; 10]).unwrap();
        for torn in [truncated, zeroed] {
            let (_, s) = Manifest::open(torn).unwrap();
            assert!(s.tree.info(1).is_some() && s.tree.info(2).is_none());
        }
        let bad = storage.crash(CrashMode::KeepAll);
        bad.corrupt_byte(&name, 14);
        assert!(matches!(Manifest::open(bad), Err(Error::Corruption { .. })));
    }
}
