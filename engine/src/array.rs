//! Immutable sorted arrays: one file per array, plus the shared block cache.
//!
//! File layout (all integers little-endian; see DESIGN.md for the byte diagrams):
//! `[data block]* [index block] [bloom block] [meta block] [footer (52 bytes)]`.
//!
//! Invariants:
//! 1. Entries are sorted by key ascending, then version by descending DFS pre-order
//!    (descendants before ancestors). A key's run may span blocks; the index stores each
//!    block's *last* key, so the first block that can hold key `k` is the first whose last
//!    key is `>= k`.
//! 2. Every block (data, index, bloom, meta) and the footer carry a CRC32; a data block is
//!    verified when it is read from storage (before it enters the cache) or, through a map
//!    (`DiskAccessMode::Mmap`), each time a reader takes it from the map; the others when
//!    the array is opened. Nothing unverified is ever decoded into an answer.
//! 3. An array file is written as `<name>.tmp`, fsynced and renamed; it is referenced by
//!    the manifest only after that, and removed only once no reader holds it
//!    (`mark_obsolete` + last `Arc` dropped).
//! 4. The meta block lists the array's version set (every version with an entry in it)
//!    with per-version entry and byte counts, and the min/max client timestamp.

use std::collections::{HashMap, VecDeque};
use std::ops::Bound;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::cell::{encode_entry, EntryFormat, MAX_KEY_BYTES, MAX_VALUE_BYTES};
use crate::codec::{
    check_trailing_crc, hash64, key_prefix, put_bytes, put_i64, put_u32, put_u64, seal_crc,
    DecodeError, DecodeResult, Reader,
};
use crate::version::VersionTally;
use crate::{Cell, DiskAccessMode, Error, PrefixExtractor, Result, Storage, VersionId};

const ARRAY_MAGIC: u64 = 0x5241_4154_4152_5453; // "STRATAAR" read as little-endian bytes
/// Format written: 2 = compact entries. Format 1 (fixed-width entries) is still read.
const FORMAT_VERSION: u32 = 2;

/// The entry encoding of an array file's format version.
fn entry_format(version: u32) -> Option<EntryFormat> {
    match version {
        1 => Some(EntryFormat::Fixed),
        2 => Some(EntryFormat::Compact),
        _ => None,
    }
}
const FOOTER_LEN: usize = 52;
/// A single entry can be as large as a maximal key plus value; blocks are bounded by that.
const MAX_BLOCK_BYTES: usize = MAX_VALUE_BYTES + MAX_KEY_BYTES + (1 << 20);
/// Builder output is appended to storage in chunks of this size.
const WRITE_CHUNK: usize = 1 << 20;
/// Cap on the index/bloom/meta blocks read at open (guards allocation on a corrupt footer).
const MAX_AUX_BLOCK_BYTES: usize = 1 << 30;

pub(crate) fn array_file_name(id: u64) -> String {
    format!("{id:010}.arr")
}

/// Per-version statistics stored in the meta block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct VersionStat {
    pub version: VersionId,
    pub entries: u64,
    pub bytes: u64,
}

/// The meta block: the array's version set and statistics.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ArrayMeta {
    pub entries: u64,
    pub keys: u64,
    pub min_ts: i64,
    pub max_ts: i64,
    /// Sorted by version id; this is the array's version set.
    pub versions: Vec<VersionStat>,
}

impl ArrayMeta {
    fn encode(&self, out: &mut Vec<u8>) {
        put_u64(out, self.entries);
        put_u64(out, self.keys);
        put_i64(out, self.min_ts);
        put_i64(out, self.max_ts);
        put_u32(out, crate::codec::len_u32(self.versions.len()));
        for v in &self.versions {
            put_u32(out, v.version);
            put_u64(out, v.entries);
            put_u64(out, v.bytes);
        }
    }

    fn decode(buf: &[u8]) -> DecodeResult<ArrayMeta> {
        let mut r = Reader::new(buf);
        let (entries, keys, min_ts, max_ts) = (r.u64()?, r.u64()?, r.i64()?, r.i64()?);
        let n = r.count(20)?;
        let mut versions = Vec::with_capacity(n);
        for _ in 0..n {
            versions.push(VersionStat {
                version: r.u32()?,
                entries: r.u64()?,
                bytes: r.u64()?,
            });
        }
        if !versions
            .windows(2)
            .all(|w| matches!(w, [a, b] if a.version < b.version))
        {
            return Err(DecodeError("version set not sorted"));
        }
        Ok(ArrayMeta {
            entries,
            keys,
            min_ts,
            max_ts,
            versions,
        })
    }

    /// True if the version set contains a version of `path` (both sorted by id).
    pub(crate) fn intersects(&self, path: &[VersionId]) -> bool {
        let (mut i, mut j) = (0, 0);
        while let (Some(a), Some(&b)) = (self.versions.get(i), path.get(j)) {
            match a.version.cmp(&b) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => return true,
            }
        }
        false
    }

    pub(crate) fn contains_version(&self, v: VersionId) -> bool {
        self.versions
            .binary_search_by_key(&v, |s| s.version)
            .is_ok()
    }
}

/// Bloom filter over keys, *blocked*: all probes of a key fall in one 64-byte block (one
/// cache line), chosen by the hash's high half; the probes inside it come from the low half
/// by double hashing.
#[derive(Debug, Clone)]
struct Bloom {
    k: u32,
    bits: Vec<u8>,
}

const BLOOM_BLOCK_BYTES: usize = 64;

/// Blocks a filter needs for `keys` keys at `bits_per_key` (at least one).
fn bloom_blocks(keys: u64, bits_per_key: u32) -> usize {
    let bytes = keys.saturating_mul(u64::from(bits_per_key)).div_ceil(8);
    usize::try_from(bytes.div_ceil(BLOOM_BLOCK_BYTES as u64))
        .unwrap_or(usize::MAX)
        .max(1)
}

impl Bloom {
    /// No filter (`may_contain` is always true): an empty array, or filtering disabled.
    fn none() -> Bloom {
        Bloom {
            k: 0,
            bits: Vec::new(),
        }
    }

    /// An empty filter with room for `expected_keys` keys, filled while an array is built
    /// (so a builder keeps no per-key hashes: its memory is the filter, not 8 bytes a key).
    /// The block count is a power of two so `fold_to` can halve it once the real count is
    /// known; `expected_keys` is an upper bound (too low only raises false positives).
    fn with_capacity(expected_keys: u64, bits_per_key: u32) -> Bloom {
        if bits_per_key == 0 {
            return Bloom::none();
        }
        let nblocks = bloom_blocks(expected_keys, bits_per_key)
            .checked_next_power_of_two()
            .unwrap_or(1 << 24)
            .min(1 << 24);
        let k = ((f64::from(bits_per_key) * 0.69) as u32).clamp(1, 30);
        Bloom {
            k,
            bits: vec![0u8; nblocks * BLOOM_BLOCK_BYTES],
        }
    }

    fn insert(&mut self, h: u64) {
        let (block, probes) = self.probes(h);
        for bit in probes {
            if let Some(b) = self.bits.get_mut(block + bit / 8) {
                *b |= 1 << (bit % 8);
            }
        }
    }

    /// Shrinks the filter to the fewest blocks (a power of two) that still give `keys` keys
    /// `bits_per_key` bits each; an empty array gets no filter. Halving ORs block `2i + 1`
    /// into block `2i`: with `n = 2^b` blocks a key's block is the top `b` bits of its hash's
    /// high half (see `probes`), so with `n / 2` it is that index shifted right by one, and
    /// the bit positions inside a block do not depend on `n`.
    fn fold_to(&mut self, keys: u64, bits_per_key: u32) {
        if keys == 0 || self.k == 0 {
            *self = Bloom::none();
            return;
        }
        let needed = bloom_blocks(keys, bits_per_key);
        let mut nblocks = self.bits.len() / BLOOM_BLOCK_BYTES;
        while nblocks.is_multiple_of(2) && nblocks / 2 >= needed {
            nblocks /= 2;
            for i in 0..nblocks {
                for j in 0..BLOOM_BLOCK_BYTES {
                    let odd = self
                        .bits
                        .get((2 * i + 1) * BLOOM_BLOCK_BYTES + j)
                        .copied()
                        .unwrap_or(0);
                    let even = self
                        .bits
                        .get(2 * i * BLOOM_BLOCK_BYTES + j)
                        .copied()
                        .unwrap_or(0);
                    if let Some(b) = self.bits.get_mut(i * BLOOM_BLOCK_BYTES + j) {
                        *b = even | odd;
                    }
                }
            }
            self.bits.truncate(nblocks * BLOOM_BLOCK_BYTES);
        }
        self.bits.shrink_to_fit();
    }

