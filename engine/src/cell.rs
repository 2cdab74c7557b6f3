//! Cells, mutations and the last-write-wins order between cells.
//!
//! Invariant: [`Cell::precedence`] is a total order that depends only on the two cells,
//! never on arrival order, so the visible cell for `(key, v)` — the maximum over every
//! entry on the root-to-`v` path — is the same whatever order writes, flushes and merges
//! happen in.

use std::cmp::Ordering;

use crate::codec::{put_i64, put_u8, put_varint, DecodeError, DecodeResult, Reader};
use crate::VersionId;

/// Largest key the engine accepts (bytes). Sized for the CQL layout's worst case, not
/// for CQL's own limit: a partition key and a clustering of 64 KiB each (Cassandra's
/// limits) grow up to twice in escaping, and a range tombstone's key holds two clustering
/// bounds escaped twice, about 10 x 64 KiB in all.
pub const MAX_KEY_BYTES: usize = 1 << 20;
/// Largest value the engine accepts (bytes). Bounded so one WAL record and one array
/// block stay well under the record/block size limits.
pub const MAX_VALUE_BYTES: usize = 16 * 1024 * 1024;

/// A stored cell: one write of one key at one version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cell {
    /// Client-supplied write timestamp (microseconds); higher wins.
    pub timestamp: i64,
    /// TTL the client asked for (0 = none); kept so CQL `ttl()` can report it.
    pub ttl_secs: u32,
    /// Absolute expiry in seconds (0 = never). Reads return the cell as stored; merges
    /// turn expired cells into tombstones.
    pub expires_at_secs: i64,
    /// The payload.
    pub value: CellValue,
}

/// A cell's payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CellValue {
    /// A live value.
    Live(Vec<u8>),
    /// A deletion marker; `deleted_at_secs` drives tombstone garbage collection.
    Tombstone { deleted_at_secs: i64 },
}

impl Cell {
    /// A live cell without TTL.
    pub fn live(timestamp: i64, value: impl Into<Vec<u8>>) -> Cell {
        Cell {
            timestamp,
            ttl_secs: 0,
            expires_at_secs: 0,
            value: CellValue::Live(value.into()),
        }
    }

    /// A tombstone.
    pub fn tombstone(timestamp: i64, deleted_at_secs: i64) -> Cell {
        Cell {
            timestamp,
            ttl_secs: 0,
            expires_at_secs: 0,
            value: CellValue::Tombstone { deleted_at_secs },
        }
    }

    pub fn is_tombstone(&self) -> bool {
        matches!(self.value, CellValue::Tombstone { .. })
    }

    /// Live (not a tombstone) and not expired at `now_secs`.
    pub fn is_live_at(&self, now_secs: i64) -> bool {
        !self.is_tombstone() && (self.expires_at_secs == 0 || self.expires_at_secs > now_secs)
    }

    /// Cassandra 5.0's reconciliation order (`Cells.resolveRegular`): the higher timestamp
    /// wins; on a tie a cell that has a local deletion time (a tombstone or an expiring
    /// cell, CASSANDRA-14592) beats one that has none, a tombstone beats an expiring cell,
    /// then the later local deletion time wins, then the greater value bytes. A last tie
    /// breaks on the TTL so the order is total. Replicas and the coordinator's read
    /// resolution use this one order, so a read repair converges.
    pub fn precedence(&self, other: &Cell) -> Ordering {
        self.timestamp
            .cmp(&other.timestamp)
            .then_with(|| {
                let (mine, theirs) = (self.local_deletion_time(), other.local_deletion_time());
                (mine.is_some().cmp(&theirs.is_some()))
                    .then_with(|| self.is_tombstone().cmp(&other.is_tombstone()))
                    .then_with(|| mine.cmp(&theirs))
            })
            .then_with(|| self.value_bytes().cmp(other.value_bytes()))
            .then_with(|| self.ttl_secs.cmp(&other.ttl_secs))
    }

    /// When the cell was deleted or expires (seconds): Cassandra's `localDeletionTime`,
    /// `None` for a live cell without TTL.
    fn local_deletion_time(&self) -> Option<i64> {
        match self.value {
            CellValue::Tombstone { deleted_at_secs } => Some(deleted_at_secs),
            CellValue::Live(_) if self.expires_at_secs != 0 => Some(self.expires_at_secs),
            CellValue::Live(_) => None,
        }
    }

