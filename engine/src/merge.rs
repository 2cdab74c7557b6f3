//! Merge logic: per-key resolution and garbage collection, and version splitting.
//!
//! Invariants (the GC rules; "sees" = the entry's version is an ancestor-or-self):
//! 1. An entry is dropped only if no live version could ever read it:
//!    a. its version is deleted and has no live descendant (`needed` is false), or
//!    b. it is *dominated*: another input entry for the key at an ancestor-or-self
//!    version is at least as strong under `Cell::precedence`, so every version that
//!    sees the entry also sees the stronger one, or
//!    c. it is *covered*: its version is deleted, and on every path from it down to a live
//!    version a kept entry of the merge beats it (Castle's "occupied children" rule), so
//!    no live version sees it. This is what returns a cleared snapshot's overwritten
//!    rows to the disk.
//! 2. Before anything else, live cells whose TTL expired (`expires_at <= now`) become
//!    tombstones deleted at their expiry time.
//! 3. A tombstone at version `x` is purged only if all of:
//!    - `deleted_at + gc_grace < now`;
//!    - every kept entry at a strict ancestor of `x` is a tombstone (so no version under
//!      `x` starts seeing an older live cell);
//!    - no data outside the merge that is related to `x` (arrays whose version set holds
//!      an ancestor or descendant of `x`, and any memtable) has a timestamp `<=` the
//!      tombstone's, so nothing outside the merge is shadowed by it.
//!
//!    Entries it dominated in the merge are dropped with it (rule 1b), so purging never
//!    resurrects data.
//! 4. Version splitting partitions the merged entries by *written-at* version into pieces
//!    whose version sets are subtrees of the remaining versions, or unions of sibling
//!    subtrees (as in the paper's density amplification); no entry is copied, so reads stay correct when they consult
//!    every array whose version set meets the root-to-`v` path. The plan only affects
//!    how well reads are served, never what they return.

use std::collections::HashMap;

use crate::version::{VersionTally, VersionTree};
use crate::{Cell, VersionId, ROOT_VERSION};

/// Upper bound on pieces one merge output is split into (bounds file count per merge).
pub(crate) const MAX_SPLIT_PIECES: usize = 32;
/// Versions visited when deciding rule 1c for one entry; past it the entry is kept.
const MAX_COVERAGE_VISITS: usize = 1024;
/// Upper bound on density evaluations per split (each is a pass over the key index).
const MAX_DENSITY_EVALS: usize = 256;

/// Data that stays outside a merge and may be shadowed by a tombstone in it.
pub(crate) struct OutsideData {
    pub versions: Vec<VersionId>,
    pub min_ts: i64,
}

/// Everything the per-key resolver needs, fixed at merge start.
pub(crate) struct GcContext<'a> {
    tree: &'a VersionTree,
    needed: Vec<bool>,
    now: i64,
    gc_grace: i64,
    outside: Vec<OutsideData>,
    memtable_min_ts: i64,
    outside_cache: HashMap<VersionId, i64>,
}

struct PathTop {
    version: VersionId,
    /// Index (in the sorted key group) of the strongest entry on the path so far.
    strongest: usize,
    /// All kept entries on the path (including this one) are tombstones.
    all_tombstones: bool,
}