    /// Byte offset of the key's block and the bit positions (0..512) inside it.
    fn probes(&self, h: u64) -> (usize, impl Iterator<Item = usize>) {
        let nblocks = (self.bits.len() / BLOOM_BLOCK_BYTES) as u64;
        let block = (((h >> 32) * nblocks) >> 32) as usize * BLOOM_BLOCK_BYTES;
        let mut x = h as u32;
        let delta = ((h >> 21) as u32) | 1;
        let probes = (0..self.k).map(move |_| {
            let bit = (x as usize) % (BLOOM_BLOCK_BYTES * 8);
            x = x.wrapping_add(delta);
            bit
        });
        (block, probes)
    }

    fn may_contain(&self, h: u64) -> bool {
        if self.k == 0 || self.bits.len() < BLOOM_BLOCK_BYTES {
            return true;
        }
        let (block, mut probes) = self.probes(h);
        probes.all(|bit| {
            self.bits
                .get(block + bit / 8)
                .is_some_and(|b| b & (1 << (bit % 8)) != 0)
        })
    }

    fn encode(&self, out: &mut Vec<u8>) {
        put_u32(out, self.k);
        put_bytes(out, &self.bits);
    }

    fn read(r: &mut Reader<'_>) -> DecodeResult<Bloom> {
        let k = r.u32()?;
        let bits = r.bytes(MAX_AUX_BLOCK_BYTES)?.to_vec();
        if k > 30 || bits.len() % BLOOM_BLOCK_BYTES != 0 {
            return Err(DecodeError("bloom parameters out of range"));
        }
        Ok(Bloom { k, bits })
    }
}

/// Longest extractor name an array file may carry.
const MAX_EXTRACTOR_NAME_BYTES: usize = 256;

/// Which Bloom filters an array builder writes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FilterPolicy {
    pub bits_per_key: u32,
    pub prefix: Option<PrefixExtractor>,
    pub whole_keys: bool,
}

/// An array's filters: the bloom block holds the key filter, then (optionally) the
/// extractor's name and the prefix filter. Files without the second part simply have no
/// prefix filter.
#[derive(Debug)]
struct Filters {
    keys: Bloom,
    prefixes: Option<(String, Bloom)>,
}

impl Filters {
    fn encode(&self, out: &mut Vec<u8>) {
        self.keys.encode(out);
        if let Some((name, bloom)) = &self.prefixes {
            put_bytes(out, name.as_bytes());
            bloom.encode(out);
        }
    }

    fn decode(buf: &[u8]) -> DecodeResult<Filters> {
        let mut r = Reader::new(buf);
        let keys = Bloom::read(&mut r)?;
        let prefixes = if r.remaining() == 0 {
            None
        } else {
            let name = std::str::from_utf8(r.bytes(MAX_EXTRACTOR_NAME_BYTES)?)
                .map_err(|_| DecodeError("extractor name is not UTF-8"))?;
            Some((name.to_string(), Bloom::read(&mut r)?))
        };
        Ok(Filters { keys, prefixes })
    }
}

/// A finished block as the builder records it.
#[derive(Debug)]
struct IndexEntry {
    last_key: Vec<u8>,
    offset: u64,
    len: u32,
}

/// One block in the reader's index.
#[derive(Debug)]
struct IndexSlot {
    key_start: u32,
    key_len: u32,
    offset: u64,
    len: u32,
}

/// The reader's block index: all last keys in one buffer, fixed-size slots beside them,
/// and each last key's first 8 bytes (big-endian, zero-padded) as an integer in a dense
/// array of their own, plus a radix table over those integers' top bits. A point read
/// looks up its prefix's bucket in the table, binary-searches the few prefixes in that
/// bucket, and compares key bytes only among blocks whose last keys share the sought key's
/// first 8 bytes. An 8-byte token leads every server key, so buckets hold one or two
/// blocks: a lookup touches about four cache lines instead of a binary search's dozen
/// over an index of ~100k blocks. Skewed prefixes only make buckets larger (the search
/// within a bucket is still binary), never wrong.
#[derive(Debug, Default)]
struct BlockIndex {
    keys: Vec<u8>,
    slots: Vec<IndexSlot>,
    prefixes: Vec<u64>,
    /// `radix[b]` is the first block whose prefix's top bits (`prefix >> radix_shift`) are
    /// `>= b`; one more entry than buckets, the last being the block count.
    radix: Vec<u32>,
    radix_shift: u32,
}

impl BlockIndex {
    fn len(&self) -> usize {
        self.slots.len()
    }

    fn slot(&self, i: usize) -> Option<&IndexSlot> {
        self.slots.get(i)
    }

    fn last_key(&self, slot: &IndexSlot) -> &[u8] {
        let start = slot.key_start as usize;
        self.keys
            .get(start..start + slot.key_len as usize)
            .unwrap_or_default()
    }

    /// Index of the first block whose last key is `>= key` (`> key` if `strict`), i.e. the
    /// first block that can hold an entry `>= key` (`> key`).
    ///
    /// Zero-padded prefixes order like the keys themselves wherever they differ, so blocks
    /// before `prefix`'s run of equal prefixes end before `key` and those after it end after
    /// it; only the run's last keys are compared byte by byte.
    fn first_block_reaching(&self, key: &[u8], strict: bool) -> usize {
        let prefix = key_prefix(key);
        // Blocks before the bucket have smaller prefixes, blocks after it larger ones.
        let (start, end) = self.bucket(prefix);
        let bucket = self.prefixes.get(start..end).unwrap_or_default();
        let below = bucket.partition_point(|&p| p < prefix);
        let same = bucket
            .get(below..)
            .unwrap_or_default()
            .partition_point(|&p| p == prefix);
        let run = self
            .slots
            .get(start + below..start + below + same)
            .unwrap_or_default();
        start
            + below
            + run.partition_point(|slot| {
                if strict {
                    self.last_key(slot) <= key
                } else {
                    self.last_key(slot) < key
                }
            })
    }

    /// The range of blocks whose prefixes share `prefix`'s radix bucket.
    fn bucket(&self, prefix: u64) -> (usize, usize) {
        let b = (prefix >> self.radix_shift) as usize;
        let at = |i: usize| self.radix.get(i).map_or(self.len(), |&x| x as usize);
        (at(b), at(b + 1))
    }

    /// Builds the radix table over the (sorted) prefixes: about one bucket per block, at
    /// most 2^MAX_RADIX_BITS buckets.
    fn build_radix(&mut self) {
        let bits = self.len().max(2).ilog2().min(MAX_RADIX_BITS);
        self.radix_shift = 64 - bits;
        let buckets = 1usize << bits;
        self.radix = Vec::with_capacity(buckets + 1);
        for (i, &p) in self.prefixes.iter().enumerate() {
            let b = (p >> self.radix_shift) as usize;
            while self.radix.len() <= b {
                self.radix.push(crate::codec::len_u32(i));
            }
        }
        self.radix
            .resize(buckets + 1, crate::codec::len_u32(self.len()));
    }
}

/// Radix-table size bound: 2^20 buckets (4 MiB) serve arrays of up to a million blocks
/// (4 GiB of 4 KiB blocks) at one block per bucket; larger arrays get fuller buckets.
const MAX_RADIX_BITS: u32 = 20;

/// Writes one array file. Entries must be added in array order (invariant 1).
pub(crate) struct ArrayBuilder {
    storage: Arc<dyn Storage>,
    id: u64,
    tmp_name: String,
    block_bytes: usize,
    filters: FilterPolicy,
    out: Vec<u8>,
    file_len: u64,
    block: Vec<u8>,
    offsets: Vec<u32>,
    index: Vec<IndexEntry>,
    last_key: Vec<u8>,
    keys: u64,
    key_filter: Bloom,
    /// One entry per run of keys sharing a prefix (keys arrive sorted, so runs are whole).
    prefixes: u64,
    prefix_filter: Bloom,
    stats: VersionTally,
    entries: u64,
    min_ts: i64,
    max_ts: i64,
}

