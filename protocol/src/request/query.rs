//! QUERY: `<query:long string><query parameters>`, and the query parameters shared with EXECUTE.

use bytes::Bytes;

use crate::types::{Consistency, Values};

/// Query parameters of QUERY and EXECUTE (spec §4.1.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryParams {
    pub consistency: Consistency,
    pub values: Values,
    /// Flag 0x02: the client has the result metadata and wants rows without it.
    pub skip_metadata: bool,
    /// Flag 0x04: rows per page.
    pub page_size: Option<i32>,
    /// Flag 0x08: where the previous page stopped.
    pub paging_state: Option<Bytes>,
    /// Flag 0x10: SERIAL or LOCAL_SERIAL for the Paxos phase of a conditional update.
    pub serial_consistency: Option<Consistency>,
    /// Flag 0x20: client-side default timestamp in microseconds.
    pub timestamp: Option<i64>,
    /// Flag 0x80 (v5): keyspace to run in instead of the connection's.
    pub keyspace: Option<String>,
    /// Flag 0x100 (v5): "now" in seconds, for testing TTLs.
    pub now_in_seconds: Option<i32>,
}
