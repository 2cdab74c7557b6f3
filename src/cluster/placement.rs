//! Replica placement: which endpoints hold a token's data under a keyspace's replication
//! strategy (Cassandra's `SimpleStrategy`, `NetworkTopologyStrategy`, `LocalStrategy`).
//!
//! Sans-IO: pure functions of a `Ring` and a `Strategy`. Liveness plays no part: the
//! replicas of a token are the same whether they are up or down (the coordinator decides
//! what to do about down ones).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use uuid::Uuid;

use super::ring::{range_width, Ring};

const SIMPLE: &str = "org.apache.cassandra.locator.SimpleStrategy";
const NETWORK_TOPOLOGY: &str = "org.apache.cassandra.locator.NetworkTopologyStrategy";
const LOCAL: &str = "org.apache.cassandra.locator.LocalStrategy";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Node-local data (the `system` keyspace): only the local node.
    Local,
    Simple {
        replication_factor: usize,
    },
    /// Replication factor per datacenter.
    NetworkTopology {
        datacenters: BTreeMap<String, usize>,
    },
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PlacementError {
    /// Cassandra's ConfigurationException wording.
    #[error(
        "Unrecognized strategy option {{{option}}} passed to {strategy} for keyspace {keyspace}"
    )]
    UnknownOption {
        option: String,
        strategy: &'static str,
        keyspace: String,
    },
    #[error("Configuration for at least one datacenter must be present")]
    NoDatacenter,
    #[error("Unable to find replication strategy class '{0}'")]
    UnknownClass(String),
    #[error("Replication factor must be non-negative integer; found {0}")]
    BadFactor(String),
}

impl Strategy {
    /// The strategy of a keyspace's stored `replication` map (full class names, as
    /// `CREATE KEYSPACE` normalises them).
    pub fn from_options(options: &BTreeMap<String, String>) -> Result<Strategy, PlacementError> {
        let factor = |v: &String| {
            v.parse::<usize>()
                .map_err(|_| PlacementError::BadFactor(v.clone()))
        };
        match options.get("class").map(String::as_str).unwrap_or_default() {
            LOCAL => Ok(Strategy::Local),
            SIMPLE => {
                let rf = options
                    .get("replication_factor")
                    .map(factor)
                    .transpose()?
                    .unwrap_or(1);
                Ok(Strategy::Simple {
                    replication_factor: rf,
                })
            }
            NETWORK_TOPOLOGY => {
                let datacenters = options
                    .iter()
                    .filter(|(k, _)| *k != "class")
                    .map(|(k, v)| Ok((k.clone(), factor(v)?)))
                    .collect::<Result<_, _>>()?;
                Ok(Strategy::NetworkTopology { datacenters })
            }
            other => Err(PlacementError::UnknownClass(other.to_string())),
        }
    }

    /// Checks a new or altered keyspace's strategy against the ring as Cassandra's
    /// `validateExpectedOptions` does: NetworkTopologyStrategy accepts only the names of
    /// datacenters the ring knows.
    pub fn validate(&self, keyspace: &str, ring: &Ring) -> Result<(), PlacementError> {
        let Strategy::NetworkTopology { datacenters } = self else {
            return Ok(());
        };
        if datacenters.is_empty() {
            return Err(PlacementError::NoDatacenter);
        }
        let known = ring.topology();
        match datacenters
            .keys()
            .find(|dc| !known.contains_key(dc.as_str()))
        {
            Some(dc) => Err(PlacementError::UnknownOption {
                option: dc.clone(),
                strategy: "NetworkTopologyStrategy",
                keyspace: keyspace.to_string(),
            }),
            None => Ok(()),
        }
    }

    /// Replication factor in `dc` (the whole factor for strategies without datacenters).
    pub fn replication_factor(&self, dc: Option<&str>) -> usize {
        match (self, dc) {
            (Strategy::Local, _) => 1,
            (Strategy::Simple { replication_factor }, _) => *replication_factor,
            (Strategy::NetworkTopology { datacenters }, Some(dc)) => {
                datacenters.get(dc).copied().unwrap_or(0)
            }
            (Strategy::NetworkTopology { datacenters }, None) => datacenters.values().sum(),
        }
    }

    /// The replicas of `token`, primary first (Cassandra's `calculateNaturalReplicas`).
    pub fn replicas(&self, ring: &Ring, token: i64) -> Vec<Uuid> {
        match self {
            Strategy::Local => vec![ring.local().host_id],
            Strategy::Simple { replication_factor } => {
                let rf = (*replication_factor).min(ring.len());
                let mut replicas = Vec::with_capacity(rf);
                for (_, host) in ring.walk(token) {
                    if replicas.len() == rf {
                        break;
                    }
                    if !replicas.contains(&host) {
                        replicas.push(host);
                    }
                }
                replicas
            }
            Strategy::NetworkTopology { datacenters } => network_topology(ring, datacenters, token),
        }
    }
}

