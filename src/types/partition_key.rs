//! A partition key as Cassandra serialises it: one component as-is, several in
//! CompositeType form (`u16 length ‖ value ‖ 0x00` each). These bytes are what the
//! token is the murmur3 hash of, on the server and in drivers' routing, so every layer
//! that computes a token (statements, system tables, `nodetool getendpoints`) uses this.

/// The serialised key of `components` (each a value in native-protocol form).
pub fn serialize_partition_key(components: &[Vec<u8>]) -> Vec<u8> {
    if let [single] = components {
        return single.clone();
    }
    let mut out = Vec::new();
    for c in components {
        out.extend_from_slice(&(c.len() as u16).to_be_bytes());
        out.extend_from_slice(c);
        out.push(0);
    }
    out
}

/// The components of a key serialised by [`serialize_partition_key`] for a table with
/// `column_count` partition key columns. A truncated component ends the list (keys are
/// read back from the engine, which stored what `serialize_partition_key` produced).
pub fn split_partition_key(bytes: &[u8], column_count: usize) -> Vec<Vec<u8>> {
    if column_count <= 1 {
        return vec![bytes.to_vec()];
    }
    let mut out = Vec::with_capacity(column_count);
    let mut rest = bytes;
    while let [hi, lo, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*hi, *lo]));
        let Some(value) = tail.get(..len) else {
            break;
        };
        out.push(value.to_vec());
        rest = tail.get(len + 1..).unwrap_or_default();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_component_is_the_value_itself() {
        assert_eq!(serialize_partition_key(&[b"abc".to_vec()]), b"abc");
        assert_eq!(split_partition_key(b"abc", 1), vec![b"abc".to_vec()]);
    }

    #[test]
    fn composite_form_round_trips() {
        let parts = vec![vec![0, 0, 0, 1], b"xy".to_vec(), Vec::new()];
        let bytes = serialize_partition_key(&parts);
        assert_eq!(
            bytes,
            [0, 4, 0, 0, 0, 1, 0, 0, 2, b'x', b'y', 0, 0, 0, 0].to_vec()
        );
        assert_eq!(split_partition_key(&bytes, 3), parts);
    }

    #[test]
    fn truncated_composite_stops_without_panicking() {
        assert_eq!(split_partition_key(&[0, 9, 1, 2], 2), Vec::<Vec<u8>>::new());
        assert_eq!(split_partition_key(&[0], 2), Vec::<Vec<u8>>::new());
    }
}
