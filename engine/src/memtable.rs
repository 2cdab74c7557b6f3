//! The memtable: an ordered in-memory map from key to its per-version cells.
//!
//! Layout: a `BTreeMap` from the key's first 8 bytes (big-endian `u64`, zero padded) to a
//! bucket of the keys sharing that prefix. Tree searches then compare inline integers
//! instead of chasing a heap pointer per comparison; the (prefix, key) order is exactly the
//! lexicographic key order (a key that is a prefix of another pads with zeros, which never
//! sort after a real byte, and ties fall back to the full keys). Strata's server keys start
//! with the partition token, so a bucket is a partition: a sorted `Vec` while small, a
//! `BTreeMap` once it outgrows `SMALL_BUCKET_KEYS` (wide partitions stay O(log n)).
//!
//! Invariants:
//! 1. For each `(key, version)` the memtable holds exactly one cell: the winner under
//!    [`Cell::precedence`] of every write of that pair it received (order independent).
//! 2. A memtable is bound to one WAL segment (`id`); once frozen it receives no more
//!    writes, and it leaves the read path only after its array is committed.
//! 3. `bytes` over-approximates the memory held, so the budget check is conservative.
//! 4. Buckets are sorted by key and never empty.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::RwLock;

use crate::array::Entry;
use crate::codec::key_prefix;
use crate::{Cell, VersionId};

/// Per-key overhead estimate (tree node share, bucket slot, key allocation).
const KEY_OVERHEAD: usize = 64;
/// Per-(key, version) overhead estimate.
const SLOT_OVERHEAD: usize = 48;

/// Keys per bucket before it turns from a sorted `Vec` into a `BTreeMap`.
const SMALL_BUCKET_KEYS: usize = 32;
/// Memory of a bucket's own structures (tree slot, `Vec` or tree node), estimated.
const BUCKET_OVERHEAD: usize = 96;

type Slots = Vec<(VersionId, Cell)>;
type Map = BTreeMap<u64, Bucket>;
type KeyIter<'a> = Box<dyn Iterator<Item = (&'a Vec<u8>, &'a Slots)> + 'a>;

/// The keys sharing one 8-byte prefix, sorted.
enum Bucket {
    Small(Vec<(Vec<u8>, Slots)>),
    Large(BTreeMap<Vec<u8>, Slots>),
}

impl Default for Bucket {
    fn default() -> Self {
        Bucket::Small(Vec::new())
    }
}

impl Bucket {
    /// The slots of `key`, created empty if missing (the flag says so).
    fn slots_mut(&mut self, key: &[u8]) -> (&mut Slots, bool) {
        if let Bucket::Small(v) = self {
            if v.len() >= SMALL_BUCKET_KEYS
                && v.binary_search_by(|(k, _)| k.as_slice().cmp(key)).is_err()
            {
                *self = Bucket::Large(std::mem::take(v).into_iter().collect());
            }
        }
        match self {
            Bucket::Small(v) => {
                let (i, new) = match v.binary_search_by(|(k, _)| k.as_slice().cmp(key)) {
                    Ok(i) => (i, false),
                    Err(i) => {
                        v.insert(i, (key.to_vec(), Vec::with_capacity(1)));
                        (i, true)
                    }
                };
                match v.get_mut(i) {
                    Some((_, s)) => (s, new),
                    None => unreachable!("index {i} was just found or inserted"),
                }
            }
            Bucket::Large(m) => {
                let new = !m.contains_key(key);
                (m.entry(key.to_vec()).or_default(), new)
            }
        }
    }

    fn get(&self, key: &[u8]) -> Option<&Slots> {
        match self {
            Bucket::Small(v) => v
                .binary_search_by(|(k, _)| k.as_slice().cmp(key))
                .ok()
                .and_then(|i| v.get(i))
                .map(|(_, s)| s),
            Bucket::Large(m) => m.get(key),
        }
    }

    /// Keys within the bounds, in order (descending if `reverse`).
    fn range<'a>(&'a self, lo: Bound<&'a [u8]>, hi: Bound<&'a [u8]>, reverse: bool) -> KeyIter<'a> {
        match self {
            Bucket::Small(v) => {
                let inside = move |(k, _): &&(Vec<u8>, Slots)| in_bounds(k, &lo, &hi);
                let it = v.iter().filter(inside).map(|(k, s)| (k, s));
                if reverse {
                    Box::new(it.rev())
                } else {
                    Box::new(it)
                }
            }
            Bucket::Large(_) if bounds_empty(&lo, &hi) => Box::new(std::iter::empty()),
            Bucket::Large(m) => {
                let it = m.range::<[u8], _>((lo, hi));
                if reverse {
                    Box::new(it.rev())
                } else {
                    Box::new(it)
                }
            }
        }
    }

    fn iter(&self) -> KeyIter<'_> {
        self.range(Bound::Unbounded, Bound::Unbounded, false)
    }
}