/// Cassandra 4+'s NetworkTopologyStrategy: walking the ring from `token`, each datacenter
/// takes endpoints on racks it has not used yet, and accepts an endpoint on an already
/// used rack only while more replicas are wanted than there are racks left to use
/// (`acceptableRackRepeats = rf - racks`). The factor is capped by the datacenter's size.
fn network_topology(ring: &Ring, datacenters: &BTreeMap<String, usize>, token: i64) -> Vec<Uuid> {
    struct Dc<'a> {
        wanted: usize,
        rack_repeats: isize,
        racks: HashSet<&'a str>,
    }
    let topology = ring.topology();
    let mut nodes_per_dc: BTreeMap<&str, usize> = BTreeMap::new();
    for e in ring.endpoints() {
        *nodes_per_dc.entry(e.dc.as_str()).or_default() += 1;
    }
    let mut dcs: BTreeMap<&str, Dc> = BTreeMap::new();
    for (name, rf) in datacenters {
        let Some(racks) = topology.get(name.as_str()) else {
            continue;
        };
        let rf = (*rf).min(nodes_per_dc.get(name.as_str()).copied().unwrap_or(0));
        if rf > 0 {
            dcs.insert(
                name,
                Dc {
                    wanted: rf,
                    rack_repeats: rf as isize - racks.len() as isize,
                    racks: HashSet::new(),
                },
            );
        }
    }
    let mut remaining: usize = dcs.values().map(|d| d.wanted).sum();
    let mut replicas: Vec<Uuid> = Vec::with_capacity(remaining);
    let mut seen: BTreeSet<Uuid> = BTreeSet::new();
    for (_, host) in ring.walk(token) {
        if remaining == 0 {
            break;
        }
        if !seen.insert(host) {
            continue;
        }
        let Some(e) = ring.endpoint(&host) else {
            continue;
        };
        let Some(dc) = dcs.get_mut(e.dc.as_str()) else {
            continue;
        };
        if dc.wanted == 0 {
            continue;
        }
        if !dc.racks.insert(e.rack.as_str()) {
            if dc.rack_repeats <= 0 {
                // Every remaining replica must go to a rack not used yet; a later node
                // on this rack may still be needed once those run out, so forget it.
                seen.remove(&host);
                continue;
            }
            dc.rack_repeats -= 1;
        }
        dc.wanted -= 1;
        remaining -= 1;
        replicas.push(host);
    }
    replicas
}

/// Each token range, by its end token (ascending), with its replicas' addresses.
pub fn range_owners(ring: &Ring, strategy: &Strategy) -> Vec<(i64, Vec<std::net::IpAddr>)> {
    ring.tokens()
        .map(|(token, _)| {
            let addresses = strategy
                .replicas(ring, token)
                .iter()
                .filter_map(|h| ring.endpoint(h))
                .map(|e| e.address)
                .collect();
            (token, addresses)
        })
        .collect()
}

