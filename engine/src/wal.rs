//! Write-ahead log: numbered segment files of CRC-framed records, with group commit.
//!
//! Record payload: `seq u64 | count u32 | entry*`, wrapped in a frame `len u32 |
//! crc32(len) u32 | crc32(payload) u32 | payload`. Entries are `cell::EntryFormat::Compact`
//! when the count's top bit (`COMPACT_ENTRIES`) is set, `Fixed` otherwise (records written
//! before the compact format existed, still replayed).
//!
//! Invariants:
//! 1. One `Engine::write` call is one record: it is replayed entirely or not at all.
//! 2. A record is acknowledged in `Batch` mode only after an fsync that covers it; one
//!    fsync covers every record appended before it (group commit: the first waiter becomes
//!    the leader, the others wait on the condition variable).
//! 3. A segment is complete and fsynced before the next one is created (rotation), so only
//!    the newest segment can end in a torn record; a damaged record anywhere else, or one
//!    followed by more data, is corruption.
//! 4. Segment `n` holds exactly the writes of memtable `n`; it is deleted only after the
//!    manifest records a WAL floor above `n` (its memtable's array is committed).
//! 5. In `Batch` mode records are written over zero padding kept ahead of them
//!    (`logfile::LogFile`), so the fsync each acknowledgement waits for does not also
//!    commit a new file size; a segment may therefore end in zeros, which replay takes as
//!    its end. `Periodic` mode syncs off the acknowledgement path and does not pad.

use std::sync::{Condvar, Mutex, MutexGuard};

use crate::cell::{encode_entry, EntryFormat};
use crate::codec::{begin_frame, end_frame, put_u32, put_u64, read_frame, Frame, Reader};
use crate::logfile::LogFile;
use crate::{Error, Mutation, Result, Storage, SyncMode};

/// Largest record payload accepted (one write batch).
pub(crate) const MAX_RECORD_BYTES: usize = 256 << 20;
/// Flag in a record's entry count: its entries are in the compact format.
const COMPACT_ENTRIES: u32 = 1 << 31;
/// Zero padding kept ahead of the records in `Batch` mode (see invariant 5).
const BATCH_PAD_CHUNK: u64 = 1 << 20;

pub(crate) fn segment_name(id: u64) -> String {
    format!("{id:010}.wal")
}

fn new_segment_file(id: u64, mode: &SyncMode) -> LogFile {
    let chunk = if matches!(mode, SyncMode::Batch) {
        BATCH_PAD_CHUNK
    } else {
        0
    };
    LogFile::new(segment_name(id), 0, chunk)
}

fn decode_record(payload: &[u8]) -> std::result::Result<(u64, Vec<Mutation>), &'static str> {
    let mut r = Reader::new(payload);
    let seq = r.u64().map_err(|e| e.0)?;
    let count = r.u32().map_err(|e| e.0)?;
    let format = if count & COMPACT_ENTRIES != 0 {
        EntryFormat::Compact
    } else {
        EntryFormat::Fixed
    };
    let n = (count & !COMPACT_ENTRIES) as usize;
    r.check_count(n, format.min_entry_bytes())
        .map_err(|e| e.0)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let key = format.decode_key(&mut r).map_err(|e| e.0)?.to_vec();
        let (version, cell) = format.decode_tail(&mut r).map_err(|e| e.0)?;
        out.push(Mutation { version, key, cell });
    }
    if r.remaining() != 0 {
        return Err("trailing bytes in record");
    }
    Ok((seq, out))
}

/// Replays one segment, calling `apply` per record in order. A torn final record is
/// truncated away (only allowed if `is_newest`). Returns the highest sequence number seen.
pub(crate) fn replay_segment(
    storage: &dyn Storage,
    id: u64,
    is_newest: bool,
    apply: &mut dyn FnMut(Vec<Mutation>) -> Result<()>,
) -> Result<u64> {
    let name = segment_name(id);
    let log = storage.read_all(&name)?;
    let mut pos = 0;
    let mut max_seq = 0;
    loop {
        match read_frame(&log, pos, MAX_RECORD_BYTES) {
            Frame::Record(payload, next) => {
                let (seq, muts) = decode_record(payload)
                    .map_err(|d| Error::corruption(&name, format!("record at {pos}: {d}")))?;
                max_seq = max_seq.max(seq);
                apply(muts)?;
                pos = next;
            }
            Frame::End => return Ok(max_seq),
            Frame::TornTail if is_newest => {
                storage.truncate(&name, pos as u64)?;
                storage.sync(&name)?;
                return Ok(max_seq);
            }
            Frame::TornTail => {
                return Err(Error::corruption(
                    &name,
                    format!("incomplete record at {pos} in a sealed segment"),
                ))
            }
            Frame::Corrupt(d) => {
                return Err(Error::corruption(&name, format!("record at {pos}: {d}")))
            }
        }
    }
}