/// True if no key can satisfy both bounds (`BTreeMap::range` panics on such bounds).
fn bounds_empty(lo: &Bound<&[u8]>, hi: &Bound<&[u8]>) -> bool {
    match (lo, hi) {
        (Bound::Included(l), Bound::Included(h)) => l > h,
        (Bound::Included(l), Bound::Excluded(h))
        | (Bound::Excluded(l), Bound::Included(h))
        | (Bound::Excluded(l), Bound::Excluded(h)) => l >= h,
        _ => false,
    }
}
/// Callback receiving `(key, version, cell)` in array order.
pub(crate) type EntryVisitor<'a> = dyn FnMut(&[u8], VersionId, &Cell) -> crate::Result<()> + 'a;

fn in_bounds(key: &[u8], lo: &Bound<&[u8]>, hi: &Bound<&[u8]>) -> bool {
    let above = match lo {
        Bound::Included(l) => key >= *l,
        Bound::Excluded(l) => key > *l,
        Bound::Unbounded => true,
    };
    let below = match hi {
        Bound::Included(h) => key <= *h,
        Bound::Excluded(h) => key < *h,
        Bound::Unbounded => true,
    };
    above && below
}

/// The prefix range that can hold keys within the byte bounds.
fn prefix_bound(b: &Bound<&[u8]>) -> Bound<u64> {
    match b {
        Bound::Included(k) | Bound::Excluded(k) => Bound::Included(key_prefix(k)),
        Bound::Unbounded => Bound::Unbounded,
    }
}

pub(crate) struct Memtable {
    /// The WAL segment holding this memtable's writes.
    pub id: u64,
    map: RwLock<Map>,
    bytes: AtomicUsize,
    /// Distinct keys (sizes the Bloom filters of the flushed array).
    keys: AtomicU64,
    min_ts: AtomicI64,
    max_ts: AtomicI64,
}

