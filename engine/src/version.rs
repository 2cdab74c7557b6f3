//! The version tree.
//!
//! Invariants:
//! 1. Ids are stable and never reused; `ROOT_VERSION` (0) exists from the start, frozen.
//! 2. Only unfrozen, undeleted versions take writes. A version is frozen once it has been
//!    snapshotted (it then has a snapshot successor) or cloned from; the root is frozen.
//! 3. `pre`/`post` are DFS labels (children visited in ascending id order): `a` is an
//!    ancestor-or-self of `b` iff `pre(a) <= pre(b) <= post(a)`. They are recomputed after
//!    every change and never persisted. Because new versions are always the last child of
//!    their parent, relabeling never changes the relative pre-order of existing versions,
//!    so arrays sorted by descending `pre` stay sorted.
//! 4. Deleting a version only marks it; it stays in the tree (its descendants still read
//!    through it) and merges reclaim its entries once no live version can see them.

use crate::{Error, Result, VersionId, ROOT_VERSION};

/// Lifetime cap on versions, so per-merge tables indexed by version id stay bounded.
pub const MAX_VERSIONS: usize = 1 << 20;

/// Public description of a version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionInfo {
    pub id: VersionId,
    pub parent: Option<VersionId>,
    /// No longer writable (snapshotted, cloned from, or the root).
    pub frozen: bool,
    pub deleted: bool,
    /// Children in creation order.
    pub children: Vec<VersionId>,
    /// The child that `snapshot` created and moved the writer to, if any.
    pub snapshot_successor: Option<VersionId>,
}

#[derive(Clone, Debug)]
struct Node {
    parent: Option<VersionId>,
    children: Vec<VersionId>,
    frozen: bool,
    deleted: bool,
    successor: Option<VersionId>,
    pre: u32,
    post: u32,
}

/// How a version was created (manifest record kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum VersionOp {
    Snapshot { of: VersionId, new: VersionId },
    Clone { of: VersionId, new: VersionId },
    Delete { version: VersionId },
}

#[derive(Clone, Debug)]
pub(crate) struct VersionTree {
    nodes: Vec<Node>,
}

impl Default for VersionTree {
    fn default() -> Self {
        VersionTree::new()
    }
}

impl VersionTree {
    pub(crate) fn new() -> VersionTree {
        let root = Node {
            parent: None,
            children: Vec::new(),
            frozen: true,
            deleted: false,
            successor: None,
            pre: 0,
            post: 0,
        };
        VersionTree { nodes: vec![root] }
    }

    fn node(&self, v: VersionId) -> Result<&Node> {
        self.nodes.get(v as usize).ok_or(Error::UnknownVersion(v))
    }

    fn node_mut(&mut self, v: VersionId) -> Result<&mut Node> {
        self.nodes
            .get_mut(v as usize)
            .ok_or(Error::UnknownVersion(v))
    }

    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    pub(crate) fn live_count(&self) -> usize {
        self.nodes.iter().filter(|n| !n.deleted).count()
    }

    pub(crate) fn exists(&self, v: VersionId) -> bool {
        (v as usize) < self.nodes.len()
    }

    /// Ok if `v` exists and is not deleted.
    pub(crate) fn check_readable(&self, v: VersionId) -> Result<()> {
        if self.node(v)?.deleted {
            return Err(Error::VersionDeleted(v));
        }
        Ok(())
    }

    /// Ok if `v` takes writes.
    pub(crate) fn check_writable(&self, v: VersionId) -> Result<()> {
        let n = self.node(v)?;
        if n.deleted {
            return Err(Error::VersionDeleted(v));
        }
        if n.frozen {
            return Err(Error::VersionFrozen(v));
        }
        Ok(())
    }

    fn next_id(&self) -> Result<VersionId> {
        if self.nodes.len() >= MAX_VERSIONS {
            return Err(Error::LimitExceeded(format!(
                "more than {MAX_VERSIONS} versions"
            )));
        }
        VersionId::try_from(self.nodes.len())
            .map_err(|_| Error::LimitExceeded("version id space".into()))
    }

