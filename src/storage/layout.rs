//! How CQL partitions, rows and cells are laid out as engine keys inside a table's
//! version branch.
//!
//! ```text
//! partition prefix P = token (8 bytes, sign bit flipped, big-endian) ‖ escaped(partition key bytes)
//! P ‖ 0x00                               partition deletion marker
//! P ‖ 0x01 ‖ escaped(start) ‖ escaped(end) range tombstone (row deletions are ranges of one row)
//! P ‖ 0x02 ‖ escaped(column)             static cell
//! P ‖ 0x03 ‖ clustering ‖ 0x00           row marker (row liveness written by INSERT)
//! P ‖ 0x03 ‖ clustering ‖ 0x01 ‖ escaped(column)   regular cell
//! <cell key> ‖ 0x00                      complex deletion (whole multi-cell column)
//! <cell key> ‖ 0x01 ‖ path               collection element (list: ordering key, set: element, map: key)
//! <cell key> ‖ 0x02 ‖ shard id           counter shard (value: logical clock ‖ count)
//! <cell key> ‖ 0x03 ‖ field index        field of a non-frozen UDT
//! ```
//!
//! `<cell key>` is a static or regular cell key. A simple (single-cell) column uses the
//! cell key itself; a multi-cell column (non-frozen collection or UDT, counter) stores
//! one engine cell per piece under it, so pieces of one column are contiguous and in
//! path order. Paths are order-preserving encodings (set elements and map keys use the
//! key-component encoding, so a set reads back in comparator order).
//!
//! Invariants:
//! - Engine byte order = Cassandra's order: partitions by token, then key bytes; rows by
//!   clustering order (the clustering encoding is order-preserving, DESC inverted).
//! - Deletion markers are stored as *live* engine cells whose timestamp is the deletion
//!   timestamp: the engine never purges them, so a marker can never disappear while a
//!   cell it shadows still exists at another key.
//! - `escape` maps 0x00 to 0x00 0xFF and ends with 0x00 0x01, so escaped strings compare
//!   like the raw strings and a shorter string sorts before its extensions.

pub const PARTITION_DELETION: u8 = 0x00;
pub const RANGE_TOMBSTONE: u8 = 0x01;
pub const STATIC_CELL: u8 = 0x02;
pub const ROW: u8 = 0x03;
pub const ROW_MARKER: u8 = 0x00;
pub const ROW_CELL: u8 = 0x01;

/// What follows a cell key inside a multi-cell column (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SubCell {
    /// Deletion marker of the whole column (a live marker cell, like range tombstones).
    ComplexDeletion,
    Element,
    CounterShard,
    UdtField,
}

impl SubCell {
    pub fn tag(self) -> u8 {
        match self {
            SubCell::ComplexDeletion => 0x00,
            SubCell::Element => 0x01,
            SubCell::CounterShard => 0x02,
            SubCell::UdtField => 0x03,
        }
    }

    pub fn from_tag(tag: u8) -> Option<SubCell> {
        [
            SubCell::ComplexDeletion,
            SubCell::Element,
            SubCell::CounterShard,
            SubCell::UdtField,
        ]
        .into_iter()
        .find(|s| s.tag() == tag)
    }
}

/// The engine key of one piece of a multi-cell column.
pub fn sub_cell_key(cell_key: &[u8], kind: SubCell, path: &[u8]) -> Vec<u8> {
    with_suffix(cell_key, &[&[kind.tag()], path])
}

/// An 8-byte list ordering key: appends sort after every prepend, later appends after
/// earlier ones, later prepends before earlier ones (Cassandra uses timeuuids the same
/// way). `micros` must be unique per node (`clock::next_micros`).
pub fn list_path(micros: i64, prepend: bool) -> Vec<u8> {
    let micros = micros.unsigned_abs() & (u64::MAX >> 1);
    let order = if prepend {
        (1u64 << 63) - micros
    } else {
        (1u64 << 63) + micros
    };
    order.to_be_bytes().to_vec()
}

const TOKEN_BYTES: usize = 8;

/// Appends the order-preserving form of a token (signed order as unsigned bytes).
pub fn push_token(token: i64, out: &mut Vec<u8>) {
    out.extend_from_slice(&((token as u64) ^ (1 << 63)).to_be_bytes());
}

