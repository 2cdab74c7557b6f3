//! Cluster layer: the coordinator every statement goes through, the token ring and replica
//! placement (sans-IO), membership (sans-IO) fed by gossip, internode messaging, and the
//! local replica.

pub mod consistency;
pub mod coordinator;
pub mod gossip;
pub mod local;
pub mod membership;
pub mod messaging;
pub mod nodetool;
pub mod placement;
pub mod read_repair;
pub mod ring;
mod write_pipeline;

pub use coordinator::{
    Coordinator, CoordinatorError, Deadlines, ReadCommand, ReadResult, ReadTarget, TableWrite,
    WriteCommand,
};
pub use local::LocalReplica;
pub use ring::{Ring, SharedRing};
