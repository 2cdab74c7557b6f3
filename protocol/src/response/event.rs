//! EVENT (stream -1, only for registered types) and the SCHEMA_CHANGE body shared with RESULT.

use std::net::SocketAddr;

use bytes::BytesMut;

use crate::error::{EncodeError, ProtocolError};
use crate::types::{put_inet, put_string, put_string_list, Reader};

/// An event type a client registers for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    TopologyChange,
    StatusChange,
    SchemaChange,
}

impl EventType {
    /// The wire name, as in REGISTER and EVENT bodies.
    pub fn name(self) -> &'static str {
        match self {
            Self::TopologyChange => "TOPOLOGY_CHANGE",
            Self::StatusChange => "STATUS_CHANGE",
            Self::SchemaChange => "SCHEMA_CHANGE",
        }
    }

    /// The event type of a wire name.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::TopologyChange, Self::StatusChange, Self::SchemaChange]
            .into_iter()
            .find(|event| event.name() == name)
    }
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
    Table {
        keyspace: String,
        name: String,
    },
    Type {
        keyspace: String,
        name: String,
    },
    Function {
        keyspace: String,
        name: String,
        args: Vec<String>,
    },
    Aggregate {
        keyspace: String,
        name: String,
        args: Vec<String>,
    },
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
    TopologyChange {
        change: String,
        address: SocketAddr,
    },
    /// `change` is `UP` or `DOWN`.
    StatusChange {
        change: String,
        address: SocketAddr,
    },
}

const CHANGE_NAMES: [(SchemaChangeType, &str); 3] = [
    (SchemaChangeType::Created, "CREATED"),
    (SchemaChangeType::Updated, "UPDATED"),
    (SchemaChangeType::Dropped, "DROPPED"),
];

impl SchemaChangeType {
    fn name(self) -> &'static str {
        CHANGE_NAMES
            .iter()
            .find(|(change, _)| *change == self)
            .map_or("", |(_, name)| name)
    }

    fn from_name(name: &str) -> Option<Self> {
        CHANGE_NAMES
            .iter()
            .find(|(_, known)| *known == name)
            .map(|(change, _)| *change)
    }
}

impl SchemaChange {
    /// `<change_type><target><options>`: the body of a Schema_change RESULT and of a SCHEMA_CHANGE event.
    pub(crate) fn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        put_string(out, self.change.name(), "schema change type")?;
        let (target, keyspace, name, args) = match &self.target {
            SchemaChangeTarget::Keyspace(keyspace) => ("KEYSPACE", keyspace, None, None),
            SchemaChangeTarget::Table { keyspace, name } => ("TABLE", keyspace, Some(name), None),
            SchemaChangeTarget::Type { keyspace, name } => ("TYPE", keyspace, Some(name), None),
            SchemaChangeTarget::Function {
                keyspace,
                name,
                args,
            } => ("FUNCTION", keyspace, Some(name), Some(args)),
            SchemaChangeTarget::Aggregate {
                keyspace,
                name,
                args,
            } => ("AGGREGATE", keyspace, Some(name), Some(args)),
        };
        put_string(out, target, "schema change target")?;
        put_string(out, keyspace, "schema change keyspace")?;
        if let Some(name) = name {
            put_string(out, name, "schema change name")?;
        }
        if let Some(args) = args {
            put_string_list(out, args, "schema change argument types")?;
        }
        Ok(())
    }

    pub(crate) fn decode(body: &mut Reader) -> Result<Self, ProtocolError> {
        let change = body.read_string("schema change type")?;
        let change = SchemaChangeType::from_name(&change).ok_or(ProtocolError::Invalid {
            what: "schema change type",
            reason: "not CREATED, UPDATED or DROPPED",
        })?;
        let target = body.read_string("schema change target")?;
        let keyspace = body.read_string("schema change keyspace")?;
        let target = match target.as_str() {
            "KEYSPACE" => SchemaChangeTarget::Keyspace(keyspace),
            "TABLE" => SchemaChangeTarget::Table {
                keyspace,
                name: body.read_string("schema change name")?,
            },
            "TYPE" => SchemaChangeTarget::Type {
                keyspace,
                name: body.read_string("schema change name")?,
            },
            "FUNCTION" | "AGGREGATE" => {
                let name = body.read_string("schema change name")?;
                let args = body.read_string_list("schema change argument types")?;
                if target == "FUNCTION" {
                    SchemaChangeTarget::Function {
                        keyspace,
                        name,
                        args,
                    }
                } else {
                    SchemaChangeTarget::Aggregate {
                        keyspace,
                        name,
                        args,
                    }
                }
            }
            _ => {
                return Err(ProtocolError::Invalid {
                    what: "schema change target",
                    reason: "unknown target",
                })
            }
        };
        Ok(Self { change, target })
    }
}

impl Event {
    pub(crate) fn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        match self {
            Self::SchemaChange(change) => {
                put_string(out, EventType::SchemaChange.name(), "event type")?;
                change.encode(out)
            }
            Self::TopologyChange { change, address } => {
                put_node_event(out, EventType::TopologyChange, change, *address)
            }
            Self::StatusChange { change, address } => {
                put_node_event(out, EventType::StatusChange, change, *address)
            }
        }
    }

    pub(crate) fn decode(body: &mut Reader) -> Result<Self, ProtocolError> {
        let name = body.read_string("event type")?;
        match EventType::from_name(&name) {
            Some(EventType::SchemaChange) => Ok(Self::SchemaChange(SchemaChange::decode(body)?)),
            Some(EventType::TopologyChange) => Ok(Self::TopologyChange {
                change: body.read_string("event change")?,
                address: body.read_inet("event address")?,
            }),
            Some(EventType::StatusChange) => Ok(Self::StatusChange {
                change: body.read_string("event change")?,
                address: body.read_inet("event address")?,
            }),
            None => Err(ProtocolError::UnknownEventType(name)),
        }
    }
}

fn put_node_event(
    out: &mut BytesMut,
    event: EventType,
    change: &str,
    address: SocketAddr,
) -> Result<(), EncodeError> {
    put_string(out, event.name(), "event type")?;
    put_string(out, change, "event change")?;
    put_inet(out, address);
    Ok(())
}