pub fn read_token(key: &[u8]) -> Option<i64> {
    let bytes: [u8; TOKEN_BYTES] = key.get(..TOKEN_BYTES)?.try_into().ok()?;
    Some((u64::from_be_bytes(bytes) ^ (1 << 63)) as i64)
}

/// Appends `raw` escaped and terminated (see the module invariants).
pub fn push_escaped(raw: &[u8], out: &mut Vec<u8>) {
    for &b in raw {
        out.push(b);
        if b == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0x00, 0x01]);
}

/// Reads an escaped string from the front of `input`, advancing it past the terminator.
pub fn read_escaped(input: &mut &[u8]) -> Option<Vec<u8>> {
    let mut raw = Vec::new();
    let mut i = 0;
    loop {
        match (input.get(i)?, input.get(i + 1)) {
            (0x00, Some(0xFF)) => {
                raw.push(0);
                i += 2;
            }
            (0x00, Some(0x01)) => {
                *input = input.get(i + 2..)?;
                return Some(raw);
            }
            (0x00, _) => return None,
            (&b, _) => {
                raw.push(b);
                i += 1;
            }
        }
    }
}

/// The engine key prefix of a partition.
pub fn partition_prefix(token: i64, partition_key: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(TOKEN_BYTES + partition_key.len() + 2);
    push_token(token, &mut key);
    push_escaped(partition_key, &mut key);
    key
}

/// The engine's prefix extractor: the partition prefix `P` of a key, so a partition read
/// skips the arrays whose prefix filter says they hold nothing of that partition.
pub const PARTITION_PREFIX: strata_engine::PrefixExtractor = strata_engine::PrefixExtractor {
    name: "strata.partition.v1",
    prefix_len: partition_prefix_len,
};

/// Length of the partition prefix: the token, then the escaped key up to its terminator
/// (the first `0x00 0x01` after the token; escaping never yields that pair inside the key).
/// Every key that starts with a key's prefix has the same prefix, as the engine requires.
fn partition_prefix_len(key: &[u8]) -> Option<usize> {
    let escaped = key.get(TOKEN_BYTES..)?;
    let end = escaped.windows(2).position(|pair| pair == [0x00, 0x01])?;
    Some(TOKEN_BYTES + end + 2)
}

/// Splits an engine key into (token, partition key bytes, rest after the prefix).
pub fn split_partition(key: &[u8]) -> Option<(i64, Vec<u8>, &[u8])> {
    let token = read_token(key)?;
    let mut rest = key.get(TOKEN_BYTES..)?;
    let pk = read_escaped(&mut rest)?;
    Some((token, pk, rest))
}

pub fn with_suffix(prefix: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut key = Vec::with_capacity(prefix.len() + parts.iter().map(|p| p.len()).sum::<usize>());
    key.extend_from_slice(prefix);
    for part in parts {
        key.extend_from_slice(part);
    }
    key
}

pub fn partition_deletion_key(prefix: &[u8]) -> Vec<u8> {
    with_suffix(prefix, &[&[PARTITION_DELETION]])
}

pub fn static_cell_key(prefix: &[u8], column: &str) -> Vec<u8> {
    let mut key = with_suffix(prefix, &[&[STATIC_CELL]]);
    push_escaped(column.as_bytes(), &mut key);
    key
}

/// `clustering` is the concatenated order-preserving encoding of all clustering values.
pub fn row_marker_key(prefix: &[u8], clustering: &[u8]) -> Vec<u8> {
    with_suffix(prefix, &[&[ROW], clustering, &[ROW_MARKER]])
}

pub fn row_cell_key(prefix: &[u8], clustering: &[u8], column: &str) -> Vec<u8> {
    let mut key = with_suffix(prefix, &[&[ROW], clustering, &[ROW_CELL]]);
    push_escaped(column.as_bytes(), &mut key);
    key
}

pub fn range_tombstone_key(prefix: &[u8], start: &[u8], end: &[u8]) -> Vec<u8> {
    let mut key = with_suffix(prefix, &[&[RANGE_TOMBSTONE]]);
    push_escaped(start, &mut key);
    push_escaped(end, &mut key);
    key
}