/// Fraction of the ring each endpoint replicates under `strategy` (`nodetool status`'s
/// "Owns (effective)"; sums to the total replication factor).
pub fn effective_ownership(ring: &Ring, strategy: &Strategy) -> BTreeMap<Uuid, f64> {
    let mut owned: BTreeMap<Uuid, u128> = ring.endpoints().map(|e| (e.host_id, 0)).collect();
    for (token, _) in ring.tokens() {
        let width = range_width(ring.previous_token(token).unwrap_or(token), token);
        for host in strategy.replicas(ring, token) {
            *owned.entry(host).or_default() += width;
        }
    }
    owned
        .into_iter()
        .map(|(h, w)| (h, w as f64 / (1u128 << 64) as f64))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::ring::tests::{endpoint, random_ring, TestRng};
    use super::*;

    fn nts(pairs: &[(&str, usize)]) -> Strategy {
        Strategy::NetworkTopology {
            datacenters: pairs.iter().map(|(d, n)| (d.to_string(), *n)).collect(),
        }
    }

    #[test]
    fn parses_stored_options() {
        let opts = |pairs: &[(&str, &str)]| {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>()
        };
        assert_eq!(
            Strategy::from_options(&opts(&[("class", SIMPLE), ("replication_factor", "3")])),
            Ok(Strategy::Simple {
                replication_factor: 3
            })
        );
        assert_eq!(
            Strategy::from_options(&opts(&[("class", NETWORK_TOPOLOGY), ("dc1", "2")])),
            Ok(nts(&[("dc1", 2)]))
        );
        assert_eq!(
            Strategy::from_options(&opts(&[("class", LOCAL)])),
            Ok(Strategy::Local)
        );
    }

    #[test]
    fn unknown_datacenter_is_refused_as_cassandra_does() {
        let ring = Ring::new(endpoint(1, "datacenter1", "rack1", vec![0]));
        assert_eq!(nts(&[("datacenter1", 3)]).validate("ks", &ring), Ok(()));
        let err = nts(&[("dc9", 1)]).validate("ks", &ring).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Unrecognized strategy option {dc9} passed to NetworkTopologyStrategy for keyspace ks"
        );
        assert_eq!(
            nts(&[]).validate("ks", &ring),
            Err(PlacementError::NoDatacenter)
        );
    }

    #[test]
    fn simple_strategy_walks_distinct_nodes() {
        let mut ring = Ring::new(endpoint(1, "dc", "r", vec![0, 30]));
        ring.upsert(endpoint(2, "dc", "r", vec![10, 40]));
        ring.upsert(endpoint(3, "dc", "r", vec![20]));
        let id = |n: u128| Uuid::from_u128(n + 1);
        assert_eq!(
            Strategy::Simple {
                replication_factor: 2
            }
            .replicas(&ring, 25),
            vec![id(1), id(2)]
        );
        assert_eq!(
            Strategy::Simple {
                replication_factor: 3
            }
            .replicas(&ring, 41),
            vec![id(1), id(2), id(3)]
        );
        assert_eq!(
            Strategy::Simple {
                replication_factor: 5
            }
            .replicas(&ring, 5)
            .len(),
            3,
            "capped by the ring size"
        );
    }

    #[test]
    fn network_topology_prefers_new_racks() {
        // Ring order: 1 (r1), 2 (r1), 3 (r2), 4 (r3): with rf 3 the second r1 node is skipped.
        let mut ring = Ring::new(endpoint(1, "dc", "r1", vec![10]));
        ring.upsert(endpoint(2, "dc", "r1", vec![20]));
        ring.upsert(endpoint(3, "dc", "r2", vec![30]));
        ring.upsert(endpoint(4, "dc", "r3", vec![40]));
        let id = |n: u128| Uuid::from_u128(n + 1);
        assert_eq!(
            nts(&[("dc", 3)]).replicas(&ring, 0),
            vec![id(1), id(3), id(4)]
        );
        // rf 4 > 3 racks: one repeat is acceptable, taken greedily as Cassandra does.
        assert_eq!(
            nts(&[("dc", 4)]).replicas(&ring, 0),
            vec![id(1), id(2), id(3), id(4)]
        );
    }

    /// Random multi-DC rings: replicas are distinct, number min(rf, nodes) per DC, cover
    /// min(rf, racks) distinct racks per DC, and do not depend on liveness or on the
    /// order endpoints were added in (stability).
    #[test]
    fn placement_properties() {
        let mut rng = TestRng::from_env("placement_properties");
        for _ in 0..50 {
            let dc_count = 1 + rng.below(3) as usize;
            let nodes = 1 + rng.below(12) as usize;
            let num_tokens = 1 + rng.below(16) as usize;
            let ring = random_ring(&mut rng, dc_count, nodes, 4, num_tokens);
            let datacenters: BTreeMap<String, usize> = (0..dc_count)
                .map(|d| (format!("dc{d}"), 1 + rng.below(4) as usize))
                .collect();
            let strategy = Strategy::NetworkTopology {
                datacenters: datacenters.clone(),
            };
            let simple = Strategy::Simple {
                replication_factor: 1 + rng.below(4) as usize,
            };

            let mut shuffled = ring.endpoints().cloned().collect::<Vec<_>>();
            shuffled.reverse();
            let mut rebuilt = Ring::new(ring.local().clone());
            for e in shuffled {
                rebuilt.upsert(e);
            }
            for _ in 0..50 {
                let token = rng.next() as i64;
                let replicas = strategy.replicas(&ring, token);
                assert_eq!(
                    replicas,
                    strategy.replicas(&rebuilt, token),
                    "placement is independent of insertion order"
                );
                assert_eq!(
                    replicas.iter().collect::<BTreeSet<_>>().len(),
                    replicas.len(),
                    "distinct replicas"
                );
                for (dc, rf) in &datacenters {
                    let in_dc: Vec<_> = ring.endpoints().filter(|e| &e.dc == dc).collect();
                    let racks: BTreeSet<_> = in_dc.iter().map(|e| e.rack.as_str()).collect();
                    let chosen: Vec<_> = replicas
                        .iter()
                        .filter_map(|h| ring.endpoint(h))
                        .filter(|e| &e.dc == dc)
                        .collect();
                    assert_eq!(
                        chosen.len(),
                        (*rf).min(in_dc.len()),
                        "rf {rf} in {dc} of {} nodes",
                        in_dc.len()
                    );
                    let chosen_racks: BTreeSet<_> =
                        chosen.iter().map(|e| e.rack.as_str()).collect();
                    assert_eq!(
                        chosen_racks.len(),
                        (*rf).min(racks.len()).min(chosen.len()),
                        "rack diversity in {dc}"
                    );
                }
                let simple_replicas = simple.replicas(&ring, token);
                assert_eq!(
                    simple_replicas.len(),
                    simple.replication_factor(None).min(ring.len())
                );
                assert_eq!(
                    simple_replicas.first(),
                    ring.walk(token).next().map(|(_, h)| h).as_ref(),
                    "primary owns the range"
                );
            }
            let total: f64 = effective_ownership(&ring, &strategy).values().sum();
            let expected: usize = datacenters
                .iter()
                .map(|(dc, rf)| (*rf).min(ring.endpoints().filter(|e| &e.dc == dc).count()))
                .sum();
            assert!(
                (total - expected as f64).abs() < 1e-6,
                "effective ownership sums to the replication factor"
            );
        }
    }
}
