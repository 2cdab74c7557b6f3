//! BATCH: `<type><n:short><statement>*<consistency><flags>[serial_consistency][timestamp][keyspace][now]`.

use bytes::Bytes;

use crate::types::{Consistency, Values};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum BatchType {
    Logged = 0,
    Unlogged = 1,
    Counter = 2,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchStatement {
    Query { query: String, values: Values },
    Prepared { id: Bytes, values: Values },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub batch_type: BatchType,
    pub statements: Vec<BatchStatement>,
    pub consistency: Consistency,
    pub serial_consistency: Option<Consistency>,
    pub timestamp: Option<i64>,
    pub keyspace: Option<String>,
    pub now_in_seconds: Option<i32>,
}
