//! The metadata log's log and vote storage: one append-only file under the node's data
//! directory (`<data_dir>/metadata/log`), fsynced before openraft is told an append or a
//! vote is durable.
//!
//! Invariants:
//! - Every state change is one framed record (`len u32 | fnv64 u64 | postcard`) appended
//!   and fsynced before the call returns (or the flush callback fires); a torn or corrupt
//!   tail left by a crash is cut at open, so only whole records count. A record is written
//!   only after the previous one is durable, so a cut tail loses nothing openraft was told
//!   is persisted.
//! - The in-memory state (`vote`, `entries`, `last_purged`) is exactly the replay of the
//!   file. When the file holds many more records than live entries it is rewritten
//!   (temporary file, fsync, rename, directory fsync), never edited in place.
//! - The committed log id is recorded without fsync: openraft does not require it to be
//!   durable (it only speeds up applying after a restart).

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::ops::RangeBounds;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use openraft::storage::{LogFlushed, RaftLogStorage};
use openraft::{
    Entry, LogId, LogState, OptionalSend, RaftLogReader, StorageError, StorageIOError, Vote,
};
use serde::{Deserialize, Serialize};

use super::{NodeId, TypeConfig};

const LOG_FILE: &str = "log";
const HEADER_LEN: usize = 12;
/// Rewrite the file when it holds this many records more than there are live entries.
const REWRITE_SLACK: usize = 1024;

#[derive(Serialize, Deserialize)]
enum Record {
    Vote(Vote<NodeId>),
    Committed(Option<LogId<NodeId>>),
    Append(Vec<Entry<TypeConfig>>),
    /// Deletes the entries from this index on (a leader overwrote them).
    Truncate(u64),
    /// Deletes the entries up to this log id (covered by a snapshot).
    Purge(LogId<NodeId>),
}

#[derive(Default)]
struct State {
    vote: Option<Vote<NodeId>>,
    committed: Option<LogId<NodeId>>,
    last_purged: Option<LogId<NodeId>>,
    entries: BTreeMap<u64, Entry<TypeConfig>>,
}

impl State {
    fn replay(&mut self, record: Record) {
        match record {
            Record::Vote(vote) => self.vote = Some(vote),
            Record::Committed(committed) => self.committed = committed,
            Record::Append(entries) => {
                for entry in entries {
                    self.entries.insert(entry.log_id.index, entry);
                }
            }
            Record::Truncate(index) => {
                self.entries.split_off(&index);
            }
            Record::Purge(log_id) => {
                self.entries = self.entries.split_off(&(log_id.index + 1));
                self.last_purged = Some(log_id);
            }
        }
    }
}

struct Inner {
    dir: PathBuf,
    file: File,
    records: usize,
    state: State,
}

/// The log store; clones share one file (openraft reads through a clone).
#[derive(Clone)]
pub struct LogStore {
    inner: Arc<Mutex<Inner>>,
}

fn io_error(e: impl std::fmt::Display) -> StorageError<NodeId> {
    StorageIOError::write_logs(&std::io::Error::other(e.to_string())).into()
}

fn checksum(bytes: &[u8]) -> u64 {
    // FNV-1a: enough to tell a torn write from a whole record.
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn frame(record: &Record) -> std::io::Result<Vec<u8>> {
    let body = postcard::to_stdvec(record).map_err(std::io::Error::other)?;
    let len = u32::try_from(body.len()).map_err(std::io::Error::other)?;
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&checksum(&body).to_le_bytes());
    out.extend_from_slice(&body);
    Ok(out)
}

