//! The one error type of the type layer.

/// An error from parsing, converting, validating or encoding a CQL value or type.
///
/// `Display` is the exact text Cassandra 5.0 sends for the same mistake, so the server can forward it unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TypeError {
    /// A request-level mistake (Cassandra's `InvalidRequestException`), e.g. a literal of the wrong kind.
    #[error("{0}")]
    Invalid(String),
    /// A value whose bytes or text cannot be turned into the type (Cassandra's `MarshalException`).
    #[error("{0}")]
    Marshal(String),
    /// A type string that does not parse (Cassandra's `SyntaxException`).
    #[error("{0}")]
    Syntax(String),
    /// Bytes handed to the key decoder that no encoder produced: storage corruption, not a user mistake.
    #[error("corrupt key component: {0}")]
    CorruptKey(&'static str),
}

pub(crate) fn marshal(message: impl Into<String>) -> TypeError {
    TypeError::Marshal(message.into())
}

pub(crate) fn invalid(message: impl Into<String>) -> TypeError {
    TypeError::Invalid(message.into())
}
