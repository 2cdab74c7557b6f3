//! REGISTER: a `[string list]` of event types (`TOPOLOGY_CHANGE`, `STATUS_CHANGE`, `SCHEMA_CHANGE`).

use bytes::BytesMut;

use crate::error::{EncodeError, ProtocolError};
use crate::response::event::EventType;
use crate::types::{put_string_list, Reader};

pub(super) fn decode(body: &mut Reader) -> Result<Vec<EventType>, ProtocolError> {
    body.read_string_list("REGISTER event types")?
        .into_iter()
        .map(|name| EventType::from_name(&name).ok_or(ProtocolError::UnknownEventType(name)))
        .collect()
}

pub(super) fn encode(events: &[EventType], out: &mut BytesMut) -> Result<(), EncodeError> {
    let names: Vec<&str> = events.iter().map(|event| event.name()).collect();
    put_string_list(out, &names, "REGISTER event types")
}
