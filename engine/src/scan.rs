//! Range scans.
use crate::{Cell, Result};

/// Iterator over `(key, resolved cell)` pairs of a scan, one per key, tombstones included.
/// Holds its own snapshot of the memtables and arrays, so flushes and merges running
/// meanwhile do not change what it returns.
pub struct ScanIter {
    _private: (),
}

impl Iterator for ScanIter {
    type Item = Result<(Vec<u8>, Cell)>;
    fn next(&mut self) -> Option<Self::Item> {
        todo!()
    }
}
