//! The three engines behind one small trait, each configured as the module docs of `main.rs`
//! describe (same durability, no compression, same cache and memtable budgets).

use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use anyhow::{anyhow, Result};
use strata_engine::{Cell, DiskAccessMode, Engine, Mutation, Options, SyncMode, SystemClock, VersionId, ROOT_VERSION};

/// What every scenario needs from an engine.
pub trait KvEngine {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()>;
    /// True if the key exists.
    fn get(&self, key: &[u8]) -> Result<bool>;
    /// Reads up to `count` consecutive entries from `start`; returns how many it read.
    fn scan(&self, start: &[u8], count: usize) -> Result<usize>;
    /// Takes a snapshot and keeps it alive until the engine is dropped.
    fn snapshot(&mut self) -> Result<()>;
    /// Makes everything written so far durable (memtables to files, fsync).
    fn flush(&mut self) -> Result<()>;
    /// Full compaction, so space figures do not depend on background timing.
    fn compact(&mut self) -> Result<()>;
}

#[cfg_attr(not(feature = "lmdb"), allow(unused_variables))]
pub fn open(name: &str, dir: &Path, map_bytes: u64) -> Result<Box<dyn KvEngine>> {
    match name {
        "strata" => Ok(Box::new(StrataKv::open(dir, strata_options(true))?)),
        // Strata's default reads mapped arrays; this one reads them with pread + block cache.
        "strata-standard" => {
            let mut options = strata_options(true);
            options.disk_access_mode = DiskAccessMode::Standard;
            Ok(Box::new(StrataKv::open(dir, options)?))
        }
        #[cfg(feature = "rocksdb")]
        "rocksdb" => Ok(Box::new(RocksKv::open(dir)?)),
        #[cfg(feature = "lmdb")]
        "lmdb" => Ok(Box::new(LmdbKv::open(dir, map_bytes)?)),
        other => Err(anyhow!("unknown engine {other:?} (rocksdb and lmdb need the features of the same name)")),
    }
}

/// Strata's defaults with periodic WAL sync; `version_split` as given.
pub fn strata_options(version_split: bool) -> Options {
    let mut options = Options::default();
    options.sync = SyncMode::Periodic { interval_ms: 1000 };
    options.version_split = version_split;
    options
}

/// Timestamps must grow so later writes win; a counter is enough for a single writer.
fn next_timestamp(counter: &mut i64) -> i64 {
    *counter += 1;
    *counter
}

// ------------------------------------------------------------------------------------------
// Strata
// ------------------------------------------------------------------------------------------

pub struct StrataKv {
    pub engine: Engine,
    /// The writable head: the table, or the newest snapshot's child.
    pub head: VersionId,
    timestamp: i64,
}

impl StrataKv {
    pub fn open(dir: &Path, options: Options) -> Result<StrataKv> {
        let engine = Engine::open_dir(dir, options, Arc::new(SystemClock))?;
        let head = engine.clone_version(ROOT_VERSION)?;
        Ok(StrataKv { engine, head, timestamp: 0 })
    }

    pub fn put_at(&mut self, version: VersionId, key: &[u8], value: &[u8]) -> Result<()> {
        let cell = Cell::live(next_timestamp(&mut self.timestamp), value.to_vec());
        self.engine.write(&[Mutation { version, key: key.to_vec(), cell }])?;
        Ok(())
    }

    pub fn scan_at(&self, version: VersionId, start: &[u8], count: usize) -> Result<usize> {
        let iter = self.engine.scan(version, Bound::Included(start.to_vec()), Bound::Unbounded, false)?;
        let mut read = 0;
        for item in iter.take(count) {
            item?;
            read += 1;
        }
        Ok(read)
    }
}

impl KvEngine for StrataKv {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        self.put_at(self.head, key, value)
    }
    fn get(&self, key: &[u8]) -> Result<bool> {
        Ok(self.engine.get(self.head, key)?.is_some())
    }
    fn scan(&self, start: &[u8], count: usize) -> Result<usize> {
        self.scan_at(self.head, start, count)
    }
    fn snapshot(&mut self) -> Result<()> {
        self.head = self.engine.snapshot(self.head)?;
        Ok(())
    }
    fn flush(&mut self) -> Result<()> {
        Ok(self.engine.flush()?)
    }
    fn compact(&mut self) -> Result<()> {
        Ok(self.engine.compact()?)
    }
}

// ------------------------------------------------------------------------------------------
// RocksDB
// ------------------------------------------------------------------------------------------

#[cfg(feature = "rocksdb")]
pub struct RocksKv {
    /// Leaked so snapshots (which borrow the DB) can live beside it; a child process runs one
    /// engine and exits, so the leak is bounded by the process.
    db: &'static rocksdb::DB,
    write_options: rocksdb::WriteOptions,
    snapshots: Vec<rocksdb::Snapshot<'static>>,
}