/// Group-commit state, protected by `Wal::state`. The engine also holds this lock while
/// it inserts the batch into the memtable, so WAL order equals memtable order.
pub(crate) struct WalState {
    /// Segment receiving appends.
    pub segment: u64,
    file: LogFile,
    pending: Vec<u8>,
    next_seq: u64,
    /// Highest sequence number handed out.
    last_seq: u64,
    /// Highest sequence number handed to the OS (appended to the segment file).
    appended_seq: u64,
    /// Highest sequence number known durable.
    synced_seq: u64,
    syncing: bool,
    failed: Option<String>,
}

pub(crate) struct Wal {
    storage: std::sync::Arc<dyn Storage>,
    state: Mutex<WalState>,
    cond: Condvar,
    mode: SyncMode,
}

impl Wal {
    /// Starts a WAL writing to a fresh segment `segment` (created and made durable here).
    pub(crate) fn create(
        storage: std::sync::Arc<dyn Storage>,
        segment: u64,
        next_seq: u64,
        mode: SyncMode,
    ) -> Result<Wal> {
        storage.create(&segment_name(segment))?;
        storage.sync_dir()?;
        let last = next_seq.saturating_sub(1);
        let file = new_segment_file(segment, &mode);
        let state = WalState {
            segment,
            file,
            pending: Vec::new(),
            next_seq,
            last_seq: last,
            appended_seq: last,
            synced_seq: last,
            syncing: false,
            failed: None,
        };
        Ok(Wal {
            storage,
            state: Mutex::new(state),
            cond: Condvar::new(),
            mode,
        })
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, WalState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Encodes the batch as one framed record straight into the pending buffer and returns
    /// its sequence number. Caller holds the lock.
    pub(crate) fn append(st: &mut WalState, mutations: &[Mutation]) -> Result<u64> {
        if let Some(f) = &st.failed {
            return Err(Error::Poisoned(f.clone()));
        }
        let seq = st.next_seq;
        let start = begin_frame(&mut st.pending);
        put_u64(&mut st.pending, seq);
        // The WAL record limit keeps counts far below the flag bit.
        put_u32(
            &mut st.pending,
            crate::codec::len_u32(mutations.len()) | COMPACT_ENTRIES,
        );
        for m in mutations {
            encode_entry(&mut st.pending, &m.key, m.version, &m.cell);
        }
        let payload_len = end_frame(&mut st.pending, start);
        if payload_len > MAX_RECORD_BYTES {
            st.pending.truncate(start);
            return Err(Error::LimitExceeded(format!(
                "write batch of {payload_len} bytes > {MAX_RECORD_BYTES}"
            )));
        }
        st.next_seq += 1;
        st.last_seq = seq;
        Ok(seq)
    }

    /// Waits until `seq` is durable according to the sync mode (group commit). In
    /// `Periodic` mode the record is handed to the OS before returning (it survives a
    /// process kill) and the background thread fsyncs it later.
    pub(crate) fn wait_durable<'a>(
        &'a self,
        mut st: MutexGuard<'a, WalState>,
        seq: u64,
    ) -> Result<()> {
        if let SyncMode::Periodic { .. } = self.mode {
            return self.append_pending(&mut st);
        }
        loop {
            if st.synced_seq >= seq {
                return Ok(());
            }
            if let Some(f) = &st.failed {
                return Err(Error::Poisoned(f.clone()));
            }
            if st.syncing {
                st = self.cond.wait(st).unwrap_or_else(|e| e.into_inner());
            } else {
                st = self.lead_sync(st);
            }
        }
    }

    /// Appends the pending buffer to the current segment. Appends happen only under the
    /// lock, so records reach the file in sequence order.
    fn append_pending(&self, st: &mut WalState) -> Result<()> {
        if let Some(f) = &st.failed {
            return Err(Error::Poisoned(f.clone()));
        }
        if st.pending.is_empty() {
            return Ok(());
        }
        let WalState { file, pending, .. } = &mut *st;
        let res = file.append(&*self.storage, pending);
        st.pending.clear();
        if let Err(e) = res {
            // The file's tail is unknown after a failed append: refuse all further writes
            // rather than acknowledge data that may not be there.
            st.failed = Some(format!("WAL append failed: {e}"));
            self.cond.notify_all();
            return Err(e.into());
        }
        st.appended_seq = st.last_seq;
        Ok(())
    }

    /// Appends everything pending (under the lock), then fsyncs with the lock released so
    /// other writers can queue the next group meanwhile.
    fn lead_sync<'a>(&'a self, mut st: MutexGuard<'a, WalState>) -> MutexGuard<'a, WalState> {
        if self.append_pending(&mut st).is_err() {
            return st;
        }
        st.syncing = true;
        let upto = st.appended_seq;
        let name = st.file.name().to_string();
        drop(st);
        let res = self.storage.sync(&name);
        let mut st = self.lock();
        st.syncing = false;
        match res {
            Ok(()) => st.synced_seq = st.synced_seq.max(upto),
            Err(e) => st.failed = Some(format!("WAL fsync failed: {e}")),
        }
        self.cond.notify_all();
        st
    }

