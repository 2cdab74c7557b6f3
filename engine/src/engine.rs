//! The engine.
use std::ops::Bound;
use std::path::Path;
use std::sync::Arc;

use crate::{Clock, Error, Mutation, Options, Cell, ScanIter, Stats, Storage, VersionId, VersionInfo};

/// The versioned dictionary. `Send + Sync`: share it through `Arc`.
pub struct Engine {
    _private: (),
}

impl Engine {
    pub fn open_dir(path: impl AsRef<Path>, options: Options, clock: Arc<dyn Clock>) -> Result<Engine, Error> {
        let storage = Arc::new(crate::FileStorage::new(path)?);
        Engine::open(storage, options, clock)
    }
    pub fn open(_storage: Arc<dyn Storage>, _options: Options, _clock: Arc<dyn Clock>) -> Result<Engine, Error> { todo!() }
    pub fn write(&self, _mutations: &[Mutation]) -> Result<(), Error> { todo!() }
    pub fn get(&self, _version: VersionId, _key: &[u8]) -> Result<Option<Cell>, Error> { todo!() }
    pub fn scan(&self, _version: VersionId, _start: Bound<Vec<u8>>, _end: Bound<Vec<u8>>, _reverse: bool) -> Result<ScanIter, Error> { todo!() }
    pub fn snapshot(&self, _version: VersionId) -> Result<VersionId, Error> { todo!() }
    pub fn clone_version(&self, _version: VersionId) -> Result<VersionId, Error> { todo!() }
    pub fn delete_version(&self, _version: VersionId) -> Result<(), Error> { todo!() }
    pub fn writable_head(&self, _version: VersionId) -> Result<VersionId, Error> { todo!() }
    pub fn version_info(&self, _version: VersionId) -> Option<VersionInfo> { todo!() }
    pub fn flush(&self) -> Result<(), Error> { todo!() }
    pub fn compact(&self) -> Result<(), Error> { todo!() }
    pub fn merge_version(&self, _version: VersionId) -> Result<(), Error> { todo!() }
    pub fn exclusive_bytes(&self, _version: VersionId) -> Result<u64, Error> { todo!() }
    pub fn stats(&self) -> Stats { todo!() }
    pub fn close(self) -> Result<(), Error> { todo!() }
}