    /// Validates `op` against the current tree (so the manifest never records an invalid op).
    pub(crate) fn plan(&self, op: VersionOp) -> Result<()> {
        match op {
            VersionOp::Snapshot { of, new } => {
                self.check_writable(of)?;
                self.expect_next(new)
            }
            VersionOp::Clone { of, new } => {
                let n = self.node(of)?;
                if n.deleted {
                    return Err(Error::VersionDeleted(of));
                }
                if !n.frozen {
                    return Err(Error::VersionWritable(of));
                }
                self.expect_next(new)
            }
            VersionOp::Delete { version } => {
                if version == ROOT_VERSION {
                    return Err(Error::RootVersion("deleted"));
                }
                self.check_readable(version)
            }
        }
    }

    fn expect_next(&self, new: VersionId) -> Result<()> {
        if new != self.next_id()? {
            return Err(Error::InvalidArgument(format!(
                "version {new} is not the next id"
            )));
        }
        Ok(())
    }

    /// The id the next created version will get.
    pub(crate) fn peek_next_id(&self) -> Result<VersionId> {
        self.next_id()
    }

    /// Validates and applies `op`.
    pub(crate) fn apply(&mut self, op: VersionOp) -> Result<()> {
        self.plan(op)?;
        match op {
            VersionOp::Snapshot { of, new } => {
                self.add_child(of, new)?;
                self.node_mut(of)?.successor = Some(new);
            }
            VersionOp::Clone { of, new } => self.add_child(of, new)?,
            VersionOp::Delete { version } => self.node_mut(version)?.deleted = true,
        }
        self.relabel();
        Ok(())
    }

    fn add_child(&mut self, parent: VersionId, child: VersionId) -> Result<()> {
        let p = self.node_mut(parent)?;
        p.frozen = true;
        p.children.push(child);
        self.nodes.push(Node {
            parent: Some(parent),
            children: Vec::new(),
            frozen: false,
            deleted: false,
            successor: None,
            pre: 0,
            post: 0,
        });
        Ok(())
    }

    /// Recomputes DFS pre/post labels with an explicit stack (no recursion depth limit).
    fn relabel(&mut self) {
        let mut counter = 0u32;
        // (version, next child index to visit)
        let mut stack: Vec<(VersionId, usize)> = vec![(ROOT_VERSION, 0)];
        if let Some(root) = self.nodes.get_mut(0) {
            root.pre = 0;
        }
        while let Some(top) = stack.last_mut() {
            let (v, idx) = *top;
            let child = self
                .nodes
                .get(v as usize)
                .and_then(|n| n.children.get(idx))
                .copied();
            match child {
                Some(c) => {
                    top.1 += 1;
                    counter += 1;
                    if let Some(n) = self.nodes.get_mut(c as usize) {
                        n.pre = counter;
                    }
                    stack.push((c, 0));
                }
                None => {
                    if let Some(n) = self.nodes.get_mut(v as usize) {
                        n.post = counter;
                    }
                    stack.pop();
                }
            }
        }
    }

    /// DFS pre-order label of `v` (0 for unknown versions; callers check existence first).
    pub(crate) fn pre(&self, v: VersionId) -> u32 {
        self.nodes.get(v as usize).map_or(0, |n| n.pre)
    }

    /// True if `a` is an ancestor of `b` or `a == b`. O(1).
    pub(crate) fn is_ancestor_or_self(&self, a: VersionId, b: VersionId) -> bool {
        match (self.nodes.get(a as usize), self.nodes.get(b as usize)) {
            (Some(na), Some(nb)) => na.pre <= nb.pre && nb.pre <= na.post,
            _ => false,
        }
    }

    /// True if one of `a`, `b` is an ancestor-or-self of the other.
    pub(crate) fn related(&self, a: VersionId, b: VersionId) -> bool {
        self.is_ancestor_or_self(a, b) || self.is_ancestor_or_self(b, a)
    }