    fn value_bytes(&self) -> &[u8] {
        match &self.value {
            CellValue::Live(v) => v,
            CellValue::Tombstone { .. } => &[],
        }
    }

    /// True if `self` wins against `other` (strictly).
    pub fn beats(&self, other: &Cell) -> bool {
        self.precedence(other) == Ordering::Greater
    }

    /// Approximate in-memory / on-disk size, used for budgets and statistics.
    pub fn approx_bytes(&self) -> usize {
        let payload = match &self.value {
            CellValue::Live(v) => v.len(),
            CellValue::Tombstone { .. } => 8,
        };
        29 + payload
    }

    /// If the cell has expired at `now_secs`, the tombstone it becomes (deleted at its expiry).
    pub(crate) fn expired_to_tombstone(&self, now_secs: i64) -> Option<Cell> {
        let expired =
            !self.is_tombstone() && self.expires_at_secs != 0 && self.expires_at_secs <= now_secs;
        expired.then_some(Cell {
            timestamp: self.timestamp,
            ttl_secs: self.ttl_secs,
            expires_at_secs: self.expires_at_secs,
            value: CellValue::Tombstone {
                deleted_at_secs: self.expires_at_secs,
            },
        })
    }
}

/// One write: `cell` for `key` at `version`.
#[derive(Clone, Debug)]
pub struct Mutation {
    pub version: VersionId,
    pub key: Vec<u8>,
    pub cell: Cell,
}

/// How entries (`key, version, cell`) are encoded in WAL records and array blocks.
///
/// `Compact` (array format 2, WAL records flagged so): `key_len varint | key |
/// version varint | flags u8 | timestamp i64 | (expiring: ttl varint | expires_at i64) |
/// (live: value_len varint | value) | (tombstone: deleted_at i64)`. A plain live cell
/// costs 12 bytes besides its key and value.
///
/// `Fixed` (array format 1 and older WAL records, still read): `key_len u32 | key |
/// version u32 | timestamp i64 | ttl u32 | expires_at i64 | kind u8 | (live: value_len u32
/// | value) | (tombstone: deleted_at i64)`, 33 bytes besides key and value.
///
/// Why compact: a CQL row is two small entries (row marker and cell), so the fixed fields
/// were a quarter of the bytes written, merged and cached; cutting them lets more of a
/// table fit the block cache and less go through the WAL and merges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EntryFormat {
    Fixed,
    Compact,
}

const KIND_LIVE: u8 = 0;
const KIND_TOMBSTONE: u8 = 1;
/// Compact flags.
const FLAG_TOMBSTONE: u8 = 1;
const FLAG_EXPIRING: u8 = 2;

fn is_expiring(cell: &Cell) -> bool {
    cell.ttl_secs != 0 || cell.expires_at_secs != 0
}

/// Encodes `(key, version, cell)` in the `Compact` format.
pub(crate) fn encode_entry(out: &mut Vec<u8>, key: &[u8], version: VersionId, cell: &Cell) {
    put_varint(out, key.len() as u64);
    out.extend_from_slice(key);
    put_varint(out, u64::from(version));
    let tombstone = matches!(cell.value, CellValue::Tombstone { .. });
    put_u8(
        out,
        if tombstone { FLAG_TOMBSTONE } else { 0 }
            | if is_expiring(cell) { FLAG_EXPIRING } else { 0 },
    );
    put_i64(out, cell.timestamp);
    if is_expiring(cell) {
        put_varint(out, u64::from(cell.ttl_secs));
        put_i64(out, cell.expires_at_secs);
    }
    match &cell.value {
        CellValue::Live(v) => {
            put_varint(out, v.len() as u64);
            out.extend_from_slice(v);
        }
        CellValue::Tombstone { deleted_at_secs } => put_i64(out, *deleted_at_secs),
    }
}

impl EntryFormat {
    /// Smallest possible encoded entry (bounds counts read from storage).
    pub(crate) fn min_entry_bytes(self) -> usize {
        match self {
            EntryFormat::Fixed => 33,
            EntryFormat::Compact => 12,
        }
    }

