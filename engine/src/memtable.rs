//! The memtable: an ordered in-memory map from key to its per-version cells.
//!
//! Invariants:
//! 1. For each `(key, version)` the memtable holds exactly one cell: the winner under
//!    [`Cell::precedence`] of every write of that pair it received (order independent).
//! 2. A memtable is bound to one WAL segment (`id`); once frozen it receives no more
//!    writes, and it leaves the read path only after its array is committed.
//! 3. `bytes` over-approximates the memory held, so the budget check is conservative.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::RwLock;

use crate::array::Entry;
use crate::{Cell, VersionId};

/// Per-key overhead estimate (tree node share, Vec header, key allocation).
const KEY_OVERHEAD: usize = 64;
/// Per-(key, version) overhead estimate.
const SLOT_OVERHEAD: usize = 48;

type Slots = Vec<(VersionId, Cell)>;

/// A key slice ordered exactly like `[u8]`, but comparing the first 8 bytes as one
/// big-endian integer first: most comparisons in the tree then cost one integer compare
/// instead of a `memcmp` call. (Zero padding keeps the order lexicographic: a key that is
/// a prefix of another has equal-or-smaller padded bytes and ties fall back to the slices.)
#[repr(transparent)]
#[derive(PartialEq, Eq)]
struct KeyBytes([u8]);

impl KeyBytes {
    fn new(bytes: &[u8]) -> &KeyBytes {
        // SAFETY: `KeyBytes` is `repr(transparent)` over `[u8]`, so a `*const [u8]` and a
        // `*const KeyBytes` have the same layout and pointer metadata (the length).
        unsafe { &*(bytes as *const [u8] as *const KeyBytes) }
    }

    fn prefix(&self) -> u64 {
        match self.0.first_chunk::<8>() {
            Some(p) => u64::from_be_bytes(*p),
            None => {
                let mut p = [0u8; 8];
                p.iter_mut().zip(&self.0).for_each(|(d, s)| *d = *s);
                u64::from_be_bytes(p)
            }
        }
    }
}

impl Ord for KeyBytes {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.prefix().cmp(&other.prefix()).then_with(|| self.0.cmp(&other.0))
    }
}

impl PartialOrd for KeyBytes {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// An owned memtable key (ordered as [`KeyBytes`]).
#[derive(PartialEq, Eq)]
struct MemKey(Vec<u8>);

impl std::borrow::Borrow<KeyBytes> for MemKey {
    fn borrow(&self) -> &KeyBytes {
        KeyBytes::new(&self.0)
    }
}

impl Ord for MemKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        KeyBytes::new(&self.0).cmp(KeyBytes::new(&other.0))
    }
}

impl PartialOrd for MemKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

type Map = BTreeMap<MemKey, Slots>;
/// Callback receiving `(key, version, cell)` in array order.
pub(crate) type EntryVisitor<'a> = dyn FnMut(&[u8], VersionId, &Cell) -> crate::Result<()> + 'a;

pub(crate) struct Memtable {
    /// The WAL segment holding this memtable's writes.
    pub id: u64,
    map: RwLock<Map>,
    bytes: AtomicUsize,
    min_ts: AtomicI64,
    max_ts: AtomicI64,
}