impl ArrayBuilder {
    /// `expected_keys`: an upper bound of the distinct keys to come (sizes the filters).
    pub(crate) fn new(
        storage: Arc<dyn Storage>,
        id: u64,
        block_bytes: usize,
        filters: FilterPolicy,
        expected_keys: u64,
    ) -> Result<ArrayBuilder> {
        let tmp_name = format!("{}.tmp", array_file_name(id));
        storage.create(&tmp_name)?;
        Ok(ArrayBuilder {
            storage,
            id,
            tmp_name,
            block_bytes: block_bytes.clamp(256, 1 << 20),
            filters,
            out: Vec::with_capacity(WRITE_CHUNK),
            file_len: 0,
            block: Vec::new(),
            offsets: Vec::new(),
            index: Vec::new(),
            last_key: Vec::new(),
            keys: 0,
            key_filter: if filters.whole_keys {
                Bloom::with_capacity(expected_keys, filters.bits_per_key)
            } else {
                Bloom::none()
            },
            prefixes: 0,
            prefix_filter: if filters.prefix.is_some() {
                Bloom::with_capacity(expected_keys, filters.bits_per_key)
            } else {
                Bloom::none()
            },
            stats: VersionTally::default(),
            entries: 0,
            min_ts: i64::MAX,
            max_ts: i64::MIN,
        })
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    pub(crate) fn entries(&self) -> u64 {
        self.entries
    }

    /// Appends an entry. Keys must be non-decreasing (checked: a violation is a bug upstream).
    pub(crate) fn add(&mut self, key: &[u8], version: VersionId, cell: &Cell) -> Result<()> {
        let new_key = self.entries == 0 || key != self.last_key.as_slice();
        if new_key {
            if self.entries > 0 && key < self.last_key.as_slice() {
                return Err(Error::InvalidArgument(
                    "array entries added out of key order".into(),
                ));
            }
            self.keys += 1;
            if self.filters.whole_keys {
                self.key_filter.insert(hash64(key));
            }
            self.note_prefix(key);
            self.last_key.clear();
            self.last_key.extend_from_slice(key);
        }
        let entry_start = self.block.len();
        self.offsets.push(crate::codec::len_u32(entry_start));
        encode_entry(&mut self.block, key, version, cell);
        self.stats
            .add(version, (self.block.len() - entry_start) as u64);
        self.entries += 1;
        self.min_ts = self.min_ts.min(cell.timestamp);
        self.max_ts = self.max_ts.max(cell.timestamp);
        if self.block.len() >= self.block_bytes {
            self.finish_block()?;
        }
        Ok(())
    }

    /// Records `key`'s prefix unless the previous key (still in `last_key`) had the same one.
    fn note_prefix(&mut self, key: &[u8]) {
        let Some(extractor) = self.filters.prefix else {
            return;
        };
        let Some(prefix) = extractor.prefix(key) else {
            return;
        };
        if self.entries == 0 || extractor.prefix(&self.last_key) != Some(prefix) {
            self.prefixes += 1;
            self.prefix_filter.insert(hash64(prefix));
        }
    }

    fn finish_block(&mut self) -> Result<()> {
        if self.offsets.is_empty() {
            return Ok(());
        }
        let start = self.out.len();
        self.out.extend_from_slice(&self.block);
        for off in &self.offsets {
            put_u32(&mut self.out, *off);
        }
        put_u32(&mut self.out, crate::codec::len_u32(self.offsets.len()));
        seal_crc(&mut self.out, start);
        let len = self.out.len() - start;
        self.index.push(IndexEntry {
            last_key: self.last_key.clone(),
            offset: self.file_len,
            len: crate::codec::len_u32(len),
        });
        self.file_len += len as u64;
        self.block.clear();
        self.offsets.clear();
        if self.out.len() >= WRITE_CHUNK {
            self.storage.append(&self.tmp_name, &self.out)?;
            self.out.clear();
        }
        Ok(())
    }

    /// Writes index, Bloom filter, meta block and footer; fsyncs and renames the file into
    /// place. The caller syncs the directory and commits the array in the manifest.
    pub(crate) fn finish(mut self) -> Result<u64> {
        self.finish_block()?;
        let mut offs = [(0u64, 0u32); 3];
        for (slot, part) in offs.iter_mut().zip(0..3) {
            let start = self.out.len();
            match part {
                0 => {
                    put_u32(&mut self.out, crate::codec::len_u32(self.index.len()));
                    for e in &self.index {
                        put_bytes(&mut self.out, &e.last_key);
                        put_u64(&mut self.out, e.offset);
                        put_u32(&mut self.out, e.len);
                    }
                }
                1 => self.build_filters().encode(&mut self.out),
                _ => self.meta().encode(&mut self.out),
            }
            seal_crc(&mut self.out, start);
            let len = self.out.len() - start;
            *slot = (self.file_len, crate::codec::len_u32(len));
            self.file_len += len as u64;
        }
        let start = self.out.len();
        for (off, len) in offs {
            put_u64(&mut self.out, off);
            put_u32(&mut self.out, len);
        }
        put_u32(&mut self.out, FORMAT_VERSION);
        put_u64(&mut self.out, ARRAY_MAGIC);
        seal_crc(&mut self.out, start);
        self.file_len += (self.out.len() - start) as u64;
        self.storage.append(&self.tmp_name, &self.out)?;
        self.storage.sync(&self.tmp_name)?;
        self.storage
            .rename(&self.tmp_name, &array_file_name(self.id))?;
        Ok(self.file_len)
    }

    fn build_filters(&mut self) -> Filters {
        let bits = self.filters.bits_per_key;
        let mut keys = std::mem::replace(&mut self.key_filter, Bloom::none());
        keys.fold_to(self.keys, bits);
        let mut prefixes = std::mem::replace(&mut self.prefix_filter, Bloom::none());
        prefixes.fold_to(self.prefixes, bits);
        Filters {
            keys,
            prefixes: self.filters.prefix.map(|e| (e.name.to_string(), prefixes)),
        }
    }

    fn meta(&self) -> ArrayMeta {
        let versions: Vec<VersionStat> = self
            .stats
            .iter()
            .map(|(version, entries, bytes)| VersionStat {
                version,
                entries,
                bytes,
            })
            .collect();
        ArrayMeta {
            entries: self.entries,
            keys: self.keys,
            min_ts: if self.entries == 0 { 0 } else { self.min_ts },
            max_ts: if self.entries == 0 { 0 } else { self.max_ts },
            versions,
        }
    }

    /// Removes the partial file (after an error or when the output is discarded).
    pub(crate) fn abandon(self) {
        let _ = self.storage.remove(&self.tmp_name);
    }
}

/// A data block that failed verification: where it is in its file and which keys it held
/// (from the in-memory index, which is verified separately), so an operator can tell which
/// data is unreadable and `Engine::scrub` can report what it dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Damage {
    /// The array file, e.g. `0000000012.arr`.
    pub file: String,
    /// Block number in the file.
    pub block: usize,
    /// Byte range of the block in the file.
    pub offset: u64,
    pub len: u32,
    /// The block's keys are above `after` (the previous block's last key; `None` for the
    /// first block) and at most `last`.
    pub after: Option<Vec<u8>>,
    pub last: Vec<u8>,
    /// What the verification found.
    pub detail: String,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "block {} (bytes {}..{}, keys after {} through {}): {}",
            self.block,
            self.offset,
            self.offset + u64::from(self.len),
            self.after
                .as_deref()
                .map_or("the start".to_string(), short_hex),
            short_hex(&self.last),
            self.detail
        )
    }
}

/// A key for messages: hex, cut after 24 bytes.
fn short_hex(key: &[u8]) -> String {
    let mut out = String::from("0x");
    for b in key.iter().take(24) {
        out.push_str(&format!("{b:02x}"));
    }
    if key.len() > 24 {
        out.push_str("...");
    }
    out
}

/// A data block's bytes: read into an allocation (and the cache), or a range of the array's
/// map, shared without a copy.
enum BlockBytes {
    Owned(Vec<u8>),
    Mapped {
        map: Arc<memmap2::Mmap>,
        start: usize,
        len: usize,
    },
}

impl BlockBytes {
    fn truncate(&mut self, to: usize) {
        match self {
            BlockBytes::Owned(v) => v.truncate(to),
            BlockBytes::Mapped { len, .. } => *len = to.min(*len),
        }
    }
}

impl std::ops::Deref for BlockBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            BlockBytes::Owned(v) => v,
            // The range was checked against the map's length when the array was opened.
            BlockBytes::Mapped { map, start, len } => {
                map.get(*start..start + len).unwrap_or_default()
            }
        }
    }
}

/// A verified data block.
pub(crate) struct Block {
    data: BlockBytes,
    count: usize,
    offsets_at: usize,
    format: EntryFormat,
}

impl Block {
    fn parse(mut raw: BlockBytes, format: EntryFormat) -> DecodeResult<Block> {
        let body_len = check_trailing_crc(&raw)?.len();
        raw.truncate(body_len);
        let count_at = body_len
            .checked_sub(4)
            .ok_or(DecodeError("block too short"))?;
        let count = Reader::new(raw.get(count_at..).unwrap_or_default()).u32()? as usize;
        let offsets_at = count
            .checked_mul(4)
            .and_then(|n| count_at.checked_sub(n))
            .ok_or(DecodeError("block offsets overflow"))?;
        if count == 0 {
            return Err(DecodeError("empty block"));
        }
        Ok(Block {
            data: raw,
            count,
            offsets_at,
            format,
        })
    }

    fn len(&self) -> usize {
        self.count
    }

