//! CQL native protocol wire format.
