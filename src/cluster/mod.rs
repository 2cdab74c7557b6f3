//! Cluster layer: the coordinator every statement goes through, the token ring and replica
//! placement (sans-IO), membership (sans-IO) fed by gossip, internode messaging, the
//! metadata log (schema in Raft), and the local replica.

pub mod command;
pub mod consistency;
pub mod coordinator;
pub mod gossip;
pub mod local;
pub mod membership;
pub mod messaging;
pub mod metadata;
pub mod moves;
pub mod nodetool;
pub mod paxos;
pub mod placement;
pub mod read_repair;
pub mod replica;
pub mod ring;
pub mod streaming;
pub mod topology;
mod write_pipeline;

pub use write_pipeline::{next_ready, Handoff};

pub use command::{
    Branch, CoordinatorError, ReadCommand, ReadResult, ReadTarget, TableWrite, WriteCommand,
};
pub use coordinator::{Coordinator, Deadlines};
pub use local::LocalReplica;
pub use ring::{Ring, SharedRing};

use crate::error::CqlError;

/// The coordinator's errors as the request error the client gets (its wire code is then
/// chosen by `CqlError::to_body`). Here rather than in `error.rs` so that `error` stays
/// below `cluster` (which uses `error`'s failure reasons) and `schema`.
impl From<CoordinatorError> for CqlError {
    fn from(e: CoordinatorError) -> Self {
        match e {
            CoordinatorError::Unavailable {
                consistency,
                required,
                alive,
                dc,
            } => CqlError::Unavailable {
                consistency,
                required,
                alive,
                dc,
            },
            CoordinatorError::WriteTimeout {
                consistency,
                received,
                block_for,
                write_type,
                contentions,
            } => CqlError::WriteTimeout {
                consistency,
                received,
                block_for,
                write_type,
                contentions,
            },
            CoordinatorError::ReadTimeout {
                consistency,
                received,
                block_for,
                data_present,
            } => CqlError::ReadTimeout {
                consistency,
                received,
                block_for,
                data_present,
            },
            CoordinatorError::WriteFailure {
                consistency,
                received,
                block_for,
                failures,
                write_type,
            } => CqlError::WriteFailure {
                consistency,
                received,
                block_for,
                failures,
                write_type,
            },
            CoordinatorError::ReadFailure {
                consistency,
                received,
                block_for,
                failures,
                data_present,
            } => CqlError::ReadFailure {
                consistency,
                received,
                block_for,
                failures,
                data_present,
            },
            other => CqlError::Server(other.to_string()),
        }
    }
}

/// The node cluster code runs in, as cluster code sees it. `node::Node` implements it
/// (with its own accessors), so that gossip and the nodetool views, below `node` in the
/// module layers, read and drive the node's state without depending on `node`.
pub trait Host: Send + Sync + 'static {
    fn config(&self) -> &crate::config::Config;
    fn host_id(&self) -> uuid::Uuid;
    /// The ring (`shared_ring`, `ring`) lives in the coordinator.
    fn coordinator(&self) -> &Coordinator;
    fn schema(&self) -> &crate::schema::SchemaStore;
    /// The storage engine, for its stats (the load gossip and nodetool report).
    fn engine(&self) -> &std::sync::Arc<strata_engine::Engine>;
    fn membership(&self) -> &gossip::Membership;
    /// The schema's Raft log (applied position, members' confirmed schema versions).
    fn metadata(&self) -> &metadata::MetadataLog;
    /// Announces a topology or status event to the registered clients.
    fn publish(&self, event: strata_protocol::Event);
    /// Internode messaging (the removal coordinator's requests to the gaining nodes).
    fn messaging(&self) -> &messaging::Messaging;
}