/// The smallest byte string greater than every string that starts with `prefix`, or
/// `None` when no such string exists (the prefix is all 0xFF).
pub fn prefix_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut succ = prefix.to_vec();
    while let Some(last) = succ.pop() {
        if last < 0xFF {
            succ.push(last + 1);
            return Some(succ);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_sort_in_signed_order() {
        let encode = |t: i64| {
            let mut v = Vec::new();
            push_token(t, &mut v);
            v
        };
        let tokens = [i64::MIN, -5, -1, 0, 1, 7, i64::MAX];
        for pair in tokens.windows(2) {
            assert!(encode(pair[0]) < encode(pair[1]), "{pair:?}");
        }
        assert_eq!(read_token(&encode(-42)), Some(-42));
    }

    #[test]
    fn escaping_preserves_order_and_round_trips() {
        let samples: [&[u8]; 6] = [b"", b"\x00", b"\x00\x00", b"\x00\x01", b"a", b"a\x00b"];
        let mut encoded: Vec<(Vec<u8>, &[u8])> = samples
            .iter()
            .map(|s| {
                let mut e = Vec::new();
                push_escaped(s, &mut e);
                (e, *s)
            })
            .collect();
        encoded.sort();
        let order: Vec<&[u8]> = encoded.iter().map(|(_, s)| *s).collect();
        let mut expected = samples.to_vec();
        expected.sort();
        assert_eq!(order, expected);
        for (e, s) in &encoded {
            let mut input = e.as_slice();
            assert_eq!(read_escaped(&mut input).as_deref(), Some(*s));
            assert!(input.is_empty());
        }
    }

    #[test]
    fn partition_prefix_extractor_finds_the_partition_prefix() {
        for pk in [&b""[..], b"k", b"\x00\x01", b"a\x00\x00b\x01"] {
            let prefix = partition_prefix(-7, pk);
            let marker = row_marker_key(&prefix, b"\x00\x01\x02");
            let cell = row_cell_key(&prefix, b"c", "v");
            for key in [&prefix, &marker, &cell] {
                assert_eq!(
                    partition_prefix_len(key),
                    Some(prefix.len()),
                    "{pk:?} {key:?}"
                );
            }
        }
        // Too short to hold a token, or no terminator: no prefix.
        assert_eq!(partition_prefix_len(b"\x00\x01"), None);
        assert_eq!(partition_prefix_len(b"12345678abc"), None);
    }

    #[test]
    fn partition_prefix_splits_back() {
        let prefix = partition_prefix(-3, b"k\x00y");
        let key = row_cell_key(&prefix, b"\x80\x00\x00\x01", "v");
        let (token, pk, rest) = split_partition(&key).expect("split");
        assert_eq!((token, pk.as_slice()), (-3, &b"k\x00y"[..]));
        assert_eq!(rest.first(), Some(&ROW));
    }

    #[test]
    fn successor_skips_trailing_ff() {
        assert_eq!(prefix_successor(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_successor(b"a\xff\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_successor(b"\xff"), None);
    }

    #[test]
    fn list_paths_order_prepends_before_appends() {
        let (p2, p1) = (list_path(20, true), list_path(10, true));
        let (a1, a2) = (list_path(10, false), list_path(20, false));
        assert!(p2 < p1 && p1 < a1 && a1 < a2);
    }

    #[test]
    fn sub_cells_follow_their_column_in_tag_order() {
        let p = partition_prefix(0, b"k");
        let cell = row_cell_key(&p, b"", "m");
        let deletion = sub_cell_key(&cell, SubCell::ComplexDeletion, b"");
        let element = sub_cell_key(&cell, SubCell::Element, b"a");
        let next_column = row_cell_key(&p, b"", "n");
        assert!(cell < deletion && deletion < element && element < next_column);
        assert_eq!(
            SubCell::from_tag(SubCell::UdtField.tag()),
            Some(SubCell::UdtField)
        );
    }

    #[test]
    fn header_sorts_before_static_before_rows() {
        let p = partition_prefix(0, b"k");
        let rt = range_tombstone_key(&p, b"", b"");
        let st = static_cell_key(&p, "s");
        let row = row_marker_key(&p, b"");
        assert!(partition_deletion_key(&p) < rt && rt < st && st < row);
    }
}
