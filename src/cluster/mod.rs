//! Cluster layer: the coordinator every statement goes through, the token ring and the
//! local replica. Gossip and internode messaging come later behind the same coordinator.

pub mod consistency;
pub mod coordinator;
pub mod local;
pub mod read_repair;
pub mod ring;
mod write_pipeline;

pub use coordinator::{
    Coordinator, CoordinatorError, Deadlines, ReadCommand, ReadResult, ReadTarget, TableWrite,
    WriteCommand,
};
pub use local::LocalReplica;
pub use ring::Ring;
