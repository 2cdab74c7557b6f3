//! AUTHENTICATE: `<authenticator:string>`, the class name of the server's authenticator
//! (e.g. `org.apache.cassandra.auth.PasswordAuthenticator`).

use bytes::BytesMut;

use crate::error::{EncodeError, ProtocolError};
use crate::types::{put_string, Reader};

pub(super) fn encode(authenticator: &str, out: &mut BytesMut) -> Result<(), EncodeError> {
    put_string(out, authenticator, "authenticator")
}

pub(super) fn decode(body: &mut Reader) -> Result<String, ProtocolError> {
    body.read_string("authenticator")
}