    /// The versions on the root-to-`v` path, sorted by id (for binary search).
    pub(crate) fn path(&self, v: VersionId) -> Result<Vec<VersionId>> {
        let mut out = Vec::new();
        let mut cur = Some(v);
        while let Some(c) = cur {
            out.push(c);
            cur = self.node(c)?.parent;
        }
        out.sort_unstable();
        Ok(out)
    }

    pub(crate) fn children(&self, v: VersionId) -> &[VersionId] {
        self.nodes
            .get(v as usize)
            .map_or(&[], |n| n.children.as_slice())
    }

    /// Follows snapshot successors from `v` to the version that currently takes its writes.
    pub(crate) fn writable_head(&self, v: VersionId) -> Result<VersionId> {
        let mut cur = v;
        // Each step moves to a strictly larger id, so this terminates within `len` steps.
        for _ in 0..self.nodes.len() {
            let n = self.node(cur)?;
            match n.successor {
                Some(next) => cur = next,
                None => {
                    self.check_writable(cur)?;
                    return Ok(cur);
                }
            }
        }
        Err(Error::corruption(
            "version tree",
            "snapshot successor cycle",
        ))
    }

    pub(crate) fn info(&self, v: VersionId) -> Option<VersionInfo> {
        let n = self.nodes.get(v as usize)?;
        Some(VersionInfo {
            id: v,
            parent: n.parent,
            frozen: n.frozen,
            deleted: n.deleted,
            children: n.children.clone(),
            snapshot_successor: n.successor,
        })
    }

    pub(crate) fn is_deleted(&self, v: VersionId) -> bool {
        self.nodes.get(v as usize).is_some_and(|n| n.deleted)
    }

    /// For every version: true if it or some descendant is not deleted, i.e. some live
    /// version can still see entries written at it. Indexed by version id.
    pub(crate) fn needed_table(&self) -> Vec<bool> {
        let mut needed: Vec<bool> = self.nodes.iter().map(|n| !n.deleted).collect();
        // Children always have larger ids than their parent: one reverse sweep propagates up.
        for v in (1..self.nodes.len()).rev() {
            let parent = self.nodes.get(v).and_then(|n| n.parent);
            if let (Some(p), Some(&true)) = (parent, needed.get(v)) {
                if let Some(slot) = needed.get_mut(p as usize) {
                    *slot = true;
                }
            }
        }
        needed
    }

    /// All ops that rebuild this tree from an empty one (manifest compaction).
    pub(crate) fn rebuild_ops(&self) -> Vec<VersionOp> {
        let mut ops = Vec::new();
        for (id, n) in self.nodes.iter().enumerate().skip(1) {
            let (Some(parent), Ok(new)) = (n.parent, VersionId::try_from(id)) else {
                continue;
            };
            let snapshot = self.nodes.get(parent as usize).and_then(|p| p.successor) == Some(new);
            ops.push(if snapshot {
                VersionOp::Snapshot { of: parent, new }
            } else {
                VersionOp::Clone { of: parent, new }
            });
        }
        for (id, n) in self.nodes.iter().enumerate() {
            if let (true, Ok(version)) = (n.deleted, VersionId::try_from(id)) {
                ops.push(VersionOp::Delete { version });
            }
        }
        ops
    }
}

/// Per-version counters (entries, bytes), kept sorted by version id. Built for streams
/// where consecutive items usually share a version: the last slot used is checked first.
#[derive(Debug, Default, Clone)]
pub(crate) struct VersionTally {
    slots: Vec<(VersionId, u64, u64)>,
    last: usize,
}

impl VersionTally {
    pub(crate) fn add(&mut self, version: VersionId, bytes: u64) {
        self.add_many(version, 1, bytes);
    }

    pub(crate) fn add_many(&mut self, version: VersionId, entries: u64, bytes: u64) {
        let i = match self.slots.get(self.last) {
            Some(s) if s.0 == version => self.last,
            _ => match self.slots.binary_search_by_key(&version, |s| s.0) {
                Ok(i) => i,
                Err(i) => {
                    self.slots.insert(i, (version, 0, 0));
                    i
                }
            },
        };
        if let Some(s) = self.slots.get_mut(i) {
            s.1 += entries;
            s.2 += bytes;
        }
        self.last = i;
    }