impl<'a> GcContext<'a> {
    pub(crate) fn new(
        tree: &'a VersionTree,
        now: i64,
        gc_grace: i64,
        outside: Vec<OutsideData>,
        memtable_min_ts: i64,
    ) -> GcContext<'a> {
        GcContext {
            tree,
            needed: tree.needed_table(),
            now,
            gc_grace,
            outside,
            memtable_min_ts,
            outside_cache: HashMap::new(),
        }
    }

    /// Smallest timestamp of outside data related to `x` (`i64::MAX` if none).
    fn outside_min_ts(&mut self, x: VersionId) -> i64 {
        if let Some(&t) = self.outside_cache.get(&x) {
            return t;
        }
        let tree = self.tree;
        let from_arrays = self
            .outside
            .iter()
            .filter(|o| o.versions.iter().any(|&v| tree.related(v, x)))
            .map(|o| o.min_ts)
            .min()
            .unwrap_or(i64::MAX);
        let t = from_arrays.min(self.memtable_min_ts);
        self.outside_cache.insert(x, t);
        t
    }

    fn purgeable(&mut self, x: VersionId, cell: &Cell, ancestors_all_tombstones: bool) -> bool {
        let crate::CellValue::Tombstone { deleted_at_secs } = cell.value else {
            return false;
        };
        ancestors_all_tombstones
            && deleted_at_secs.saturating_add(self.gc_grace) < self.now
            && cell.timestamp < self.outside_min_ts(x)
    }

    /// Resolves all input entries of one key in place: applies rules 1–3 and leaves the
    /// survivors in array order (descending DFS pre-order).
    pub(crate) fn resolve_key(&mut self, group: &mut Vec<(VersionId, Cell)>) {
        let now = self.now;
        for (_, cell) in group.iter_mut() {
            if let Some(t) = cell.expired_to_tombstone(now) {
                *cell = t;
            }
        }
        let needed = &self.needed;
        group.retain(|(v, _)| needed.get(*v as usize).copied().unwrap_or(true));
        if let [(x, cell)] = group.as_slice() {
            // The common case: one entry, nothing to compare it with.
            if self.purgeable(*x, cell, true) {
                group.clear();
            }
            return;
        }
        let tree = self.tree;
        // Ancestors first; within a version the strongest first.
        group.sort_by(|(va, ca), (vb, cb)| {
            tree.pre(*va)
                .cmp(&tree.pre(*vb))
                .then_with(|| cb.precedence(ca))
        });
        let mut keep = vec![false; group.len()];
        let mut stack: Vec<PathTop> = Vec::new();
        for i in 0..group.len() {
            let Some((x, cell)) = group.get(i) else {
                continue;
            };
            let x = *x;
            while stack
                .last()
                .is_some_and(|t| !tree.is_ancestor_or_self(t.version, x))
            {
                stack.pop();
            }
            let dominated = stack
                .last()
                .and_then(|t| group.get(t.strongest))
                .is_some_and(|(_, s)| !cell.beats(s));
            if dominated {
                continue;
            }
            let ancestors_all_tombstones = stack.last().is_none_or(|t| t.all_tombstones);
            let is_tombstone = cell.is_tombstone();
            let purge = self.purgeable(x, cell, ancestors_all_tombstones);
            if let Some(k) = keep.get_mut(i) {
                *k = !purge;
            }
            stack.push(PathTop {
                version: x,
                strongest: i,
                all_tombstones: ancestors_all_tombstones && is_tombstone,
            });
        }
        for i in 0..group.len() {
            let Some((x, cell)) = group.get(i) else {
                continue;
            };
            if keep.get(i).copied().unwrap_or(false)
                && tree.is_deleted(*x)
                && self.covered_below(group, &keep, *x, cell)
            {
                if let Some(k) = keep.get_mut(i) {
                    *k = false;
                }
            }
        }
        let mut i = 0;
        group.retain(|_| {
            i += 1;
            keep.get(i - 1).copied().unwrap_or(false)
        });
        group.sort_by_key(|(v, _)| std::cmp::Reverse(tree.pre(*v)));
    }

    /// Rule 1c: whether every live version below deleted `d` meets a kept entry of the
    /// key that beats `cell` before reaching `cell`.
    fn covered_below(
        &self,
        group: &[(VersionId, Cell)],
        keep: &[bool],
        d: VersionId,
        cell: &Cell,
    ) -> bool {
        let mut pending: Vec<VersionId> = self.tree.children(d).to_vec();
        let mut visits = 0;
        while let Some(v) = pending.pop() {
            visits += 1;
            if visits > MAX_COVERAGE_VISITS {
                return false;
            }
            let shadowed = group
                .iter()
                .zip(keep)
                .any(|((w, c), kept)| *kept && *w == v && c.beats(cell));
            if shadowed {
                continue;
            }
            if !self.tree.is_deleted(v) {
                return false;
            }
            pending.extend_from_slice(self.tree.children(v));
        }
        true
    }
}

