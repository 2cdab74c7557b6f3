//! EVENT (stream -1, only for registered types) and the SCHEMA_CHANGE body shared with RESULT.

use std::net::SocketAddr;

/// An event type a client registers for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    TopologyChange,
    StatusChange,
    SchemaChange,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaChangeType {
    Created,
    Updated,
    Dropped,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SchemaChangeTarget {
    Keyspace(String),
    Table { keyspace: String, name: String },
    Type { keyspace: String, name: String },
    Function { keyspace: String, name: String, args: Vec<String> },
    Aggregate { keyspace: String, name: String, args: Vec<String> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaChange {
    pub change: SchemaChangeType,
    pub target: SchemaChangeTarget,
}

/// A server-pushed event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    SchemaChange(SchemaChange),
    /// `change` is `NEW_NODE` or `REMOVED_NODE`.
    TopologyChange { change: String, address: SocketAddr },
    /// `change` is `UP` or `DOWN`.
    StatusChange { change: String, address: SocketAddr },
}