    /// `(version, entries, bytes)` sorted by version id.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (VersionId, u64, u64)> + '_ {
        self.slots.iter().copied()
    }

    pub(crate) fn entries(&self, version: VersionId) -> u64 {
        self.slots
            .binary_search_by_key(&version, |s| s.0)
            .ok()
            .and_then(|i| self.slots.get(i))
            .map_or(0, |s| s.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree_with(ops: &[VersionOp]) -> VersionTree {
        let mut t = VersionTree::new();
        for op in ops {
            t.apply(*op).unwrap();
        }
        t
    }

    #[test]
    fn snapshot_freezes_and_moves_the_writer() {
        let t = tree_with(&[
            VersionOp::Clone { of: 0, new: 1 },
            VersionOp::Snapshot { of: 1, new: 2 },
        ]);
        assert!(matches!(t.check_writable(1), Err(Error::VersionFrozen(1))));
        t.check_writable(2).unwrap();
        assert_eq!(t.writable_head(1).unwrap(), 2);
        assert!(t.is_ancestor_or_self(1, 2));
        assert!(!t.is_ancestor_or_self(2, 1));
        assert_eq!(t.path(2).unwrap(), vec![0, 1, 2]);
    }

    #[test]
    fn clone_needs_a_frozen_version_and_keeps_labels_consistent() {
        let mut t = tree_with(&[VersionOp::Clone { of: 0, new: 1 }]);
        assert!(matches!(
            t.apply(VersionOp::Clone { of: 1, new: 2 }),
            Err(Error::VersionWritable(1))
        ));
        t.apply(VersionOp::Snapshot { of: 1, new: 2 }).unwrap();
        t.apply(VersionOp::Clone { of: 1, new: 3 }).unwrap();
        t.apply(VersionOp::Clone { of: 0, new: 4 }).unwrap();
        // DFS pre-order: 0,1,2,3,4 and ancestry by labels matches parent links.
        for a in 0..5 {
            for b in 0..5 {
                let by_walk = t.path(b).unwrap().contains(&a);
                assert_eq!(t.is_ancestor_or_self(a, b), by_walk, "{a} {b}");
            }
        }
        assert!(!t.related(2, 3));
        assert!(t.pre(2) < t.pre(3));
    }

    #[test]
    fn delete_marks_and_needed_table_follows_live_descendants() {
        let t = tree_with(&[
            VersionOp::Clone { of: 0, new: 1 },
            VersionOp::Snapshot { of: 1, new: 2 },
            VersionOp::Clone { of: 1, new: 3 },
            VersionOp::Delete { version: 1 },
            VersionOp::Delete { version: 3 },
        ]);
        assert!(matches!(t.check_readable(1), Err(Error::VersionDeleted(1))));
        let needed = t.needed_table();
        assert_eq!(needed, vec![true, true, true, false]);
        let mut root = VersionTree::new();
        assert!(matches!(
            root.apply(VersionOp::Delete { version: 0 }),
            Err(Error::RootVersion(_))
        ));
    }

    #[test]
    fn tally_counts_per_version_in_id_order() {
        let mut t = VersionTally::default();
        for v in [5, 5, 2, 9, 2, 5] {
            t.add(v, 10);
        }
        assert_eq!(
            t.iter().collect::<Vec<_>>(),
            vec![(2, 2, 20), (5, 3, 30), (9, 1, 10)]
        );
        assert_eq!(t.entries(5), 3);
        assert_eq!(t.entries(7), 0);
    }

    #[test]
    fn rebuild_ops_reproduce_the_tree() {
        let t = tree_with(&[
            VersionOp::Clone { of: 0, new: 1 },
            VersionOp::Snapshot { of: 1, new: 2 },
            VersionOp::Clone { of: 1, new: 3 },
            VersionOp::Delete { version: 3 },
        ]);
        let again = tree_with(&t.rebuild_ops());
        for v in 0..4 {
            assert_eq!(t.info(v), again.info(v));
        }
    }
}