impl Memtable {
    pub(crate) fn new(id: u64) -> Memtable {
        Memtable {
            id,
            map: RwLock::new(BTreeMap::new()),
            bytes: AtomicUsize::new(0),
            min_ts: AtomicI64::new(i64::MAX),
            max_ts: AtomicI64::new(i64::MIN),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Map> {
        self.map.read().unwrap_or_else(|e| e.into_inner())
    }

    /// Inserts one write, keeping the winner per (key, version).
    pub(crate) fn insert(&self, key: &[u8], version: VersionId, cell: &Cell) {
        let mut map = self.map.write().unwrap_or_else(|e| e.into_inner());
        let mut added = 0usize;
        let slots = match map.get_mut(KeyBytes::new(key)) {
            Some(s) => s,
            None => {
                added += KEY_OVERHEAD + key.len();
                map.entry(MemKey(key.to_vec())).or_default()
            }
        };
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

    pub(crate) fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// Smallest client timestamp written here (`i64::MAX` if empty).
    pub(crate) fn min_timestamp(&self) -> i64 {
        self.min_ts.load(Ordering::Relaxed)
    }

    /// Folds the cells for `key` at versions in `path` (sorted ids) into `best`.
    pub(crate) fn get_into(&self, key: &[u8], path: &[VersionId], best: &mut Option<Cell>) {
        let map = self.read();
        let Some(slots) = map.get(KeyBytes::new(key)) else { return };
        for (v, cell) in slots {
            if path.binary_search(v).is_ok() && best.as_ref().is_none_or(|b| cell.beats(b)) {
                *best = Some(cell.clone());
            }
        }
    }

    /// Up to `max_keys` keys after `resume` (exclusive or inclusive per the bound) and
    /// within `stop`, in order (descending if `reverse`), with their cells at versions
    /// accepted by `keep`. Keys with no accepted version are skipped but still counted
    /// as progress through `last_key`.
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
        let bounds = if reverse { (as_ref(stop), as_ref(resume)) } else { (as_ref(resume), as_ref(stop)) };
        if bounds_empty(&bounds) {
            return None;
        }
        let range = map.range::<KeyBytes, _>(bounds);
        let iter: Box<dyn Iterator<Item = (&MemKey, &Slots)>> = if reverse { Box::new(range.rev()) } else { Box::new(range) };
        let mut last = None;
        for (key, slots) in iter.take(max_keys) {
            for (v, cell) in slots.iter().filter(|(v, _)| keep(*v)) {
                out.push(Entry { key: key.0.clone(), version: *v, cell: cell.clone() });
            }
            last = Some(key);
        }
        last.map(|k| k.0.clone())
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
        for (MemKey(key), slots) in map.iter() {
            idx.clear();
            idx.extend(0..slots.len());
            idx.sort_unstable_by_key(|&i| std::cmp::Reverse(slots.get(i).map_or(0, |(v, _)| order(*v))));
            for (v, cell) in idx.iter().filter_map(|&i| slots.get(i)) {
                f(key, *v, cell)?;
            }
        }
        Ok(())
    }

    /// Approximate bytes of entries written at `version`.
    pub(crate) fn version_bytes(&self, version: VersionId) -> u64 {
        let map = self.read();
        map.iter()
            .flat_map(|(MemKey(k), slots)| slots.iter().filter(move |(v, _)| *v == version).map(move |(_, c)| (k.len() + c.approx_bytes()) as u64))
            .sum()
    }
}

fn as_ref(b: &Bound<Vec<u8>>) -> Bound<&KeyBytes> {
    match b {
        Bound::Included(k) => Bound::Included(KeyBytes::new(k)),
        Bound::Excluded(k) => Bound::Excluded(KeyBytes::new(k)),
        Bound::Unbounded => Bound::Unbounded,
    }
}

/// True if the bounds describe an empty interval (BTreeMap::range panics on start > end).
fn bounds_empty(b: &(Bound<&KeyBytes>, Bound<&KeyBytes>)) -> bool {
    match b {
        (Bound::Included(s), Bound::Included(e)) => s > e,
        (Bound::Included(s), Bound::Excluded(e)) | (Bound::Excluded(s), Bound::Included(e)) => s >= e,
        (Bound::Excluded(s), Bound::Excluded(e)) => s >= e,
        _ => false,
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
        assert_eq!(best, Some(Cell::live(5, b"new".to_vec())), "ancestor write with higher timestamp wins");
        assert!(m.bytes() > 0);
        assert_eq!(m.min_timestamp(), 1);
    }

    #[test]
    fn key_order_is_lexicographic() {
        let keys: [&[u8]; 9] = [b"", b"\0", b"a", b"ab", b"ab\0", b"ab\0\x01", b"abcdefgh", b"abcdefgh\0", b"abcdefgi"];
        for a in keys {
            for b in keys {
                assert_eq!(KeyBytes::new(a).cmp(KeyBytes::new(b)), a.cmp(b), "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn range_batches_resume_and_reverse() {
        let m = Memtable::new(1);
        for i in 0..10u8 {
            m.insert(&[i], 1, &Cell::live(1, vec![i]));
        }
        let mut out = Vec::new();
        let last = m.range_batch(&Bound::Excluded(vec![2]), &Bound::Included(vec![8]), false, 3, &|_| true, &mut out);
        assert_eq!(out.iter().map(|e| e.key[0]).collect::<Vec<_>>(), vec![3, 4, 5]);
        assert_eq!(last, Some(vec![5]));
        out.clear();
        m.range_batch(&Bound::Included(vec![8]), &Bound::Excluded(vec![2]), true, 100, &|_| true, &mut out);
        assert_eq!(out.iter().map(|e| e.key[0]).collect::<Vec<_>>(), vec![8, 7, 6, 5, 4, 3]);
        out.clear();
        assert_eq!(m.range_batch(&Bound::Included(vec![8]), &Bound::Excluded(vec![2]), false, 100, &|_| true, &mut out), None);
    }
}