    /// Decodes only the key of an entry (cheap: used by binary search inside blocks).
    pub(crate) fn decode_key<'a>(self, r: &mut Reader<'a>) -> DecodeResult<&'a [u8]> {
        match self {
            EntryFormat::Fixed => r.bytes(MAX_KEY_BYTES),
            EntryFormat::Compact => r.varint_bytes(MAX_KEY_BYTES),
        }
    }

    /// Decodes the version that follows an entry's key.
    pub(crate) fn decode_version(self, r: &mut Reader<'_>) -> DecodeResult<VersionId> {
        match self {
            EntryFormat::Fixed => r.u32(),
            EntryFormat::Compact => r.varint_u32(),
        }
    }

    /// Decodes the rest of an entry after its key.
    pub(crate) fn decode_tail(self, r: &mut Reader<'_>) -> DecodeResult<(VersionId, Cell)> {
        let version = self.decode_version(r)?;
        let cell = match self {
            EntryFormat::Fixed => decode_fixed_cell(r)?,
            EntryFormat::Compact => decode_compact_cell(r)?,
        };
        Ok((version, cell))
    }
}

fn decode_fixed_cell(r: &mut Reader<'_>) -> DecodeResult<Cell> {
    let timestamp = r.i64()?;
    let ttl_secs = r.u32()?;
    let expires_at_secs = r.i64()?;
    let value = match r.u8()? {
        KIND_LIVE => CellValue::Live(r.bytes(MAX_VALUE_BYTES)?.to_vec()),
        KIND_TOMBSTONE => CellValue::Tombstone {
            deleted_at_secs: r.i64()?,
        },
        _ => return Err(DecodeError("unknown cell kind")),
    };
    Ok(Cell {
        timestamp,
        ttl_secs,
        expires_at_secs,
        value,
    })
}

fn decode_compact_cell(r: &mut Reader<'_>) -> DecodeResult<Cell> {
    let flags = r.u8()?;
    if flags & !(FLAG_TOMBSTONE | FLAG_EXPIRING) != 0 {
        return Err(DecodeError("unknown cell flags"));
    }
    let timestamp = r.i64()?;
    let (ttl_secs, expires_at_secs) = if flags & FLAG_EXPIRING != 0 {
        (r.varint_u32()?, r.i64()?)
    } else {
        (0, 0)
    };
    let value = if flags & FLAG_TOMBSTONE != 0 {
        CellValue::Tombstone {
            deleted_at_secs: r.i64()?,
        }
    } else {
        CellValue::Live(r.varint_bytes(MAX_VALUE_BYTES)?.to_vec())
    };
    Ok(Cell {
        timestamp,
        ttl_secs,
        expires_at_secs,
        value,
    })
}

