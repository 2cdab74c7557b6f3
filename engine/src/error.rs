//! Typed errors of the engine.
//!
//! Invariant: data that fails a checksum or a structural check is reported as
//! [`Error::Corruption`], never returned to a caller as if it were data.

use crate::VersionId;

/// Every failure the engine can report.
#[non_exhaustive]
#[derive(thiserror::Error, Debug)]
pub enum Error {
    /// The storage layer failed (disk error, permission, injected fault).
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// A checksum or structural check failed on persisted data.
    #[error("corruption in {file}: {detail}")]
    Corruption { file: String, detail: String },
    /// The version id was never created.
    #[error("unknown version {0}")]
    UnknownVersion(VersionId),
    /// The version is frozen (it has a snapshot successor or is the root): it takes no writes.
    #[error("version {0} is frozen")]
    VersionFrozen(VersionId),
    /// The version was deleted.
    #[error("version {0} is deleted")]
    VersionDeleted(VersionId),
    /// Cloning needs a frozen version; this one is a writable leaf (snapshot it first).
    #[error("version {0} is writable; only frozen versions can be cloned")]
    VersionWritable(VersionId),
    /// The root version can be neither deleted nor written.
    #[error("the root version cannot be {0}")]
    RootVersion(&'static str),
    /// A configured bound was exceeded (key or value too large, too many versions, ...).
    #[error("limit exceeded: {0}")]
    LimitExceeded(String),
    /// An argument is invalid (bad options, empty batch, ...).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The engine hit an earlier fatal error (e.g. a failed WAL fsync) and refuses further writes.
    #[error("engine is poisoned by an earlier failure: {0}")]
    Poisoned(String),
    /// The engine is shutting down.
    #[error("engine is closed")]
    Closed,
}

impl Error {
    /// Shorthand for a corruption error about `file`.
    pub(crate) fn corruption(file: &str, detail: impl Into<String>) -> Error {
        Error::Corruption {
            file: file.to_string(),
            detail: detail.into(),
        }
    }
}

/// Result alias used throughout the engine.
pub type Result<T> = std::result::Result<T, Error>;