#[cfg(feature = "rocksdb")]
impl RocksKv {
    fn open(dir: &Path) -> Result<RocksKv> {
        let strata = Options::default();
        let mut table = rocksdb::BlockBasedOptions::default();
        table.set_block_cache(&rocksdb::Cache::new_lru_cache(strata.block_cache_bytes));
        table.set_block_size(strata.block_bytes);
        table.set_bloom_filter(f64::from(strata.bloom_bits_per_key), false);
        let mut options = rocksdb::Options::default();
        options.create_if_missing(true);
        options.set_compression_type(rocksdb::DBCompressionType::None);
        options.set_write_buffer_size(strata.memtable_bytes);
        options.set_block_based_table_factory(&table);
        let db = Box::leak(Box::new(rocksdb::DB::open(&options, dir)?));
        let mut write_options = rocksdb::WriteOptions::default();
        write_options.set_sync(false);
        write_options.disable_wal(false);
        Ok(RocksKv { db, write_options, snapshots: Vec::new() })
    }
}

#[cfg(feature = "rocksdb")]
impl KvEngine for RocksKv {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        Ok(self.db.put_opt(key, value, &self.write_options)?)
    }
    fn get(&self, key: &[u8]) -> Result<bool> {
        Ok(self.db.get_pinned(key)?.is_some())
    }
    fn scan(&self, start: &[u8], count: usize) -> Result<usize> {
        let mut iter = self.db.raw_iterator();
        iter.seek(start);
        let mut read = 0;
        while read < count && iter.valid() {
            std::hint::black_box((iter.key(), iter.value()));
            read += 1;
            iter.next();
        }
        iter.status()?;
        Ok(read)
    }
    fn snapshot(&mut self) -> Result<()> {
        self.snapshots.push(self.db.snapshot());
        Ok(())
    }
    fn flush(&mut self) -> Result<()> {
        self.db.flush()?;
        Ok(self.db.flush_wal(true)?)
    }
    fn compact(&mut self) -> Result<()> {
        self.db.compact_range::<&[u8], &[u8]>(None, None);
        Ok(())
    }
}

// ------------------------------------------------------------------------------------------
// LMDB
// ------------------------------------------------------------------------------------------

#[cfg(feature = "lmdb")]
type LmdbDb = heed::Database<'static, heed::types::Bytes, heed::types::Bytes>;

#[cfg(feature = "lmdb")]
pub struct LmdbKv {
    /// Leaked for the same reason as `RocksKv::db`: read transactions (LMDB's snapshots) borrow it.
    env: &'static heed::Env<heed::WithoutTls>,
    db: LmdbDb,
    snapshots: Vec<heed::RoTxn<'static, heed::WithoutTls>>,
}

#[cfg(feature = "lmdb")]
impl LmdbKv {
    fn open(dir: &Path, map_bytes: u64) -> Result<LmdbKv> {
        std::fs::create_dir_all(dir)?;
        let mut options = heed::EnvOpenOptions::new().read_txn_without_tls();
        // Snapshots are open read transactions: room for the 140 the snapshot scenario holds.
        options.map_size(usize::try_from(map_bytes)?).max_dbs(1).max_readers(512);
        // SAFETY: NO_SYNC only drops the fsync at commit (the benchmark's durability level);
        // the directory is used by this process alone.
        let env = unsafe {
            options.flags(heed::EnvFlags::NO_SYNC);
            options.open(dir)?
        };
        let env = Box::leak(Box::new(env));
        let txn = env.write_txn()?;
        let db: LmdbDb = env
            .create_databases_and_commit(txn, |opener, txn| -> heed::Result<_> {
                let db = opener.create_database::<heed::types::Bytes, heed::types::Bytes>(txn, None)?;
                Ok(heed::CommitOrAbort::<_, ()>::Commit(db))
            })?
            .unwrap_commit();
        Ok(LmdbKv { env, db, snapshots: Vec::new() })
    }
}

#[cfg(feature = "lmdb")]
impl KvEngine for LmdbKv {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<()> {
        let mut txn = self.env.write_txn()?;
        self.db.put(&mut txn, key, value)?;
        Ok(txn.commit()?)
    }
    fn get(&self, key: &[u8]) -> Result<bool> {
        let txn = self.env.read_txn()?;
        Ok(self.db.get(&txn, key)?.is_some())
    }
    fn scan(&self, start: &[u8], count: usize) -> Result<usize> {
        let txn = self.env.read_txn()?;
        let range = (Bound::Included(start), Bound::Unbounded);
        let mut read = 0;
        for item in self.db.range(&txn, &range)?.take(count) {
            std::hint::black_box(item?);
            read += 1;
        }
        Ok(read)
    }
    fn snapshot(&mut self) -> Result<()> {
        self.snapshots.push(self.env.read_txn()?);
        Ok(())
    }
    fn flush(&mut self) -> Result<()> {
        Ok(self.env.force_sync()?)
    }
    fn compact(&mut self) -> Result<()> {
        Ok(()) // a B+tree: nothing to compact
    }
}
