//! Range scans and the k-way merge by key shared with merges.
//!
//! Invariants:
//! 1. A scan works on the view captured when it was created: the memtables and arrays it
//!    holds (`Arc`s) are never changed by flushes or merges (frozen memtables and arrays are
//!    immutable; obsolete array files are removed only after the last holder drops them).
//!    The *active* memtable may still receive writes: a scan reads it in batches of keys
//!    and can see writes made after it started (read-committed, like Cassandra), but it
//!    never loses or repeats a key because of a concurrent flush.
//! 2. Sources yield entries in key order (descending for reverse scans); `KeyMerger`
//!    gathers all entries of the next key from every source before it moves on.

use std::collections::VecDeque;
use std::ops::Bound;
use std::sync::Arc;

use crate::array::{ArrayCursor, Entry};
use crate::engine::View;
use crate::memtable::Memtable;
use crate::{Cell, Result, VersionId};

/// Keys fetched from a memtable per read-lock acquisition.
const MEMTABLE_BATCH_KEYS: usize = 256;

/// A source of entries in key order.
pub(crate) trait EntrySource: Send {
    fn next_entry(&mut self) -> Result<Option<Entry>>;
}

impl EntrySource for ArrayCursor {
    fn next_entry(&mut self) -> Result<Option<Entry>> {
        ArrayCursor::next_entry(self)
    }
}

/// Merges sources by key: each call returns the next key and all its entries.
pub(crate) struct KeyMerger {
    sources: Vec<Box<dyn EntrySource>>,
    heads: Vec<Option<Entry>>,
    reverse: bool,
}

impl KeyMerger {
    pub(crate) fn new(mut sources: Vec<Box<dyn EntrySource>>, reverse: bool) -> Result<KeyMerger> {
        let mut heads = Vec::with_capacity(sources.len());
        for s in &mut sources {
            heads.push(s.next_entry()?);
        }
        Ok(KeyMerger {
            sources,
            heads,
            reverse,
        })
    }

    /// Fills `out` with every `(version, cell)` of the next key and returns the key.
    pub(crate) fn next_group(
        &mut self,
        out: &mut Vec<(VersionId, Cell)>,
    ) -> Result<Option<Vec<u8>>> {
        out.clear();
        let reverse = self.reverse;
        let mut best: Option<usize> = None;
        for (i, h) in self.heads.iter().enumerate() {
            let Some(e) = h else { continue };
            let better = match best
                .and_then(|b| self.heads.get(b))
                .and_then(|b| b.as_ref())
            {
                None => true,
                Some(b) => {
                    if reverse {
                        e.key > b.key
                    } else {
                        e.key < b.key
                    }
                }
            };
            if better {
                best = Some(i);
            }
        }
        let Some(first) = best else { return Ok(None) };
        let Some(Entry { key, version, cell }) = self.heads.get_mut(first).and_then(Option::take)
        else {
            return Ok(None);
        };
        out.push((version, cell));
        if let (Some(src), Some(head)) = (self.sources.get_mut(first), self.heads.get_mut(first)) {
            *head = src.next_entry()?;
        }
        for (src, head) in self.sources.iter_mut().zip(self.heads.iter_mut()) {
            while head.as_ref().is_some_and(|e| e.key == key) {
                if let Some(e) = head.take() {
                    out.push((e.version, e.cell));
                }
                *head = src.next_entry()?;
            }
        }
        Ok(Some(key))
    }
}

/// Reads a memtable in batches of keys, resuming after the last key seen.
struct MemCursor {
    mem: Arc<Memtable>,
    resume: Bound<Vec<u8>>,
    stop: Bound<Vec<u8>>,
    reverse: bool,
    path: Arc<Vec<VersionId>>,
    buf: VecDeque<Entry>,
    exhausted: bool,
}