    fn entry_reader(&self, i: usize) -> DecodeResult<Reader<'_>> {
        let at = self.offsets_at + i * 4;
        let off = Reader::new(
            self.data
                .get(at..at + 4)
                .ok_or(DecodeError("offset index"))?,
        )
        .u32()? as usize;
        self.data
            .get(off..self.offsets_at)
            .map(Reader::new)
            .ok_or(DecodeError("entry offset out of range"))
    }

    fn key_at(&self, i: usize) -> DecodeResult<&[u8]> {
        self.format.decode_key(&mut self.entry_reader(i)?)
    }

    /// Entry `i`'s key and version, and a reader at its version for `cell_at`.
    fn version_at(&self, i: usize) -> DecodeResult<(&[u8], VersionId, Reader<'_>)> {
        let mut r = self.entry_reader(i)?;
        let key = self.format.decode_key(&mut r)?;
        let version = self.format.decode_version(&mut r.clone())?;
        Ok((key, version, r))
    }

    /// The cell of the entry whose version `rest` (from `version_at`) points at.
    fn cell_at(&self, mut rest: Reader<'_>) -> DecodeResult<Cell> {
        Ok(self.format.decode_tail(&mut rest)?.1)
    }

    /// First entry index whose key is `>= key` (or `> key` if `strict`).
    fn lower_bound(&self, key: &[u8], strict: bool) -> DecodeResult<usize> {
        let (mut lo, mut hi) = (0, self.count);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let k = self.key_at(mid)?;
            let before = if strict { k <= key } else { k < key };
            if before {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    }

    /// What the block costs the process, over-approximated for the cache budget: the
    /// allocator rounds a buffer up to its size class (mimalloc's classes are up to 1/8
    /// apart; a measured 512 MiB cache of ~4.2 KiB blocks took 12.7% more RSS than the
    /// payload bytes), plus the `Arc`, the map slot and the CLOCK ring slot.
    fn memory(&self) -> usize {
        self.data.len() + self.data.len() / 8 + 128
    }
}

/// Shared cache of verified data blocks: 16 shards, each a map plus a CLOCK ring (a block hit
/// since the hand last passed gets a second chance), within a byte budget.
pub(crate) struct BlockCache {
    shards: Vec<Mutex<CacheShard>>,
    shard_budget: usize,
}

/// Hasher for block-cache keys: the key is already well spread (array id, block number),
/// so one multiply-xorshift replaces SipHash on the point-read hot path.
#[derive(Default, Clone, Copy)]
struct BlockKeyHasher(u64);

impl std::hash::Hasher for BlockKeyHasher {
    fn finish(&self) -> u64 {
        let h = self.0.wrapping_mul(0x9e37_79b9_7f4a_7c15);
        h ^ (h >> 29)
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8 | u64::from(b)).rotate_left(5);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.0 = self.0.rotate_left(32) ^ u64::from(n);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = self.0.rotate_left(17) ^ n;
    }
}

/// Cached block plus its CLOCK reference bit (set on every hit, cleared by the eviction hand).
type BlockMap =
    HashMap<(u64, u32), (Arc<Block>, bool), std::hash::BuildHasherDefault<BlockKeyHasher>>;

#[derive(Default)]
struct CacheShard {
    map: BlockMap,
    order: VecDeque<(u64, u32)>,
    bytes: usize,
    /// Lookups of reads that fill the cache (merges do not, so they are not counted).
    hits: u64,
    misses: u64,
}

const CACHE_SHARDS: usize = 16;

impl BlockCache {
    pub(crate) fn new(budget: usize) -> BlockCache {
        BlockCache {
            shards: (0..CACHE_SHARDS).map(|_| Mutex::default()).collect(),
            shard_budget: budget / CACHE_SHARDS,
        }
    }

    fn shard_index(key: (u64, u32)) -> usize {
        (key.0
            .wrapping_mul(31)
            .wrapping_add(u64::from(key.1))
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            >> 60) as usize
            % CACHE_SHARDS
    }

    fn shard(&self, key: (u64, u32)) -> Option<std::sync::MutexGuard<'_, CacheShard>> {
        self.shards
            .get(Self::shard_index(key))
            .map(|m| m.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The cached block; `count` records the lookup as a hit or a miss.
    fn get(&self, key: (u64, u32), count: bool) -> Option<Arc<Block>> {
        let mut shard = self.shard(key)?;
        let found = shard.map.get_mut(&key).map(|(block, referenced)| {
            *referenced = true;
            block.clone()
        });
        if count {
            match found {
                Some(_) => shard.hits += 1,
                None => shard.misses += 1,
            }
        }
        found
    }

    /// Counted hits and misses since start.
    pub(crate) fn hits_and_misses(&self) -> (u64, u64) {
        self.shards.iter().fold((0, 0), |(h, m), s| {
            s.lock().map_or((h, m), |s| (h + s.hits, m + s.misses))
        })
    }

    fn insert(&self, key: (u64, u32), block: Arc<Block>) {
        if self.shard_budget == 0 {
            return;
        }
        let Some(mut shard) = self.shard(key) else {
            return;
        };
        shard.bytes += block.memory();
        if let Some((old, _)) = shard.map.insert(key, (block, false)) {
            shard.bytes = shard.bytes.saturating_sub(old.memory());
        } else {
            shard.order.push_back(key);
        }
        // Each pass of the hand clears a bit or evicts, so two passes over the ring suffice.
        let mut steps = shard.order.len().saturating_mul(2);
        while shard.bytes > self.shard_budget && steps > 0 {
            steps -= 1;
            let Some(victim) = shard.order.pop_front() else {
                break;
            };
            match shard.map.get_mut(&victim) {
                Some((_, referenced)) if *referenced => {
                    *referenced = false;
                    shard.order.push_back(victim);
                }
                Some(_) => {
                    if let Some((b, _)) = shard.map.remove(&victim) {
                        shard.bytes = shard.bytes.saturating_sub(b.memory());
                    }
                }
                None => {}
            }
        }
    }

    pub(crate) fn bytes(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map(|s| s.bytes).unwrap_or(0))
            .sum()
    }

    /// Blocks held.
    pub(crate) fn entries(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map(|s| s.map.len()).unwrap_or(0))
            .sum()
    }
}

/// An open array: index, Bloom filter and meta in memory, data blocks through the cache or
/// the file's map.
pub(crate) struct ArrayReader {
    pub id: u64,
    name: String,
    storage: Arc<dyn Storage>,
    cache: Arc<BlockCache>,
    index: BlockIndex,
    filters: Filters,
    pub meta: ArrayMeta,
    pub file_bytes: u64,
    format: EntryFormat,
    /// The whole file, mapped read-only, in `DiskAccessMode::Mmap` where the storage can
    /// map: reads serving requests take their blocks from here, around the cache.
    mapped: Option<Arc<memmap2::Mmap>>,
    obsolete: AtomicBool,
    /// Blocks found damaged so far (each once); merges leave a damaged array alone.
    damaged: Mutex<Vec<Damage>>,
}

impl Drop for ArrayReader {
    fn drop(&mut self) {
        if self.obsolete.load(Ordering::SeqCst) {
            // Best effort: an orphan left by a failure here is removed at the next open.
            let _ = self.storage.remove(&self.name);
        }
    }
}

impl ArrayReader {
    pub(crate) fn open(
        storage: Arc<dyn Storage>,
        cache: Arc<BlockCache>,
        id: u64,
        mode: DiskAccessMode,
    ) -> Result<ArrayReader> {
        let name = array_file_name(id);
        let corrupt = |d: &str| Error::corruption(&name, d);
        let file_bytes = storage.len(&name)?;
        let footer_at = file_bytes
            .checked_sub(FOOTER_LEN as u64)
            .ok_or_else(|| corrupt("file shorter than footer"))?;
        let mut footer = [0u8; FOOTER_LEN];
        storage.read_at(&name, footer_at, &mut footer)?;
        let body = check_trailing_crc(&footer).map_err(|e| corrupt(&format!("footer: {e}")))?;
        let mut r = Reader::new(body);
        let mut parts = [(0u64, 0u32); 3];
        for p in &mut parts {
            *p = (
                r.u64().map_err(|e| corrupt(e.0))?,
                r.u32().map_err(|e| corrupt(e.0))?,
            );
        }
        let format = r.u32().map_err(|e| corrupt(e.0))?;
        let magic = r.u64().map_err(|e| corrupt(e.0))?;
        let Some(format) = entry_format(format).filter(|_| magic == ARRAY_MAGIC) else {
            return Err(corrupt("bad magic or unsupported format version"));
        };
        let read_part = |(off, len): (u64, u32)| -> Result<Vec<u8>> {
            let len = len as usize;
            if len > MAX_AUX_BLOCK_BYTES
                || off
                    .checked_add(len as u64)
                    .is_none_or(|end| end > footer_at)
            {
                return Err(corrupt("footer offsets out of range"));
            }
            let mut buf = vec![0u8; len];
            storage.read_at(&name, off, &mut buf)?;
            check_trailing_crc(&buf).map_err(|e| corrupt(&format!("aux block: {e}")))?;
            Ok(buf)
        };
        let [index_part, bloom_part, meta_part] = parts;
        let index_buf = read_part(index_part)?;
        let index = Self::decode_index(
            check_trailing_crc(&index_buf).unwrap_or_default(),
            index_part.0,
        )
        .map_err(|e| corrupt(&format!("index: {e}")))?;
        let bloom_buf = read_part(bloom_part)?;
        let filters = Filters::decode(check_trailing_crc(&bloom_buf).unwrap_or_default())
            .map_err(|e| corrupt(&format!("bloom: {e}")))?;
        let meta_buf = read_part(meta_part)?;
        let meta = ArrayMeta::decode(check_trailing_crc(&meta_buf).unwrap_or_default())
            .map_err(|e| corrupt(&format!("meta: {e}")))?;
        let mapped = match mode {
            DiskAccessMode::Standard => None,
            DiskAccessMode::Mmap => storage.map(&name)?,
        };
        let mapped = match mapped {
            // Every block lies below the footer of a `file_bytes` long file (checked above):
            // a map of that length holds them all, so no read through it faults past its end.
            Some(map) if map.len() as u64 == file_bytes => Some(Arc::new(map)),
            Some(_) => return Err(corrupt("file length changed while opening")),
            None => None,
        };
        Ok(ArrayReader {
            id,
            name,
            storage,
            cache,
            index,
            filters,
            meta,
            file_bytes,
            format,
            mapped,
            obsolete: AtomicBool::new(false),
            damaged: Mutex::new(Vec::new()),
        })
    }