impl Memtable {
    pub(crate) fn new(id: u64) -> Memtable {
        Memtable {
            id,
            map: RwLock::new(BTreeMap::new()),
            bytes: AtomicUsize::new(0),
            keys: AtomicU64::new(0),
            min_ts: AtomicI64::new(i64::MAX),
            max_ts: AtomicI64::new(i64::MIN),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Map> {
        self.map.read().unwrap_or_else(|e| e.into_inner())
    }

    /// The most `insert(key, _, cell)` can add to `bytes()` (a new bucket, key and slot).
    pub(crate) fn max_insert_bytes(key: &[u8], cell: &Cell) -> usize {
        BUCKET_OVERHEAD + KEY_OVERHEAD + key.len() + SLOT_OVERHEAD + cell.approx_bytes()
    }

    /// Inserts one write, keeping the winner per (key, version).
    pub(crate) fn insert(&self, key: &[u8], version: VersionId, cell: &Cell) {
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        let mut added = 0usize;
        let bucket = map.entry(key_prefix(key)).or_insert_with(|| {
            added += BUCKET_OVERHEAD;
            Bucket::default()
        });
        let (slots, new_key) = bucket.slots_mut(key);
        if new_key {
            added += KEY_OVERHEAD + key.len();
            self.keys.fetch_add(1, Ordering::Relaxed);
        }
        match slots.iter_mut().find(|(v, _)| *v == version) {
            Some((_, existing)) => {
                if cell.beats(existing) {
                    added += cell.approx_bytes();
                    *existing = cell.clone();
                }
            }
            None => {
                added += SLOT_OVERHEAD + cell.approx_bytes();
                slots.push((version, cell.clone()));
            }
        }
        drop(map);
        self.bytes.fetch_add(added, Ordering::Relaxed);
        self.min_ts.fetch_min(cell.timestamp, Ordering::Relaxed);
        self.max_ts.fetch_max(cell.timestamp, Ordering::Relaxed);
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Relaxed)
    }

    pub(crate) fn keys(&self) -> u64 {
        self.keys.load(Ordering::Relaxed)
    }

    /// No key was ever inserted (keys are never removed): no lock needed.
    pub(crate) fn is_empty(&self) -> bool {
        self.keys() == 0
    }

    /// Smallest client timestamp written here (`i64::MAX` if empty).
    pub(crate) fn min_timestamp(&self) -> i64 {
        self.min_ts.load(Ordering::Relaxed)
    }

    /// Folds the cells for `key` at versions in `path` (sorted ids) into `best`.
    pub(crate) fn get_into(&self, key: &[u8], path: &[VersionId], best: &mut Option<Cell>) {
        let map = self.read();
        let Some(slots) = map.get(&key_prefix(key)).and_then(|b| b.get(key)) else {
            return;
        };
        for (v, cell) in slots {
            if path.binary_search(v).is_ok() && best.as_ref().is_none_or(|b| cell.beats(b)) {
                *best = Some(cell.clone());
            }
        }
    }

    /// Up to `max_keys` keys after `resume` (exclusive or inclusive per the bound) and
    /// within `stop`, in order (descending if `reverse`), with their cells at versions
    /// accepted by `keep`. Returns the last key visited (keys with no accepted version
    /// count as progress too), or None when the range is exhausted.
    pub(crate) fn range_batch(
        &self,
        resume: &Bound<Vec<u8>>,
        stop: &Bound<Vec<u8>>,
        reverse: bool,
        max_keys: usize,
        keep: &dyn Fn(VersionId) -> bool,
        out: &mut Vec<Entry>,
    ) -> Option<Vec<u8>> {
        let map = self.read();
        let (lo, hi) = if reverse {
            (as_ref(stop), as_ref(resume))
        } else {
            (as_ref(resume), as_ref(stop))
        };
        let (plo, phi) = (prefix_bound(&lo), prefix_bound(&hi));
        if let (Bound::Included(a), Bound::Included(b)) = (plo, phi) {
            if a > b {
                return None;
            }
        }
        let buckets = map.range((plo, phi));
        let buckets: Box<dyn Iterator<Item = &Bucket>> = if reverse {
            Box::new(buckets.rev().map(|(_, b)| b))
        } else {
            Box::new(buckets.map(|(_, b)| b))
        };
        let keys = buckets.flat_map(|b| b.range(lo, hi, reverse));
        let mut last = None;
        for (key, slots) in keys.take(max_keys) {
            for (v, cell) in slots.iter().filter(|(v, _)| keep(*v)) {
                out.push(Entry {
                    key: key.clone(),
                    version: *v,
                    cell: cell.clone(),
                });
            }
            last = Some(key);
        }
        last.cloned()
    }

    /// Visits every entry: keys ascending; within a key, versions by descending `order`
    /// (the DFS pre-order, i.e. array order). Only called on frozen memtables.
    pub(crate) fn for_each_sorted(
        &self,
        order: &dyn Fn(VersionId) -> u32,
        f: &mut EntryVisitor<'_>,
    ) -> crate::Result<()> {
        let map = self.read();
        let mut idx: Vec<usize> = Vec::new();
        for (key, slots) in map.values().flat_map(Bucket::iter) {
            idx.clear();
            idx.extend(0..slots.len());
            idx.sort_unstable_by_key(|&i| {
                std::cmp::Reverse(slots.get(i).map_or(0, |(v, _)| order(*v)))
            });
            for (v, cell) in idx.iter().filter_map(|&i| slots.get(i)) {
                f(key, *v, cell)?;
            }
        }
        Ok(())
    }

    /// Approximate bytes of entries written at `version`.
    pub(crate) fn version_bytes(&self, version: VersionId) -> u64 {
        let map = self.read();
        map.values()
            .flat_map(Bucket::iter)
            .flat_map(|(k, slots)| {
                slots
                    .iter()
                    .filter(move |(v, _)| *v == version)
                    .map(move |(_, c)| (k.len() + c.approx_bytes()) as u64)
            })
            .sum()
    }
}

fn as_ref(b: &Bound<Vec<u8>>) -> Bound<&[u8]> {
    match b {
        Bound::Included(k) => Bound::Included(k.as_slice()),
        Bound::Excluded(k) => Bound::Excluded(k.as_slice()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_winner_per_key_and_version_whatever_the_arrival_order() {
        let m = Memtable::new(1);
        m.insert(b"k", 1, &Cell::live(5, b"new".to_vec()));
        m.insert(b"k", 1, &Cell::live(3, b"old".to_vec()));
        m.insert(b"k", 2, &Cell::live(1, b"child".to_vec()));
        let mut best = None;
        m.get_into(b"k", &[0, 1], &mut best);
        assert_eq!(best, Some(Cell::live(5, b"new".to_vec())));
        let mut best = None;
        m.get_into(b"k", &[0, 1, 2], &mut best);
        assert_eq!(
            best,
            Some(Cell::live(5, b"new".to_vec())),
            "ancestor write with higher timestamp wins"
        );
        assert!(m.bytes() > 0);
        assert_eq!(m.min_timestamp(), 1);
    }

    #[test]
    fn prefix_then_bytes_order_is_lexicographic() {
        let keys: [&[u8]; 9] = [
            b"",
            b"\0",
            b"a",
            b"ab",
            b"ab\0",
            b"ab\0\x01",
            b"abcdefgh",
            b"abcdefgh\0",
            b"abcdefgi",
        ];
        for a in keys {
            for b in keys {
                assert_eq!(
                    key_prefix(a).cmp(&key_prefix(b)).then_with(|| a.cmp(b)),
                    a.cmp(b),
                    "{a:?} {b:?}"
                );
            }
        }
        let m = Memtable::new(1);
        for k in keys.iter().rev() {
            m.insert(k, 1, &Cell::live(1, b"v".to_vec()));
        }
        let mut seen = Vec::new();
        m.for_each_sorted(&|_| 0, &mut |k, _, _| {
            seen.push(k.to_vec());
            Ok(())
        })
        .unwrap();
        assert_eq!(seen, keys.iter().map(|k| k.to_vec()).collect::<Vec<_>>());
        for (i, lo) in keys.iter().enumerate() {
            let mut out = Vec::new();
            m.range_batch(
                &Bound::Excluded(lo.to_vec()),
                &Bound::Unbounded,
                false,
                100,
                &|_| true,
                &mut out,
            );
            assert_eq!(out.len(), keys.len() - i - 1, "after {lo:?}");
            out.clear();
            m.range_batch(
                &Bound::Included(lo.to_vec()),
                &Bound::Unbounded,
                true,
                100,
                &|_| true,
                &mut out,
            );
            assert_eq!(out.len(), i + 1, "reverse from {lo:?}");
        }
    }

    #[test]
    fn wide_buckets_turn_into_trees_and_keep_order() {
        let m = Memtable::new(1);
        let key = |i: u32| [b"samepfx!".as_slice(), &i.to_be_bytes()].concat();
        for i in (0..200u32).rev() {
            m.insert(&key(i), 1, &Cell::live(1, b"v".to_vec()));
        }
        let mut best = None;
        m.get_into(&key(77), &[1], &mut best);
        assert!(best.is_some());
        let mut out = Vec::new();
        let last = m.range_batch(
            &Bound::Excluded(key(10)),
            &Bound::Included(key(20)),
            false,
            5,
            &|_| true,
            &mut out,
        );
        assert_eq!(
            out.iter().map(|e| e.key.clone()).collect::<Vec<_>>(),
            (11..16).map(key).collect::<Vec<_>>()
        );
        assert_eq!(last, Some(key(15)));
        out.clear();
        m.range_batch(
            &Bound::Excluded(key(20)),
            &Bound::Excluded(key(10)),
            true,
            100,
            &|_| true,
            &mut out,
        );
        assert_eq!(out.len(), 9);
        out.clear();
        assert_eq!(
            m.range_batch(
                &Bound::Excluded(key(20)),
                &Bound::Excluded(key(20)),
                false,
                100,
                &|_| true,
                &mut out
            ),
            None
        );
    }

    #[test]
    fn range_batches_resume_and_reverse() {
        let m = Memtable::new(1);
        for i in 0..10u8 {
            m.insert(&[i], 1, &Cell::live(1, vec![i]));
        }
        let mut out = Vec::new();
        let last = m.range_batch(
            &Bound::Excluded(vec![2]),
            &Bound::Included(vec![8]),
            false,
            3,
            &|_| true,
            &mut out,
        );
        assert_eq!(
            out.iter().map(|e| e.key[0]).collect::<Vec<_>>(),
            vec![3, 4, 5]
        );
        assert_eq!(last, Some(vec![5]));
        out.clear();
        m.range_batch(
            &Bound::Included(vec![8]),
            &Bound::Excluded(vec![2]),
            true,
            100,
            &|_| true,
            &mut out,
        );
        assert_eq!(
            out.iter().map(|e| e.key[0]).collect::<Vec<_>>(),
            vec![8, 7, 6, 5, 4, 3]
        );
        out.clear();
        assert_eq!(
            m.range_batch(
                &Bound::Included(vec![8]),
                &Bound::Excluded(vec![2]),
                false,
                100,
                &|_| true,
                &mut out
            ),
            None
        );
    }
}
