//! Cassandra's Murmur3Partitioner token.
//!
//! The token is the first 64-bit half of MurmurHash3 x64_128 (seed 0) over the serialized partition key,
//! with two Cassandra rules: an empty key is the minimum token, and `i64::MIN` (reserved for the minimum)
//! is mapped to `i64::MAX`. Cassandra's implementation reads the tail bytes as *signed* Java bytes, so a
//! tail byte >= 0x80 sign-extends; drivers copy that quirk and so must we, or tokens would disagree.

const C1: u64 = 0x87c3_7b91_1142_53d5;
const C2: u64 = 0x4cf5_ad43_2745_937f;

/// The token of a serialized partition key (a single component's value bytes, or the composite encoding).
pub fn token(key: &[u8]) -> i64 {
    if key.is_empty() {
        return i64::MIN;
    }
    match hash3_x64_128_h1(key) {
        i64::MIN => i64::MAX,
        h1 => h1,
    }
}

fn mix_k1(k1: u64) -> u64 {
    k1.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2)
}

fn mix_k2(k2: u64) -> u64 {
    k2.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1)
}

fn fmix(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

fn le_u64(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0, |acc, byte| (acc << 8) | u64::from(*byte))
}

/// The first half of MurmurHash3 x64_128 with seed 0, tail bytes sign-extended as in Cassandra.
fn hash3_x64_128_h1(key: &[u8]) -> i64 {
    let mut h1: u64 = 0;
    let mut h2: u64 = 0;
    let blocks = key.chunks_exact(16);
    let tail = blocks.remainder();
    for block in blocks {
        let (low, high) = block.split_at(8);
        h1 ^= mix_k1(le_u64(low));
        h1 = h1
            .rotate_left(27)
            .wrapping_add(h2)
            .wrapping_mul(5)
            .wrapping_add(0x52dc_e729);
        h2 ^= mix_k2(le_u64(high));
        h2 = h2
            .rotate_left(31)
            .wrapping_add(h1)
            .wrapping_mul(5)
            .wrapping_add(0x3849_5ab5);
    }
    let (mut k1, mut k2) = (0u64, 0u64);
    for (index, byte) in tail.iter().enumerate() {
        // Java's `(long) key.get(i)` sign-extends the byte before shifting.
        let signed = i64::from(*byte as i8) as u64;
        if index < 8 {
            k1 ^= signed << (8 * index);
        } else {
            k2 ^= signed << (8 * (index - 8));
        }
    }
    if tail.len() > 8 {
        h2 ^= mix_k2(k2);
    }
    if !tail.is_empty() {
        h1 ^= mix_k1(k1);
    }
    let len = key.len() as u64;
    h1 ^= len;
    h2 ^= len;
    h1 = h1.wrapping_add(h2);
    h2 = h2.wrapping_add(h1);
    h1 = fmix(h1);
    h2 = fmix(h2);
    h1.wrapping_add(h2) as i64
}

#[cfg(test)]
mod tests {
    use super::token;

    fn repeat(pattern: &[u8], times: usize) -> Vec<u8> {
        pattern
            .iter()
            .copied()
            .cycle()
            .take(pattern.len() * times)
            .collect()
    }

    /// Every vector of brief §5: driver test suites (python, scylla, cassandra-protocol) and values computed
    /// with the python driver's pure-Python murmur3.
    #[test]
    fn matches_every_known_vector() {
        let vectors: Vec<(Vec<u8>, i64)> = vec![
            (b"123".to_vec(), -7468325962851647638),
            (
                repeat(&[0x00, 0xff, 0x10, 0xfa, 0x99], 10),
                5837342703291459765,
            ),
            (repeat(&[0xfe], 8), -8927430733708461935),
            (repeat(&[0x10], 8), 1446172840243228796),
            (b"9223372036854775807".to_vec(), 7162290910810015547),
            (b"test".to_vec(), -6017608668500074083),
            (b"xd".to_vec(), 4507812186440344727),
            (b"primary_key".to_vec(), -1632642444691073360),
            ("kremówki".as_bytes().to_vec(), 4354931215268080151),
            (b"testvalue".to_vec(), 5965290492934326460),
            (b"testvalue123".to_vec(), 1518494936189046133),
            (b"example_key".to_vec(), -7813763279771224608),
            ("château".as_bytes().to_vec(), 9114062196463836094),
            (vec![0, 0, 0, 1], -4069959284402364209),
            (vec![0, 0, 0, 2], -3248873570005575792),
            (vec![0, 0, 0, 3], 9010454139840013625),
            (vec![0, 0, 0, 42], -7160136740246525330),
            (vec![0, 0, 0, 0, 0, 0, 0, 1], 6292367497774912474),
            (
                vec![0, 4, 0, 0, 0, 1, 0, 0, 1, 0x61, 0],
                6516349416904725244,
            ),
            (Vec::new(), i64::MIN),
        ];
        for (key, expected) in vectors {
            assert_eq!(token(&key), expected, "key {key:02x?}");
        }
    }
}