/// Estimated density of the piece holding the entries written at versions in `set`:
/// `min over v of live(v) / |piece|`, with `live(v)` estimated as the entries written on
/// `v`'s root path within the set (an upper bound: a key rewritten along the path counts
/// once per write), and `v` ranging over the set's *live leaves* (members with no
/// descendant in the set, not deleted). Pieces carry no copies of ancestor entries, so
/// splitting an interior version off its descendants would only add an array to every
/// read at the descendants: a snapshot chain stays in one array, while divergent clones
/// (several leaves each seeing little of the whole) get split.
fn density(tree: &VersionTree, counts: &VersionTally, set: &[VersionId]) -> f64 {
    // In DFS pre-order a version's subtree is a contiguous run, so "entries on the path
    // of each v" is a sum of interval additions.
    let mut order: Vec<VersionId> = set.to_vec();
    order.sort_unstable_by_key(|&v| tree.pre(v));
    let mut diff = vec![0i64; order.len() + 1];
    let mut ends = vec![0usize; order.len()];
    let mut total = 0u64;
    for (i, &v) in order.iter().enumerate() {
        let end = i
            + 1
            + order
                .iter()
                .skip(i + 1)
                .take_while(|&&w| tree.is_ancestor_or_self(v, w))
                .count();
        let c = counts.entries(v);
        total += c;
        let c = i64::try_from(c).unwrap_or(i64::MAX);
        if let Some(d) = diff.get_mut(i) {
            *d = d.saturating_add(c);
        }
        if let Some(d) = diff.get_mut(end) {
            *d = d.saturating_sub(c);
        }
        if let Some(e) = ends.get_mut(i) {
            *e = end;
        }
    }
    let mut running = 0i64;
    let mut min_live = i64::MAX;
    for (i, (d, &v)) in diff.iter().zip(&order).enumerate() {
        running = running.saturating_add(*d);
        let leaf = ends.get(i) == Some(&(i + 1));
        if leaf && !tree.is_deleted(v) {
            min_live = min_live.min(running);
        }
    }
    if total == 0 || min_live == i64::MAX {
        return 1.0; // empty, or only deleted leaves: nobody reads this piece
    }
    min_live.max(0) as f64 / total as f64
}

/// Plans the version split of a merge from the inputs' per-version entry counts (known
/// before the merge starts, so entries are routed to their piece while merging, without
/// writing the merged array first). Returns `None` if the whole is dense or has a single
/// version; otherwise a partition of the version set into pieces.
pub(crate) fn plan_split(
    tree: &VersionTree,
    counts: &VersionTally,
    threshold: f64,
) -> Option<Vec<Vec<VersionId>>> {
    let all: Vec<VersionId> = counts.iter().map(|(v, _, _)| v).collect();
    if all.len() <= 1 || density(tree, counts, &all) >= threshold {
        return None;
    }
    let mut remaining = all;
    let mut pieces = Vec::new();
    let mut evals = 1usize;
    while !remaining.is_empty() {
        if pieces.len() + 1 >= MAX_SPLIT_PIECES || evals >= MAX_DENSITY_EVALS {
            pieces.push(std::mem::take(&mut remaining));
            break;
        }
        let piece = find_dense_piece(tree, counts, &remaining, threshold, &mut evals);
        remaining.retain(|v| !piece.contains(v));
        pieces.push(piece);
    }
    (pieces.len() > 1).then_some(pieces)
}

