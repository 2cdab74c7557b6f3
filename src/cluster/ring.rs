//! The token ring: which nodes own which Murmur3 token ranges.
//!
//! Invariant: tokens are derived deterministically from the node's persisted host id, so
//! a restarted node owns exactly the ranges it owned before.

use std::net::IpAddr;

use strata_protocol::Consistency;
use uuid::Uuid;

#[derive(Clone, Debug)]
pub struct Node {
    pub host_id: Uuid,
    pub address: IpAddr,
    pub dc: String,
    pub rack: String,
    pub tokens: Vec<i64>,
}

#[derive(Clone, Debug)]
pub struct Ring {
    local: Node,
    replication_factor: i32,
}

impl Ring {
    /// A ring of one node owning `num_tokens` tokens.
    pub fn single(
        host_id: Uuid,
        address: IpAddr,
        dc: String,
        rack: String,
        num_tokens: u32,
    ) -> Ring {
        let tokens = tokens_for(host_id, num_tokens.max(1));
        Ring {
            local: Node {
                host_id,
                address,
                dc,
                rack,
                tokens,
            },
            replication_factor: 1,
        }
    }

    pub fn local(&self) -> &Node {
        &self.local
    }

    /// Replicas that must acknowledge for `consistency` (Cassandra's `blockFor`).
    pub fn block_for(&self, consistency: Consistency) -> i32 {
        let rf = self.replication_factor;
        match consistency {
            Consistency::Any | Consistency::One | Consistency::LocalOne => 1,
            Consistency::Two => 2,
            Consistency::Three => 3,
            Consistency::Quorum | Consistency::LocalQuorum | Consistency::EachQuorum => rf / 2 + 1,
            Consistency::Serial | Consistency::LocalSerial => rf / 2 + 1,
            Consistency::All => rf,
        }
    }

    pub fn live_replicas(&self) -> i32 {
        1
    }

    /// Each token range, by its end token (ascending), with the addresses of its
    /// replicas. One node owns every range today; replica placement by keyspace strategy
    /// comes with the cluster.
    pub fn range_owners(&self) -> Vec<(i64, Vec<IpAddr>)> {
        let mut tokens = self.local.tokens.clone();
        tokens.sort_unstable();
        tokens
            .into_iter()
            .map(|token| (token, vec![self.local.address]))
            .collect()
    }
}

/// `count` distinct tokens spread pseudo-randomly by a splitmix64 stream seeded from the
/// host id (random tokens, as Cassandra assigns without an allocation algorithm).
fn tokens_for(host_id: Uuid, count: u32) -> Vec<i64> {
    let (hi, lo) = host_id.as_u64_pair();
    let mut state = hi ^ lo.rotate_left(17);
    let mut tokens: Vec<i64> = (0..count)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) as i64
        })
        .filter(|t| *t != i64::MIN)
        .collect();
    tokens.sort_unstable();
    tokens.dedup();
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_stable_per_host() {
        let id = Uuid::from_u128(42);
        let a = Ring::single(id, [127, 0, 0, 1].into(), "dc".into(), "r".into(), 16);
        let b = Ring::single(id, [127, 0, 0, 1].into(), "dc".into(), "r".into(), 16);
        assert_eq!(a.local().tokens, b.local().tokens);
        assert_eq!(a.local().tokens.len(), 16);
    }

    #[test]
    fn single_node_block_for() {
        let ring = Ring::single(
            Uuid::nil(),
            [127, 0, 0, 1].into(),
            "dc".into(),
            "r".into(),
            1,
        );
        assert_eq!(ring.block_for(Consistency::Quorum), 1);
        assert_eq!(ring.block_for(Consistency::All), 1);
        assert_eq!(ring.block_for(Consistency::Two), 2);
    }
}