/// Checks the size bounds of a mutation before it enters the engine.
pub(crate) fn check_mutation_bounds(m: &Mutation) -> crate::Result<()> {
    if m.key.len() > MAX_KEY_BYTES {
        return Err(crate::Error::LimitExceeded(format!(
            "key of {} bytes > {MAX_KEY_BYTES}",
            m.key.len()
        )));
    }
    if let CellValue::Live(v) = &m.cell.value {
        if v.len() > MAX_VALUE_BYTES {
            return Err(crate::Error::LimitExceeded(format!(
                "value of {} bytes > {MAX_VALUE_BYTES}",
                v.len()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_timestamp_wins_then_tombstone_then_greater_value() {
        let old = Cell::live(1, b"z".to_vec());
        let new = Cell::live(2, b"a".to_vec());
        assert!(new.beats(&old));
        let tomb = Cell::tombstone(2, 0);
        assert!(tomb.beats(&new));
        let bigger = Cell::live(2, b"b".to_vec());
        assert!(bigger.beats(&new));
        assert!(Cell::tombstone(2, 5).beats(&Cell::tombstone(2, 4)));
        assert_eq!(new.precedence(&new.clone()), Ordering::Equal);
    }

    fn expiring(timestamp: i64, value: &[u8], expires_at_secs: i64) -> Cell {
        Cell {
            timestamp,
            ttl_secs: 10,
            expires_at_secs,
            value: CellValue::Live(value.to_vec()),
        }
    }

    /// CASSANDRA-14592: at one timestamp an expiring cell beats a live one whatever the
    /// values, a tombstone beats an expiring cell, and two expiring cells compare by expiry
    /// before value.
    #[test]
    fn expiring_cells_reconcile_as_in_cassandra() {
        assert!(expiring(2, b"a", 100).beats(&Cell::live(2, b"z".to_vec())));
        assert!(Cell::tombstone(2, 1).beats(&expiring(2, b"z", 100)));
        assert!(expiring(2, b"a", 101).beats(&expiring(2, b"z", 100)));
        assert!(expiring(2, b"b", 100).beats(&expiring(2, b"a", 100)));
        assert!(Cell::live(3, b"a".to_vec()).beats(&expiring(2, b"z", 100)));
    }

    /// The `Fixed` encoding, as array format 1 and older WAL records hold it.
    fn encode_fixed(out: &mut Vec<u8>, key: &[u8], version: VersionId, cell: &Cell) {
        use crate::codec::{put_bytes, put_u32};
        put_bytes(out, key);
        put_u32(out, version);
        put_i64(out, cell.timestamp);
        put_u32(out, cell.ttl_secs);
        put_i64(out, cell.expires_at_secs);
        match &cell.value {
            CellValue::Live(v) => {
                put_u8(out, KIND_LIVE);
                put_bytes(out, v);
            }
            CellValue::Tombstone { deleted_at_secs } => {
                put_u8(out, KIND_TOMBSTONE);
                put_i64(out, *deleted_at_secs);
            }
        }
    }

    fn sample_cells() -> Vec<Cell> {
        vec![
            Cell::live(-5, b"value".to_vec()),
            Cell::live(1_764_000_000_000_000, Vec::new()),
            Cell::tombstone(9, 77),
            Cell {
                timestamp: 3,
                ttl_secs: 86_400,
                expires_at_secs: 1_764_086_400,
                value: CellValue::Live(vec![7; 300]),
            },
            Cell {
                timestamp: 4,
                ttl_secs: 0,
                expires_at_secs: 12,
                value: CellValue::Tombstone {
                    deleted_at_secs: 12,
                },
            },
        ]
    }

    #[test]
    fn entries_round_trip_in_both_formats() {
        for cell in sample_cells() {
            for version in [0, 42, 300, u32::MAX] {
                let mut compact = Vec::new();
                encode_entry(&mut compact, b"key", version, &cell);
                let mut fixed = Vec::new();
                encode_fixed(&mut fixed, b"key", version, &cell);
                for (format, bytes) in [
                    (EntryFormat::Compact, &compact),
                    (EntryFormat::Fixed, &fixed),
                ] {
                    assert!(bytes.len() >= format.min_entry_bytes() + 3);
                    let mut r = Reader::new(bytes);
                    assert_eq!(format.decode_key(&mut r).unwrap(), b"key");
                    assert_eq!(format.decode_version(&mut r.clone()).unwrap(), version);
                    assert_eq!(format.decode_tail(&mut r).unwrap(), (version, cell.clone()));
                    assert_eq!(r.remaining(), 0);
                }
            }
        }
        let mut plain = Vec::new();
        encode_entry(&mut plain, b"", 1, &Cell::live(1, Vec::new()));
        assert_eq!(
            plain.len(),
            EntryFormat::Compact.min_entry_bytes(),
            "min_entry_bytes is tight"
        );
    }

    #[test]
    fn compact_entries_reject_unknown_flags_and_truncation() {
        let mut out = Vec::new();
        encode_entry(&mut out, b"k", 1, &Cell::live(1, b"v".to_vec()));
        let flags_at = 3;
        let mut bad = out.clone();
        bad[flags_at] |= 0x80;
        let tail = |bytes: &[u8]| {
            let mut r = Reader::new(bytes);
            EntryFormat::Compact
                .decode_key(&mut r)
                .and_then(|_| EntryFormat::Compact.decode_tail(&mut r))
        };
        assert!(tail(&bad).is_err());
        for cut in 0..out.len() {
            assert!(tail(&out[..cut]).is_err(), "cut at {cut}");
        }
        assert!(tail(&out).is_ok());
    }

    #[test]
    fn expiry_turns_a_live_cell_into_a_tombstone() {
        let cell = Cell {
            timestamp: 1,
            ttl_secs: 10,
            expires_at_secs: 100,
            value: CellValue::Live(vec![1]),
        };
        assert!(cell.is_live_at(99));
        assert!(!cell.is_live_at(100));
        assert!(cell.expired_to_tombstone(99).is_none());
        let t = cell.expired_to_tombstone(100).unwrap();
        assert_eq!(
            t.value,
            CellValue::Tombstone {
                deleted_at_secs: 100
            }
        );
    }
}