/// Walks down from the root: take the remaining versions under `v`; if they form a dense
/// piece (or a single version) return them. Otherwise look at `v`'s children holding
/// remaining entries, largest first: descend into the largest if its subtree is not dense;
/// if it is, return it together with as many of the next siblings' subtrees as keep the
/// piece dense. Packing siblings matters for many small clones of one version: each alone
/// is dense, but one piece per clone would hit `MAX_SPLIT_PIECES` and leave most of them
/// in one sparse remainder that every one of them has to read.
fn find_dense_piece(
    tree: &VersionTree,
    counts: &VersionTally,
    remaining: &[VersionId],
    threshold: f64,
    evals: &mut usize,
) -> Vec<VersionId> {
    let under_of = |v: VersionId| -> Vec<VersionId> {
        remaining
            .iter()
            .copied()
            .filter(|&w| tree.is_ancestor_or_self(v, w))
            .collect()
    };
    let mut dense = |set: &[VersionId]| -> bool {
        *evals += 1;
        *evals >= MAX_DENSITY_EVALS || density(tree, counts, set) >= threshold
    };
    let mut v = ROOT_VERSION;
    let mut last_len = usize::MAX;
    loop {
        let under = under_of(v);
        if under.len() <= 1 || (under.len() != last_len && dense(&under)) {
            return under;
        }
        let entries = |set: &[VersionId]| -> u64 { set.iter().map(|&w| counts.entries(w)).sum() };
        let mut children: Vec<(u64, VersionId, Vec<VersionId>)> = tree
            .children(v)
            .iter()
            .map(|&c| (c, under_of(c)))
            .map(|(c, set)| (entries(&set), c, set))
            .filter(|(n, _, _)| *n > 0)
            .collect();
        children.sort_unstable_by_key(|&(n, c, _)| std::cmp::Reverse((n, c)));
        let mut siblings = children.into_iter();
        // Nothing below `v` holds entries: what remains under `v` is `v` itself.
        let Some((_, largest, mut piece)) = siblings.next() else {
            return under;
        };
        // A piece as large as `under` is `under`, already found sparse.
        if piece.len() > 1 && (piece.len() == under.len() || !dense(&piece)) {
            v = largest;
            last_len = piece.len();
            continue;
        }
        for (_, _, sibling) in siblings {
            let mut wider = piece.clone();
            wider.extend_from_slice(&sibling);
            if !dense(&wider) {
                break;
            }
            piece = wider;
        }
        return piece;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::version::VersionOp;

    fn tree(ops: &[VersionOp]) -> VersionTree {
        let mut t = VersionTree::new();
        for op in ops {
            t.apply(*op).unwrap();
        }
        t
    }

    fn chain() -> VersionTree {
        // 0 -> 1 (frozen) -> 2 (writable); 1 -> 3 (clone)
        tree(&[
            VersionOp::Clone { of: 0, new: 1 },
            VersionOp::Snapshot { of: 1, new: 2 },
            VersionOp::Clone { of: 1, new: 3 },
        ])
    }

    fn ctx(t: &VersionTree, now: i64) -> GcContext<'_> {
        GcContext::new(t, now, 10, Vec::new(), i64::MAX)
    }

    #[test]
    fn dominated_entries_are_dropped_but_visible_ones_kept() {
        let t = chain();
        let mut c = ctx(&t, 0);
        let mut g = vec![
            (2, Cell::live(1, b"old child".to_vec())),
            (1, Cell::live(5, b"parent".to_vec())),
            (3, Cell::live(9, b"clone".to_vec())),
        ];
        c.resolve_key(&mut g);
        // The write at 2 is shadowed by its ancestor's newer write; the clone's newer one stays.
        assert_eq!(
            g,
            vec![
                (3, Cell::live(9, b"clone".to_vec())),
                (1, Cell::live(5, b"parent".to_vec()))
            ]
        );
    }

    #[test]
    fn tombstones_purge_only_after_grace_and_without_live_ancestors() {
        let t = chain();
        let tomb = Cell::tombstone(10, 100);
        let mut g = vec![(2, tomb.clone())];
        ctx(&t, 105).resolve_key(&mut g);
        assert_eq!(g.len(), 1, "within gc grace");
        ctx(&t, 111).resolve_key(&mut g);
        assert!(g.is_empty(), "purged after grace");
        let mut g = vec![(2, tomb.clone()), (1, Cell::live(5, b"older".to_vec()))];
        ctx(&t, 1000).resolve_key(&mut g);
        assert_eq!(
            g.len(),
            2,
            "purging would resurrect the parent's value at version 2"
        );
        let mut outside = GcContext::new(
            &t,
            1000,
            10,
            vec![OutsideData {
                versions: vec![2],
                min_ts: 3,
            }],
            i64::MAX,
        );
        let mut g = vec![(2, tomb)];
        outside.resolve_key(&mut g);
        assert_eq!(
            g.len(),
            1,
            "an older entry outside the merge could be shadowed"
        );
    }

    #[test]
    fn expired_cells_become_tombstones_and_deleted_versions_vanish() {
        let mut t = chain();
        t.apply(VersionOp::Delete { version: 3 }).unwrap();
        let cell = Cell {
            timestamp: 1,
            ttl_secs: 5,
            expires_at_secs: 50,
            value: crate::CellValue::Live(b"x".to_vec()),
        };
        let mut g = vec![(2, cell), (3, Cell::live(1, b"gone".to_vec()))];
        ctx(&t, 55).resolve_key(&mut g);
        assert_eq!(g.len(), 1);
        assert!(g[0].1.is_tombstone());
    }

    #[test]
    fn divergent_clones_split_into_dense_pieces() {
        // Root-level version 1 frozen with 8 clones; each clone writes its own 100 keys.
        let mut ops = vec![
            VersionOp::Clone { of: 0, new: 1 },
            VersionOp::Snapshot { of: 1, new: 2 },
        ];
        for c in 3..11 {
            ops.push(VersionOp::Clone { of: 1, new: c });
        }
        let t = tree(&ops);
        let mut kv = VersionTally::default();
        for _ in 0..10 {
            kv.add(1, 0);
        }
        for c in 3..11 {
            for _ in 0..100 {
                kv.add(c, 0);
            }
        }
        let set: Vec<VersionId> = kv.iter().map(|(v, _, _)| v).collect();
        assert!(density(&t, &kv, &set) < 0.2);
        let pieces = plan_split(&t, &kv, 0.2).expect("split");
        assert!(pieces.len() >= 2, "{pieces:?}");
        let mut all: Vec<_> = pieces.iter().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(all, set, "a partition");
        for p in &pieces {
            assert!(density(&t, &kv, p) >= 0.2 || p.len() == 1);
        }
        // A snapshot chain (1 -> 2 -> ...) where each version rewrote different keys is
        // dense at its only leaf: it stays one array.
        let chain = tree(&[
            VersionOp::Clone { of: 0, new: 1 },
            VersionOp::Snapshot { of: 1, new: 2 },
            VersionOp::Snapshot { of: 2, new: 3 },
            VersionOp::Snapshot { of: 3, new: 4 },
        ]);
        let mut kv_chain = VersionTally::default();
        for v in 1..5 {
            for _ in 0..100 {
                kv_chain.add(v, 0);
            }
        }
        assert!(plan_split(&chain, &kv_chain, 0.2).is_none());
        let mut dense = VersionTally::default();
        for _ in 0..10 {
            dense.add(1, 0);
            dense.add(3, 0);
        }
        assert!(plan_split(&t, &dense, 0.2).is_none());
    }

    /// 100 equal clones of a frozen base: one piece per clone would exceed
    /// `MAX_SPLIT_PIECES` and leave most clones in one sparse remainder; packed siblings
    /// give every clone a dense piece of at most 1 / threshold clones.
    #[test]
    fn many_small_clones_are_packed_into_dense_pieces() {
        let mut ops = vec![
            VersionOp::Clone { of: 0, new: 1 },
            VersionOp::Snapshot { of: 1, new: 2 },
        ];
        ops.extend((3..103).map(|c| VersionOp::Clone { of: 1, new: c }));
        let t = tree(&ops);
        let mut kv = VersionTally::default();
        kv.add_many(1, 50, 0);
        for c in 3..103 {
            kv.add_many(c, 1000, 0);
        }
        let pieces = plan_split(&t, &kv, 0.2).expect("split");
        assert!(pieces.len() <= MAX_SPLIT_PIECES, "{pieces:?}");
        let mut all: Vec<_> = pieces.iter().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(
            all,
            kv.iter().map(|(v, _, _)| v).collect::<Vec<_>>(),
            "a partition"
        );
        for p in &pieces {
            let clones = p.iter().filter(|&&v| v >= 3).count();
            assert!(clones <= 5, "a piece with {clones} clones: {p:?}");
            assert!(density(&t, &kv, p) >= 0.2, "{p:?}");
        }
    }
}