    fn decode_index(buf: &[u8], data_end: u64) -> DecodeResult<BlockIndex> {
        let mut r = Reader::new(buf);
        let n = r.count(16)?;
        let mut out = BlockIndex {
            keys: Vec::with_capacity(buf.len()),
            slots: Vec::with_capacity(n),
            prefixes: Vec::with_capacity(n),
            ..BlockIndex::default()
        };
        let mut expected_offset = 0u64;
        for _ in 0..n {
            let last_key = r.bytes(MAX_KEY_BYTES)?;
            let (offset, len) = (r.u64()?, r.u32()?);
            if offset != expected_offset || len as usize > MAX_BLOCK_BYTES || len < 8 {
                return Err(DecodeError("block extent out of order or bounds"));
            }
            expected_offset = offset + u64::from(len);
            let key_start = crate::codec::len_u32(out.keys.len());
            out.keys.extend_from_slice(last_key);
            out.slots.push(IndexSlot {
                key_start,
                key_len: crate::codec::len_u32(last_key.len()),
                offset,
                len,
            });
            out.prefixes.push(key_prefix(last_key));
        }
        if expected_offset != data_end {
            return Err(DecodeError("blocks do not cover the data region"));
        }
        out.build_radix();
        Ok(out)
    }

    /// Marks the file for removal once the last reader drops it.
    pub(crate) fn mark_obsolete(&self) {
        self.obsolete.store(true, Ordering::SeqCst);
    }

    /// Block `i`, verified. A read serving a request (`fill_cache`) takes it from the map
    /// when the array is mapped, else from the cache or storage, caching what it reads. A
    /// bulk read (merge, verify, salvage: `!fill_cache`) uses a cached block or reads from
    /// storage around the cache and the map, so it neither evicts the blocks requests use
    /// nor maps a merge's whole inputs into the process.
    fn block(&self, i: usize, fill_cache: bool) -> Result<Arc<Block>> {
        let mapped = self.mapped.as_ref().filter(|_| fill_cache);
        let idx =
            u32::try_from(i).map_err(|_| Error::corruption(&self.name, "block index overflow"))?;
        if mapped.is_none() {
            if let Some(b) = self.cache.get((self.id, idx), fill_cache) {
                return Ok(b);
            }
        }
        let entry = self
            .index
            .slot(i)
            .ok_or_else(|| Error::corruption(&self.name, "block index out of range"))?;
        // A mapped block's CRC is checked on every use, as a `pread` block's is on its read:
        // a page the kernel evicted and reads again from a failing disk is verified too (the
        // check did not measurably cost point reads or scans, BENCHMARKS.md).
        let bytes = match mapped {
            Some(map) => BlockBytes::Mapped {
                map: map.clone(),
                start: entry.offset as usize,
                len: entry.len as usize,
            },
            None => {
                let mut raw = vec![0u8; entry.len as usize];
                self.storage.read_at(&self.name, entry.offset, &mut raw)?;
                BlockBytes::Owned(raw)
            }
        };
        let block = Arc::new(
            Block::parse(bytes, self.format).map_err(|e| self.damaged_block(i, e.0.to_string()))?,
        );
        if fill_cache && mapped.is_none() {
            self.cache.insert((self.id, idx), block.clone());
        }
        Ok(block)
    }

    fn decode_err(&self, e: DecodeError) -> Error {
        Error::corruption(&self.name, e.0)
    }

    /// Bytes of the data blocks (what a merge reads of this array).
    pub(crate) fn data_bytes(&self) -> u64 {
        self.index
            .slots
            .last()
            .map_or(0, |s| s.offset + u64::from(s.len))
    }

    /// Records block `i` as damaged and returns the corruption error naming it.
    fn damaged_block(&self, i: usize, detail: String) -> Error {
        let Some(slot) = self.index.slot(i) else {
            return Error::corruption(&self.name, format!("block {i}: {detail}"));
        };
        let damage = Damage {
            file: self.name.clone(),
            block: i,
            offset: slot.offset,
            len: slot.len,
            after: i
                .checked_sub(1)
                .and_then(|p| self.index.slot(p))
                .map(|p| self.index.last_key(p).to_vec()),
            last: self.index.last_key(slot).to_vec(),
            detail,
        };
        let error = Error::corruption(&self.name, damage.to_string());
        let mut damaged = self.damaged.lock().unwrap_or_else(|e| e.into_inner());
        if !damaged.iter().any(|d| d.block == i) {
            damaged.push(damage);
        }
        error
    }