impl EntrySource for MemCursor {
    fn next_entry(&mut self) -> Result<Option<Entry>> {
        while self.buf.is_empty() && !self.exhausted {
            let mut batch = Vec::new();
            let path = self.path.clone();
            let keep = move |v: VersionId| path.binary_search(&v).is_ok();
            match self.mem.range_batch(
                &self.resume,
                &self.stop,
                self.reverse,
                MEMTABLE_BATCH_KEYS,
                &keep,
                &mut batch,
            ) {
                Some(last) => self.resume = Bound::Excluded(last),
                None => self.exhausted = true,
            }
            self.buf.extend(batch);
        }
        Ok(self.buf.pop_front())
    }
}

/// Iterator over `(key, resolved cell)` pairs of a scan, one per key, tombstones included.
/// `Send + 'static`: it owns its snapshot of the memtables and arrays (see module docs).
pub struct ScanIter {
    merger: KeyMerger,
    path: Arc<Vec<VersionId>>,
    group: Vec<(VersionId, Cell)>,
    done: bool,
    /// Arrays this scan reads (those the version and prefix filters kept).
    arrays_read: usize,
    /// Arrays the prefix filter ruled out.
    arrays_skipped: usize,
}

impl ScanIter {
    /// `prefix_filter` (extractor name, prefix hash) is set when every key in the range
    /// shares one prefix: arrays whose prefix filter rules it out are not opened.
    pub(crate) fn new(
        view: View,
        path: Arc<Vec<VersionId>>,
        start: Bound<Vec<u8>>,
        end: Bound<Vec<u8>>,
        reverse: bool,
        prefix_filter: Option<(&str, u64)>,
        skip_damaged: bool,
    ) -> Result<ScanIter> {
        let mut sources: Vec<Box<dyn EntrySource>> = Vec::new();
        let (resume, stop) = if reverse {
            (end.clone(), start.clone())
        } else {
            (start.clone(), end.clone())
        };
        // An empty memtable (the active one right after a flush, typically) adds nothing but
        // a cursor's set-up; writes that land in it after this point are concurrent with
        // the scan, which may or may not see them either way.
        for mem in std::iter::once(&view.active)
            .chain(view.frozen.iter())
            .filter(|m| !m.is_empty())
        {
            sources.push(Box::new(MemCursor {
                mem: mem.clone(),
                resume: resume.clone(),
                stop: stop.clone(),
                reverse,
                path: path.clone(),
                buf: VecDeque::new(),
                exhausted: false,
            }));
        }
        let (mut arrays_read, mut arrays_skipped) = (0, 0);
        for a in view
            .arrays
            .iter()
            .filter(|a| a.reader.meta.intersects(&path))
        {
            if prefix_filter.is_some_and(|(name, hash)| !a.reader.may_hold_prefix(name, hash)) {
                arrays_skipped += 1;
                continue;
            }
            let cursor = if skip_damaged {
                ArrayCursor::skipping_damage(a.reader.clone(), start.clone(), end.clone())?
            } else {
                ArrayCursor::new(a.reader.clone(), start.clone(), end.clone(), reverse)?
            }
            .only_versions(path.clone());
            sources.push(Box::new(cursor));
            arrays_read += 1;
        }
        Ok(ScanIter {
            merger: KeyMerger::new(sources, reverse)?,
            path,
            group: Vec::new(),
            done: false,
            arrays_read,
            arrays_skipped,
        })
    }

    /// How many arrays this scan reads.
    pub(crate) fn arrays_read(&self) -> usize {
        self.arrays_read
    }

    /// How many arrays the prefix filter let this scan skip.
    pub(crate) fn arrays_skipped(&self) -> usize {
        self.arrays_skipped
    }
}

impl Iterator for ScanIter {
    type Item = Result<(Vec<u8>, Cell)>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let key = match self.merger.next_group(&mut self.group) {
                Ok(Some(key)) => key,
                Ok(None) => {
                    self.done = true;
                    return None;
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            };
            let path = &self.path;
            let mut best: Option<Cell> = None;
            for (v, cell) in self.group.drain(..) {
                if path.binary_search(&v).is_ok() && best.as_ref().is_none_or(|b| cell.beats(b)) {
                    best = Some(cell);
                }
            }
            if let Some(cell) = best {
                return Some(Ok((key, cell)));
            }
        }
        None
    }
}