    /// Makes everything appended so far durable (periodic thread, close, rotation).
    pub(crate) fn sync_all(&self) -> Result<()> {
        let st = self.lock();
        let seq = st.last_seq;
        self.wait_all(st, seq).map(|_| ())
    }

    /// Like [`Wal::sync_all`] for a caller that already holds the lock and keeps it.
    pub(crate) fn sync_locked<'a>(
        &'a self,
        st: MutexGuard<'a, WalState>,
    ) -> Result<MutexGuard<'a, WalState>> {
        let seq = st.last_seq;
        self.wait_all(st, seq)
    }

    fn wait_all<'a>(
        &'a self,
        mut st: MutexGuard<'a, WalState>,
        seq: u64,
    ) -> Result<MutexGuard<'a, WalState>> {
        loop {
            if let Some(f) = &st.failed {
                return Err(Error::Poisoned(f.clone()));
            }
            if st.synced_seq >= seq && !st.syncing && st.pending.is_empty() {
                return Ok(st);
            }
            if st.syncing {
                st = self.cond.wait(st).unwrap_or_else(|e| e.into_inner());
            } else {
                st = self.lead_sync(st);
            }
        }
    }

    /// Seals the current segment (durable) and switches appends to `new_segment`.
    pub(crate) fn rotate<'a>(
        &'a self,
        st: MutexGuard<'a, WalState>,
        new_segment: u64,
    ) -> Result<MutexGuard<'a, WalState>> {
        let seq = st.last_seq;
        let mut st = self.wait_all(st, seq)?;
        let res = self
            .storage
            .create(&segment_name(new_segment))
            .and_then(|()| self.storage.sync_dir());
        if let Err(e) = res {
            st.failed = Some(format!("WAL rotation failed: {e}"));
            return Err(e.into());
        }
        st.segment = new_segment;
        st.file = new_segment_file(new_segment, &self.mode);
        Ok(st)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Cell, CrashMode, CrashStorage};
    use std::sync::Arc;

    fn m(key: &str, ts: i64) -> Mutation {
        Mutation {
            version: 1,
            key: key.as_bytes().to_vec(),
            cell: Cell::live(ts, b"v".to_vec()),
        }
    }

    fn replay_all(storage: &dyn Storage, id: u64, newest: bool) -> Result<Vec<Vec<Mutation>>> {
        let mut out = Vec::new();
        replay_segment(storage, id, newest, &mut |muts| {
            out.push(muts);
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn acknowledged_batches_survive_power_loss_and_torn_tails_are_dropped() {
        let storage = Arc::new(CrashStorage::new());
        let wal = Wal::create(storage.clone(), 1, 1, SyncMode::Batch).unwrap();
        for i in 0..5 {
            let mut st = wal.lock();
            let seq = Wal::append(&mut st, &[m(&format!("k{i}"), i), m("x", i)]).unwrap();
            wal.wait_durable(st, seq).unwrap();
        }
        // An unacknowledged record, handed to the OS but not synced: it may get torn.
        let mut st = wal.lock();
        Wal::append(&mut st, &[m("torn", 9)]).unwrap();
        wal.append_pending(&mut st).unwrap();
        drop(st);
        for seed in 0..10 {
            let after = storage.crash(CrashMode::TearUnsynced { seed });
            let got = replay_all(&*after, 1, true).unwrap();
            assert!(
                got.len() == 5 || got.len() == 6,
                "seed {seed}: {}",
                got.len()
            );
            assert!(got.iter().take(5).all(|b| b.len() == 2));
            // The torn tail was cut: a second replay sees the same, cleanly.
            assert_eq!(replay_all(&*after, 1, true).unwrap().len(), got.len());
        }
    }

    #[test]
    fn damage_in_the_middle_is_corruption() {
        let storage = Arc::new(CrashStorage::new());
        let wal = Wal::create(storage.clone(), 1, 1, SyncMode::Batch).unwrap();
        for i in 0..3 {
            let mut st = wal.lock();
            let seq = Wal::append(&mut st, &[m("k", i)]).unwrap();
            wal.wait_durable(st, seq).unwrap();
        }
        assert!(storage.corrupt_byte(&segment_name(1), 20));
        assert!(matches!(
            replay_all(&*storage, 1, true),
            Err(Error::Corruption { .. })
        ));
    }

    #[test]
    fn a_failed_fsync_poisons_the_log() {
        let storage = Arc::new(CrashStorage::new());
        let wal = Wal::create(storage.clone(), 1, 1, SyncMode::Batch).unwrap();
        storage.fail_after(0);
        let mut st = wal.lock();
        let seq = Wal::append(&mut st, &[m("k", 1)]).unwrap();
        assert!(matches!(wal.wait_durable(st, seq), Err(Error::Poisoned(_))));
        storage.stop_failing();
        let mut st = wal.lock();
        assert!(matches!(
            Wal::append(&mut st, &[m("k", 2)]),
            Err(Error::Poisoned(_))
        ));
    }
}