    /// The blocks found damaged so far.
    pub(crate) fn damage(&self) -> Vec<Damage> {
        self.damaged
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn is_damaged(&self) -> bool {
        !self
            .damaged
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    }

    pub(crate) fn file_name(&self) -> &str {
        &self.name
    }

    /// Reads and verifies every block (around the cache); returns the damage found.
    pub(crate) fn verify(&self) -> Result<Vec<Damage>> {
        for i in 0..self.index.len() {
            match self.block(i, false) {
                Ok(_) | Err(Error::Corruption { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(self.damage())
    }

    /// Feeds every entry of the blocks that verify, in order, to `sink`; damaged blocks
    /// (a block one of whose entries does not decode included) are skipped whole.
    pub(crate) fn salvage(&self, sink: &mut crate::memtable::EntryVisitor<'_>) -> Result<()> {
        for i in 0..self.index.len() {
            let block = match self.block(i, false) {
                Ok(b) => b,
                Err(Error::Corruption { .. }) => continue,
                Err(e) => return Err(e),
            };
            let decoded: DecodeResult<Vec<(&[u8], VersionId, Cell)>> = (0..block.len())
                .map(|j| {
                    let (key, version, rest) = block.version_at(j)?;
                    Ok((key, version, block.cell_at(rest)?))
                })
                .collect();
            match decoded {
                Ok(entries) => {
                    for (key, version, cell) in &entries {
                        sink(key, *version, cell)?;
                    }
                }
                Err(e) => {
                    let _ = self.damaged_block(i, e.0.to_string());
                }
            }
        }
        Ok(())
    }

    /// False only if the prefix filter, built by the extractor named `extractor`, rules out
    /// every key that starts with the prefix hashed to `prefix_hash`.
    pub(crate) fn may_hold_prefix(&self, extractor: &str, prefix_hash: u64) -> bool {
        match &self.filters.prefixes {
            Some((name, bloom)) if name == extractor => bloom.may_contain(prefix_hash),
            _ => true,
        }
    }

    /// Folds the entries for `key` at versions in `path` (sorted ids) into `best`.
    pub(crate) fn get_into(
        &self,
        key: &[u8],
        path: &[VersionId],
        best: &mut Option<Cell>,
    ) -> Result<()> {
        if !self.filters.keys.may_contain(hash64(key)) {
            return Ok(());
        }
        let mut bi = self.index.first_block_reaching(key, false);
        let mut first = true;
        while bi < self.index.len() {
            let block = self.block(bi, true)?;
            let start = if first {
                block
                    .lower_bound(key, false)
                    .map_err(|e| self.decode_err(e))?
            } else {
                0
            };
            first = false;
            for i in start..block.len() {
                let (k, version, rest) = block.version_at(i).map_err(|e| self.decode_err(e))?;
                if k != key {
                    return Ok(());
                }
                if path.binary_search(&version).is_ok() {
                    let cell = block.cell_at(rest).map_err(|e| self.decode_err(e))?;
                    if best.as_ref().is_none_or(|b| cell.beats(b)) {
                        *best = Some(cell);
                    }
                }
            }
            bi += 1;
        }
        Ok(())
    }
}

/// One decoded entry, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub key: Vec<u8>,
    pub version: VersionId,
    pub cell: Cell,
}

/// Sequential reader over an array within key bounds, in either direction.
pub(crate) struct ArrayCursor {
    array: Arc<ArrayReader>,
    reverse: bool,
    /// Bound on the far side of the iteration (end for forward, start for reverse).
    stop: Bound<Vec<u8>>,
    block_idx: usize,
    block: Option<Arc<Block>>,
    /// Forward: next entry index to yield. Reverse: number of entries left in the block.
    pos: usize,
    done: bool,
    /// If set, only entries written at these versions (sorted) are yielded; the others are
    /// stepped over without decoding their cells or copying their keys.
    versions: Option<Arc<Vec<VersionId>>>,
    /// Whether blocks read from storage enter the block cache (not for merges).
    fill_cache: bool,
    /// A merge's progress: the bytes of each data block this cursor finishes are added.
    progress: Option<Arc<AtomicU64>>,
    /// Step over damaged blocks instead of failing (forward salvage scans).
    skip_damaged: bool,
}

impl ArrayCursor {
    pub(crate) fn new(
        array: Arc<ArrayReader>,
        start: Bound<Vec<u8>>,
        end: Bound<Vec<u8>>,
        reverse: bool,
    ) -> Result<ArrayCursor> {
        let (seek, stop) = if reverse { (end, start) } else { (start, end) };
        let mut c = ArrayCursor::unpositioned(array, reverse, stop, true);
        c.seek(seek)?;
        Ok(c)
    }

    /// A cursor before its first block; `seek` positions it (a forward cursor from the
    /// start needs no seek).
    fn unpositioned(
        array: Arc<ArrayReader>,
        reverse: bool,
        stop: Bound<Vec<u8>>,
        fill_cache: bool,
    ) -> ArrayCursor {
        ArrayCursor {
            array,
            reverse,
            stop,
            block_idx: 0,
            block: None,
            pos: 0,
            done: false,
            versions: None,
            fill_cache,
            progress: None,
            skip_damaged: false,
        }
    }

    /// A forward cursor that steps over damaged blocks (each recorded in the array's
    /// damage list) instead of failing: what can still be read, for salvage.
    pub(crate) fn skipping_damage(
        array: Arc<ArrayReader>,
        start: Bound<Vec<u8>>,
        end: Bound<Vec<u8>>,
    ) -> Result<ArrayCursor> {
        let mut c = ArrayCursor::unpositioned(array, false, end, true);
        c.skip_damaged = true;
        c.seek(start)?;
        Ok(c)
    }

    /// Block `i`, or `None` for a damaged one this cursor steps over.
    fn load(&self, i: usize) -> Result<Option<Arc<Block>>> {
        match self.array.block(i, self.fill_cache) {
            Ok(b) => Ok(Some(b)),
            Err(Error::Corruption { .. }) if self.skip_damaged => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A forward cursor over the whole array for a merge: blocks it reads from storage
    /// stay out of the block cache (RocksDB's `fill_cache = false` for compactions), so
    /// a merge neither evicts the blocks reads are using nor holds cache memory during
    /// write-only loads. Blocks already cached are still used.
    /// `progress` gains each data block's bytes once the cursor is past it (one atomic add
    /// per block), so a running merge reports how far it is.
    pub(crate) fn for_merge(array: Arc<ArrayReader>, progress: Arc<AtomicU64>) -> ArrayCursor {
        let mut cursor = ArrayCursor::unpositioned(array, false, Bound::Unbounded, false);
        cursor.progress = Some(progress);
        cursor
    }

    /// Restricts the cursor to entries written at `versions` (sorted): a scan passes its
    /// root-to-`v` path, so other clones' entries interleaved with it cost a version
    /// comparison instead of an allocation and a decode each.
    pub(crate) fn only_versions(mut self, versions: Arc<Vec<VersionId>>) -> ArrayCursor {
        self.versions = Some(versions);
        self
    }

    fn seek(&mut self, bound: Bound<Vec<u8>>) -> Result<()> {
        let n = self.array.index.len();
        let (key, strict) = match &bound {
            Bound::Unbounded => {
                if self.reverse {
                    self.block_idx = n;
                    self.done = n == 0;
                    if n > 0 {
                        self.block_idx = n - 1;
                        let b = self.array.block(self.block_idx, self.fill_cache)?;
                        self.pos = b.len();
                        self.block = Some(b);
                    }
                }
                return Ok(());
            }
            Bound::Included(k) => (k.as_slice(), false),
            Bound::Excluded(k) => (k.as_slice(), true),
        };
        // Forward: first entry > / >= key. Reverse: last entry < / <= key, i.e. the entry
        // before the first entry >= / > key.
        let strict_for_search = if self.reverse { !strict } else { strict };
        let bi = self
            .array
            .index
            .first_block_reaching(key, strict_for_search);
        if !self.reverse {
            self.block_idx = bi;
            if bi < n {
                let Some(b) = self.load(bi)? else {
                    self.block_idx += 1;
                    return Ok(());
                };
                self.pos = b
                    .lower_bound(key, strict)
                    .map_err(|e| self.array.decode_err(e))?;
                self.block = Some(b);
            }
            return Ok(());
        }
        let target = bi.min(n.saturating_sub(1));
        if n == 0 {
            self.done = true;
            return Ok(());
        }
        let b = self.array.block(target, self.fill_cache)?;
        self.pos = if bi < n {
            b.lower_bound(key, strict_for_search)
                .map_err(|e| self.array.decode_err(e))?
        } else {
            b.len()
        };
        self.block_idx = target;
        self.block = Some(b);
        Ok(())
    }

    fn past_stop(&self, key: &[u8]) -> bool {
        match (&self.stop, self.reverse) {
            (Bound::Unbounded, _) => false,
            (Bound::Included(s), false) => key > s.as_slice(),
            (Bound::Excluded(s), false) => key >= s.as_slice(),
            (Bound::Included(s), true) => key < s.as_slice(),
            (Bound::Excluded(s), true) => key <= s.as_slice(),
        }
    }

    /// Next entry, or None at the end of the range.
    pub(crate) fn next_entry(&mut self) -> Result<Option<Entry>> {
        while !self.done {
            let Some(block) = self.block.clone() else {
                // Forward only: load the block at block_idx.
                if self.block_idx >= self.array.index.len() {
                    self.done = true;
                    return Ok(None);
                }
                match self.load(self.block_idx)? {
                    Some(b) => self.block = Some(b),
                    None => self.block_idx += 1,
                }
                self.pos = 0;
                continue;
            };
            let idx = if self.reverse {
                if self.pos == 0 {
                    if self.block_idx == 0 {
                        self.done = true;
                        return Ok(None);
                    }
                    self.block_idx -= 1;
                    let b = self.array.block(self.block_idx, self.fill_cache)?;
                    self.pos = b.len();
                    self.block = Some(b);
                    continue;
                }
                self.pos -= 1;
                self.pos
            } else {
                if self.pos >= block.len() {
                    if let (Some(progress), Some(slot)) =
                        (&self.progress, self.array.index.slot(self.block_idx))
                    {
                        progress.fetch_add(u64::from(slot.len), Ordering::Relaxed);
                    }
                    self.block = None;
                    self.block_idx += 1;
                    continue;
                }
                self.pos += 1;
                self.pos - 1
            };
            let (key, version, rest) = block
                .version_at(idx)
                .map_err(|e| self.array.decode_err(e))?;
            if self.past_stop(key) {
                self.done = true;
                return Ok(None);
            }
            if self
                .versions
                .as_ref()
                .is_some_and(|vs| vs.binary_search(&version).is_err())
            {
                continue;
            }
            let cell = block.cell_at(rest).map_err(|e| self.array.decode_err(e))?;
            return Ok(Some(Entry {
                key: key.to_vec(),
                version,
                cell,
            }));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemStorage;

    /// A builder with 10-bit whole-key filters for about `keys` keys.
    fn builder(
        storage: &Arc<dyn Storage>,
        id: u64,
        block_bytes: usize,
        keys: usize,
    ) -> ArrayBuilder {
        let filters = FilterPolicy {
            bits_per_key: 10,
            prefix: None,
            whole_keys: true,
        };
        ArrayBuilder::new(storage.clone(), id, block_bytes, filters, keys as u64).unwrap()
    }

    fn build(
        storage: &Arc<dyn Storage>,
        id: u64,
        n: usize,
        block_bytes: usize,
    ) -> Arc<ArrayReader> {
        let mut b = builder(storage, id, block_bytes, n);
        for i in 0..n {
            let key = format!("key{i:05}");
            b.add(key.as_bytes(), 2, &Cell::live(i as i64, format!("v{i}")))
                .unwrap();
            b.add(key.as_bytes(), 1, &Cell::live(0, b"old".to_vec()))
                .unwrap();
        }
        b.finish().unwrap();
        Arc::new(
            ArrayReader::open(
                storage.clone(),
                Arc::new(BlockCache::new(1 << 20)),
                id,
                DiskAccessMode::Standard,
            )
            .unwrap(),
        )
    }

    fn collect(
        a: &Arc<ArrayReader>,
        start: Bound<Vec<u8>>,
        end: Bound<Vec<u8>>,
        reverse: bool,
    ) -> Vec<(Vec<u8>, VersionId)> {
        let mut c = ArrayCursor::new(a.clone(), start, end, reverse).unwrap();
        let mut out = Vec::new();
        while let Some(e) = c.next_entry().unwrap() {
            out.push((e.key, e.version));
        }
        out
    }

    #[test]
    fn point_reads_find_the_best_cell_on_the_path() {
        let storage: Arc<dyn Storage> = Arc::new(MemStorage::new());
        let a = build(&storage, 1, 500, 256);
        assert!(a.index.len() > 10, "many blocks");
        assert_eq!(a.meta.entries, 1000);
        assert_eq!(a.meta.keys, 500);
        assert_eq!(a.meta.versions.len(), 2);
        for i in [0usize, 1, 250, 499] {
            let key = format!("key{i:05}");
            let mut best = None;
            a.get_into(key.as_bytes(), &[0, 1, 2], &mut best).unwrap();
            let expect = if i == 0 {
                Cell::live(0, b"v0".to_vec())
            } else {
                Cell::live(i as i64, format!("v{i}"))
            };
            assert_eq!(best, Some(expect));
            let mut only_old = None;
            a.get_into(key.as_bytes(), &[0, 1], &mut only_old).unwrap();
            assert_eq!(only_old, Some(Cell::live(0, b"old".to_vec())));
        }
        let mut none = None;
        a.get_into(b"key99999", &[0, 1, 2], &mut none).unwrap();
        a.get_into(b"a", &[0, 1, 2], &mut none).unwrap();
        assert_eq!(none, None);
    }

    /// An index over `last_keys` (sorted) with made-up extents.
    fn index_of(last_keys: &[Vec<u8>]) -> BlockIndex {
        let mut index = BlockIndex::default();
        for (i, k) in last_keys.iter().enumerate() {
            let key_start = crate::codec::len_u32(index.keys.len());
            index.keys.extend_from_slice(k);
            index.slots.push(IndexSlot {
                key_start,
                key_len: crate::codec::len_u32(k.len()),
                offset: i as u64 * 8,
                len: 8,
            });
            index.prefixes.push(key_prefix(k));
        }
        index.build_radix();
        index
    }

    type TestRng = rand::rngs::SmallRng;

    fn test_rng(seed: u64) -> TestRng {
        use rand::SeedableRng;
        println!("seed {seed:#x}");
        TestRng::seed_from_u64(seed)
    }

    fn token_key(rng: &mut TestRng) -> Vec<u8> {
        use rand::Rng;
        [
            rng.random::<u64>().to_be_bytes().as_slice(),
            &rng.random::<[u8; 3]>(),
        ]
        .concat()
    }

    /// Sorted, distinct key sets of different prefix shapes: uniform tokens, one crowded
    /// prefix, short keys, one key, none.
    fn key_shapes(rng: &mut TestRng) -> Vec<Vec<Vec<u8>>> {
        use rand::Rng;
        let mut shapes: Vec<Vec<Vec<u8>>> = vec![
            (0..3000).map(|_| token_key(rng)).collect(),
            (0..500)
                .map(|i: u32| [b"samepref".as_slice(), &i.to_be_bytes()].concat())
                .collect(),
            (0..300)
                .map(|_| {
                    (0..rng.random_range(0..10))
                        .map(|_| rng.random_range(0..4u8))
                        .collect()
                })
                .collect(),
            vec![b"m".to_vec()],
            vec![],
        ];
        for keys in &mut shapes {
            keys.sort();
            keys.dedup();
        }
        shapes
    }

    /// Probe keys for `keys`: random ones, each key, each key's successor, extremes.
    fn probes(rng: &mut TestRng, keys: &[Vec<u8>]) -> Vec<Vec<u8>> {
        let mut probes: Vec<Vec<u8>> = (0..500).map(|_| token_key(rng)).collect();
        probes.extend(keys.iter().cloned());
        probes.extend(keys.iter().map(|k| [k.as_slice(), &[0]].concat()));
        probes.extend([vec![], vec![0xff; 12], b"samepref".to_vec()]);
        probes
    }

    fn first_reaching(keys: &[impl AsRef<[u8]>], probe: &[u8], strict: bool) -> usize {
        keys.iter()
            .position(|k| {
                if strict {
                    k.as_ref() > probe
                } else {
                    k.as_ref() >= probe
                }
            })
            .unwrap_or(keys.len())
    }

    #[test]
    fn block_search_through_the_radix_table_matches_a_linear_scan() {
        let mut rng = test_rng(0x5eed_1dec);
        for last_keys in key_shapes(&mut rng) {
            let index = index_of(&last_keys);
            for probe in probes(&mut rng, &last_keys) {
                for strict in [false, true] {
                    assert_eq!(
                        index.first_block_reaching(&probe, strict),
                        first_reaching(&last_keys, &probe, strict),
                        "{probe:?} {strict}"
                    );
                }
            }
        }
    }

    #[test]
    fn entry_search_within_a_block_matches_a_linear_scan() {
        let mut rng = test_rng(0x5eed_b10c);
        let storage: Arc<dyn Storage> = Arc::new(MemStorage::new());
        for (id, keys) in (1..).zip(key_shapes(&mut rng)) {
            let mut b = builder(&storage, id, 256, keys.len());
            for k in &keys {
                b.add(k, 1, &Cell::live(1, b"v".to_vec())).unwrap();
            }
            b.finish().unwrap();
            let array = ArrayReader::open(
                storage.clone(),
                Arc::new(BlockCache::new(0)),
                id,
                DiskAccessMode::Standard,
            )
            .unwrap();
            let probes = probes(&mut rng, &keys);
            for bi in 0..array.index.len() {
                let block = array.block(bi, false).unwrap();
                let block_keys: Vec<&[u8]> =
                    (0..block.len()).map(|i| block.key_at(i).unwrap()).collect();
                for probe in &probes {
                    for strict in [false, true] {
                        assert_eq!(
                            block.lower_bound(probe, strict).unwrap(),
                            first_reaching(&block_keys, probe, strict),
                            "{probe:?} {strict}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn block_cache_keeps_recently_hit_blocks_within_its_budget() {
        let block = || {
            Arc::new(Block {
                data: BlockBytes::Owned(vec![0u8; 1000]),
                count: 1,
                offsets_at: 0,
                format: EntryFormat::Compact,
            })
        };
        let cache = BlockCache::new(CACHE_SHARDS * 3 * 1253);
        let idx = BlockCache::shard_index;
        let same: Vec<(u64, u32)> = (0..1000u32)
            .map(|i| (1, i))
            .filter(|&k| idx(k) == idx((1, 0)))
            .take(5)
            .collect();
        cache.insert(same[0], block());
        cache.insert(same[1], block());
        cache.insert(same[2], block());
        assert!(cache.get(same[0], true).is_some()); // hot
        cache.insert(same[3], block());
        assert!(
            cache.get(same[0], true).is_some(),
            "the hit block got a second chance"
        );
        assert!(
            cache.get(same[1], true).is_none(),
            "the cold one was evicted"
        );
        assert!(cache.bytes() <= CACHE_SHARDS * 3 * 1253);
        assert_eq!(cache.hits_and_misses(), (2, 1));
        assert!(cache.get(same[1], false).is_none());
        assert_eq!(
            cache.hits_and_misses(),
            (2, 1),
            "uncounted lookups (merges)"
        );
    }

    #[test]
    fn bloom_has_no_false_negatives_and_few_false_positives() {
        let hashes: Vec<u64> = (0..10_000u32).map(|i| hash64(&i.to_le_bytes())).collect();
        // Sized for 50x the real count, then folded down: the same guarantees.
        let mut bloom = Bloom::with_capacity(500_000, 10);
        hashes.iter().for_each(|&h| bloom.insert(h));
        bloom.fold_to(10_000, 10);
        assert_eq!(
            bloom.bits.len() / BLOOM_BLOCK_BYTES,
            bloom_blocks(10_000, 10).next_power_of_two()
        );
        assert!(hashes.iter().all(|&h| bloom.may_contain(h)));
        let fp = (10_000..110_000u32)
            .filter(|i| bloom.may_contain(hash64(&i.to_le_bytes())))
            .count();
        assert!(fp < 3_000, "false positive rate {fp}/100000");
        // An underestimate leaves a crowded filter: more false positives, no false negatives.
        let mut small = Bloom::with_capacity(100, 10);
        hashes.iter().for_each(|&h| small.insert(h));
        small.fold_to(10_000, 10);
        assert!(hashes.iter().all(|&h| small.may_contain(h)));
    }

    #[test]
    fn cursors_respect_bounds_in_both_directions() {
        let storage: Arc<dyn Storage> = Arc::new(MemStorage::new());
        let a = build(&storage, 1, 100, 200);
        let k = |i: usize| format!("key{i:05}").into_bytes();
        let all = collect(&a, Bound::Unbounded, Bound::Unbounded, false);
        assert_eq!(all.len(), 200);
        let mut rev = collect(&a, Bound::Unbounded, Bound::Unbounded, true);
        rev.reverse();
        let keys_fwd: Vec<_> = all.iter().map(|e| e.0.clone()).collect();
        let keys_rev: Vec<_> = rev.iter().map(|e| e.0.clone()).collect();
        assert_eq!(keys_fwd, keys_rev);
        for (lo, hi) in [(0usize, 99usize), (10, 20), (37, 38), (50, 50)] {
            for (sb, eb) in [
                (Bound::Included(k(lo)), Bound::Included(k(hi))),
                (Bound::Excluded(k(lo)), Bound::Excluded(k(hi))),
                (Bound::Included(k(lo)), Bound::Excluded(k(hi))),
            ] {
                let expect: Vec<_> = all
                    .iter()
                    .filter(|(key, _)| {
                        (match &sb {
                            Bound::Included(s) => key >= s,
                            Bound::Excluded(s) => key > s,
                            Bound::Unbounded => true,
                        }) && (match &eb {
                            Bound::Included(e) => key <= e,
                            Bound::Excluded(e) => key < e,
                            Bound::Unbounded => true,
                        })
                    })
                    .cloned()
                    .collect();
                assert_eq!(
                    collect(&a, sb.clone(), eb.clone(), false),
                    expect,
                    "{lo} {hi} fwd"
                );
                let mut r = collect(&a, sb.clone(), eb.clone(), true);
                r.reverse();
                let rk: Vec<_> = r.iter().map(|e| e.0.clone()).collect();
                let ek: Vec<_> = expect.iter().map(|e| e.0.clone()).collect();
                assert_eq!(rk, ek, "{lo} {hi} rev");
            }
        }
        assert!(collect(
            &a,
            Bound::Included(b"zzz".to_vec()),
            Bound::Unbounded,
            false
        )
        .is_empty());
        assert!(collect(&a, Bound::Unbounded, Bound::Excluded(b"a".to_vec()), true).is_empty());
    }

    #[test]
    fn a_flipped_byte_is_reported_as_corruption() {
        let storage = Arc::new(crate::CrashStorage::new());
        let dynst: Arc<dyn Storage> = storage.clone();
        let a = build(&dynst, 7, 50, 256);
        let len = a.file_bytes as usize;
        drop(a);
        for offset in [5, len / 3, len - 10] {
            let s2 = storage.crash(crate::CrashMode::KeepAll);
            assert!(s2.corrupt_byte(&array_file_name(7), offset));
            let dynst: Arc<dyn Storage> = s2.clone();
            let outcome = ArrayReader::open(
                dynst,
                Arc::new(BlockCache::new(1 << 20)),
                7,
                DiskAccessMode::Standard,
            )
            .and_then(|a| {
                let a = Arc::new(a);
                let mut c = ArrayCursor::new(a, Bound::Unbounded, Bound::Unbounded, false)?;
                while c.next_entry()?.is_some() {}
                Ok(())
            });
            assert!(
                matches!(outcome, Err(Error::Corruption { .. })),
                "offset {offset}: {outcome:?}"
            );
        }
    }

    /// A fresh directory under the system temp dir for one test's `FileStorage`.
    fn file_storage(test: &str) -> (std::path::PathBuf, Arc<dyn Storage>) {
        let dir = std::env::temp_dir().join(format!("strata-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let storage: Arc<dyn Storage> = Arc::new(crate::FileStorage::new(&dir).unwrap());
        (dir, storage)
    }

    fn open_as(storage: &Arc<dyn Storage>, id: u64, mode: DiskAccessMode) -> Arc<ArrayReader> {
        let a = ArrayReader::open(
            storage.clone(),
            Arc::new(BlockCache::new(1 << 20)),
            id,
            mode,
        )
        .unwrap();
        assert_eq!(a.mapped.is_some(), mode == DiskAccessMode::Mmap);
        Arc::new(a)
    }

    fn entries(
        a: &Arc<ArrayReader>,
        start: Bound<Vec<u8>>,
        end: Bound<Vec<u8>>,
        reverse: bool,
    ) -> Vec<Entry> {
        let mut c = ArrayCursor::new(a.clone(), start, end, reverse).unwrap();
        std::iter::from_fn(|| c.next_entry().unwrap()).collect()
    }

    #[test]
    fn mapped_reads_equal_pread_reads_over_random_data() {
        use rand::Rng;
        let mut rng = test_rng(0x5eed_3a95);
        let (dir, storage) = file_storage("mapped-reads");
        let mut keys: Vec<Vec<u8>> = (0..2000).map(|_| token_key(&mut rng)).collect();
        keys.sort();
        keys.dedup();
        let mut b = builder(&storage, 3, 512, keys.len());
        for key in &keys {
            // Versions in descending id order, as the file's sort requires for this tree
            // shape (versions 1..=4 on one chain: higher ids are descendants).
            for version in (1..=4u32).rev() {
                if rng.random_bool(0.5) {
                    let len = rng.random_range(0..300);
                    let value: Vec<u8> = (0..len).map(|_| rng.random()).collect();
                    b.add(key, version, &Cell::live(rng.random_range(0..1000), value))
                        .unwrap();
                }
            }
        }
        b.finish().unwrap();
        let standard = open_as(&storage, 3, DiskAccessMode::Standard);
        let mapped = open_as(&storage, 3, DiskAccessMode::Mmap);
        for reverse in [false, true] {
            let all = entries(&standard, Bound::Unbounded, Bound::Unbounded, reverse);
            assert!(!all.is_empty());
            assert_eq!(
                entries(&mapped, Bound::Unbounded, Bound::Unbounded, reverse),
                all
            );
        }
        let probes = probes(&mut rng, &keys);
        for (n, probe) in probes.iter().enumerate() {
            let path: Vec<VersionId> = (1..=rng.random_range(1..=4)).collect();
            let (mut a, mut b) = (None, None);
            standard.get_into(probe, &path, &mut a).unwrap();
            mapped.get_into(probe, &path, &mut b).unwrap();
            assert_eq!(a, b, "get {probe:02x?}");
            if n % 64 == 0 {
                let other = &probes[rng.random_range(0..probes.len())];
                let (lo, hi) = if probe <= other {
                    (probe, other)
                } else {
                    (other, probe)
                };
                let (start, end) = (Bound::Included(lo.clone()), Bound::Excluded(hi.clone()));
                let reverse = rng.random_bool(0.5);
                assert_eq!(
                    entries(&mapped, start.clone(), end.clone(), reverse),
                    entries(&standard, start, end, reverse)
                );
            }
        }
        // The mapped reader decoded from the map: nothing entered its cache.
        assert_eq!(mapped.cache.entries(), 0);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_corrupt_block_through_the_map_is_corruption_on_every_read() {
        use std::os::unix::fs::FileExt;
        let (dir, storage) = file_storage("mapped-corrupt");
        let a = build(&storage, 5, 200, 256);
        let second_block = a.index.slot(1).unwrap().offset;
        drop(a);
        let mapped = open_as(&storage, 5, DiskAccessMode::Mmap);
        let first = b"key00000".to_vec();
        let in_second = mapped
            .index
            .last_key(mapped.index.slot(1).unwrap())
            .to_vec();
        let mut best = None;
        mapped.get_into(&in_second, &[1, 2], &mut best).unwrap();
        assert!(best.is_some());
        // Flip a byte of block 1 on disk, as a failing disk would, after the block was read
        // through the map once: the shared map sees the new byte, and the next read checks it.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(dir.join(array_file_name(5)))
            .unwrap();
        let mut byte = [0u8];
        file.read_exact_at(&mut byte, second_block + 3).unwrap();
        file.write_all_at(&[byte[0] ^ 0x40], second_block + 3)
            .unwrap();
        for _ in 0..2 {
            let mut best = None;
            mapped.get_into(&first, &[1, 2], &mut best).unwrap();
            assert!(best.is_some());
            let err = mapped.get_into(&in_second, &[1, 2], &mut None).unwrap_err();
            assert!(
                matches!(&err, Error::Corruption { detail, .. } if detail.contains("block 1 (bytes")),
                "{err}"
            );
        }
        assert_eq!(mapped.damage().len(), 1);
        let mut scan = ArrayCursor::new(mapped, Bound::Unbounded, Bound::Unbounded, false).unwrap();
        let outcome = std::iter::from_fn(|| scan.next_entry().transpose()).find(Result::is_err);
        assert!(matches!(outcome, Some(Err(Error::Corruption { .. }))));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_truncated_file_is_corruption_at_open_not_a_fault_through_the_map() {
        let (dir, storage) = file_storage("mapped-truncated");
        let a = build(&storage, 6, 200, 256);
        let len = a.file_bytes;
        drop(a);
        let path = dir.join(array_file_name(6));
        for cut in [len - 1, len / 2, 10] {
            std::fs::OpenOptions::new()
                .write(true)
                .open(&path)
                .unwrap()
                .set_len(cut)
                .unwrap();
            let outcome = ArrayReader::open(
                storage.clone(),
                Arc::new(BlockCache::new(1 << 20)),
                6,
                DiskAccessMode::Mmap,
            );
            assert!(
                matches!(outcome, Err(Error::Corruption { .. })),
                "cut at {cut}"
            );
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