/// The whole records at the start of `bytes`, and the length they cover.
fn parse(bytes: &[u8]) -> (Vec<Record>, usize) {
    let mut records = Vec::new();
    let mut offset = 0;
    while let Some(header) = bytes.get(offset..offset + HEADER_LEN) {
        let mut len = [0u8; 4];
        let mut sum = [0u8; 8];
        len.copy_from_slice(header.get(..4).unwrap_or(&[0; 4]));
        sum.copy_from_slice(header.get(4..).unwrap_or(&[0; 8]));
        let len = u32::from_le_bytes(len) as usize;
        let start = offset + HEADER_LEN;
        let Some(body) = bytes.get(start..start + len) else {
            break;
        };
        if checksum(body) != u64::from_le_bytes(sum) {
            break;
        }
        let Ok(record) = postcard::from_bytes::<Record>(body) else {
            break;
        };
        records.push(record);
        offset = start + len;
    }
    (records, offset)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

impl LogStore {
    /// Opens (or creates) the log under `dir`, cutting a torn tail.
    pub fn open(dir: &Path) -> std::io::Result<LogStore> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(LOG_FILE);
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .append(true)
            .open(&path)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)?;
        let (records, good) = parse(&bytes);
        if good < bytes.len() {
            tracing::warn!(
                path = %path.display(),
                cut = bytes.len() - good,
                "metadata log: cutting a torn tail"
            );
            file.set_len(good as u64)?;
            file.sync_all()?;
        }
        sync_dir(dir)?;
        let mut state = State::default();
        let count = records.len();
        for record in records {
            state.replay(record);
        }
        Ok(LogStore {
            inner: Arc::new(Mutex::new(Inner {
                dir: dir.to_path_buf(),
                file,
                records: count,
                state,
            })),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends `record` (fsynced when `sync`) and applies it to the in-memory state.
    fn write(&self, record: Record, sync: bool) -> Result<(), StorageError<NodeId>> {
        let mut inner = self.lock();
        let bytes = frame(&record).map_err(io_error)?;
        inner.file.write_all(&bytes).map_err(io_error)?;
        if sync {
            inner.file.sync_data().map_err(io_error)?;
        }
        inner.records += 1;
        inner.state.replay(record);
        if inner.records > inner.state.entries.len() + REWRITE_SLACK {
            inner.rewrite().map_err(io_error)?;
        }
        Ok(())
    }
}

impl Inner {
    /// Replaces the file by the minimal records that replay to the same state.
    fn rewrite(&mut self) -> std::io::Result<()> {
        let mut records = Vec::new();
        if let Some(vote) = self.state.vote {
            records.push(Record::Vote(vote));
        }
        if let Some(purged) = self.state.last_purged {
            records.push(Record::Purge(purged));
        }
        records.push(Record::Committed(self.state.committed));
        records.push(Record::Append(
            self.state.entries.values().cloned().collect(),
        ));
        let temporary = self.dir.join(format!("{LOG_FILE}.tmp"));
        let mut out = File::create(&temporary)?;
        for record in &records {
            out.write_all(&frame(record)?)?;
        }
        out.sync_all()?;
        let path = self.dir.join(LOG_FILE);
        std::fs::rename(&temporary, &path)?;
        sync_dir(&self.dir)?;
        self.file = OpenOptions::new().read(true).append(true).open(&path)?;
        self.records = records.len();
        Ok(())
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<TypeConfig>>, StorageError<NodeId>> {
        Ok(self
            .lock()
            .state
            .entries
            .range(range)
            .map(|(_, entry)| entry.clone())
            .collect())
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError<NodeId>> {
        let inner = self.lock();
        let last_purged_log_id = inner.state.last_purged;
        let last_log_id = inner
            .state
            .entries
            .values()
            .next_back()
            .map(|e| e.log_id)
            .or(last_purged_log_id);
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<NodeId>) -> Result<(), StorageError<NodeId>> {
        self.write(Record::Vote(*vote), true)
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<NodeId>>, StorageError<NodeId>> {
        Ok(self.lock().state.vote)
    }

    async fn save_committed(
        &mut self,
        committed: Option<LogId<NodeId>>,
    ) -> Result<(), StorageError<NodeId>> {
        self.write(Record::Committed(committed), false)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<NodeId>>, StorageError<NodeId>> {
        Ok(self.lock().state.committed)
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError<NodeId>>
    where
        I: IntoIterator<Item = Entry<TypeConfig>> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let entries: Vec<_> = entries.into_iter().collect();
        let result = self.write(Record::Append(entries), true);
        callback.log_io_completed(
            result
                .as_ref()
                .map(|_| ())
                .map_err(|e| std::io::Error::other(e.to_string())),
        );
        result
    }

    async fn truncate(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        self.write(Record::Truncate(log_id.index), true)
    }

    async fn purge(&mut self, log_id: LogId<NodeId>) -> Result<(), StorageError<NodeId>> {
        self.write(Record::Purge(log_id), true)
    }
}

#[cfg(test)]
mod tests {
    use openraft::{CommittedLeaderId, EntryPayload};

    use super::*;
    use crate::test_dir::TempDir;

    fn blank(term: u64, index: u64) -> Entry<TypeConfig> {
        Entry {
            log_id: LogId::new(CommittedLeaderId::new(term, 1), index),
            payload: EntryPayload::Blank,
        }
    }

    fn indexes(store: &LogStore) -> Vec<u64> {
        store.lock().state.entries.keys().copied().collect()
    }

    #[tokio::test]
    async fn reopening_replays_votes_appends_truncations_and_purges() {
        let temp = TempDir::new("metadata-log");
        let dir = temp.path().to_path_buf();
        let mut store = LogStore::open(&dir).unwrap();
        store.save_vote(&Vote::new(3, 7)).await.unwrap();
        store
            .write(Record::Append((1..=5).map(|i| blank(1, i)).collect()), true)
            .unwrap();
        store
            .truncate(LogId::new(CommittedLeaderId::new(1, 1), 4))
            .await
            .unwrap();
        store
            .purge(LogId::new(CommittedLeaderId::new(1, 1), 1))
            .await
            .unwrap();
        drop(store);
        let mut store = LogStore::open(&dir).unwrap();
        assert_eq!(store.read_vote().await.unwrap(), Some(Vote::new(3, 7)));
        assert_eq!(indexes(&store), vec![2, 3]);
        let state = store.get_log_state().await.unwrap();
        assert_eq!(state.last_purged_log_id.map(|l| l.index), Some(1));
        assert_eq!(state.last_log_id.map(|l| l.index), Some(3));
    }

    #[tokio::test]
    async fn a_torn_tail_is_cut_and_later_appends_survive() {
        let temp = TempDir::new("metadata-log-torn");
        let dir = temp.path().to_path_buf();
        let store = LogStore::open(&dir).unwrap();
        store
            .write(Record::Append(vec![blank(1, 1)]), true)
            .unwrap();
        drop(store);
        // A crash in the middle of the next record: half a frame at the end.
        let torn = frame(&Record::Append(vec![blank(1, 2)])).unwrap();
        let mut file = OpenOptions::new()
            .append(true)
            .open(dir.join(LOG_FILE))
            .unwrap();
        file.write_all(&torn[..torn.len() / 2]).unwrap();
        drop(file);
        let store = LogStore::open(&dir).unwrap();
        assert_eq!(indexes(&store), vec![1]);
        store
            .write(Record::Append(vec![blank(1, 2)]), true)
            .unwrap();
        drop(store);
        assert_eq!(indexes(&LogStore::open(&dir).unwrap()), vec![1, 2]);
    }

    #[tokio::test]
    async fn rewriting_keeps_the_same_state() {
        let temp = TempDir::new("metadata-log-rewrite");
        let dir = temp.path().to_path_buf();
        let mut store = LogStore::open(&dir).unwrap();
        for term in 1..=(REWRITE_SLACK as u64 + 10) {
            store.save_vote(&Vote::new(term, 1)).await.unwrap();
        }
        store
            .write(Record::Append(vec![blank(2, 1)]), true)
            .unwrap();
        assert!(store.lock().records < REWRITE_SLACK);
        drop(store);
        let mut store = LogStore::open(&dir).unwrap();
        assert_eq!(
            store.read_vote().await.unwrap(),
            Some(Vote::new(REWRITE_SLACK as u64 + 10, 1))
        );
        assert_eq!(indexes(&store), vec![1]);
    }
}
