//! RESULT: `<kind:int>` then Void, Rows, Set_keyspace, Prepared or Schema_change (spec §4.2.5).

use bytes::Bytes;

use crate::response::event::SchemaChange;

/// A CQL type [option] as sent in metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColType {
    Custom(String),
    Ascii,
    Bigint,
    Blob,
    Boolean,
    Counter,
    Decimal,
    Double,
    Float,
    Int,
    Timestamp,
    Uuid,
    Varchar,
    Varint,
    Timeuuid,
    Inet,
    Date,
    Time,
    Smallint,
    Tinyint,
    Duration,
    List(Box<ColType>),
    Map(Box<ColType>, Box<ColType>),
    Set(Box<ColType>),
    Udt { keyspace: String, name: String, fields: Vec<(String, ColType)> },
    Tuple(Vec<ColType>),
}

/// One column of result or bind metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnSpec {
    pub keyspace: String,
    pub table: String,
    pub name: String,
    pub col_type: ColType,
}

/// Rows metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowsMetadata {
    /// The result columns. Always filled by the server: with `no_metadata` only their count is sent.
    pub columns: Vec<ColumnSpec>,
    /// Set when more pages follow (Has_more_pages).
    pub paging_state: Option<Bytes>,
    /// The client asked for skip_metadata and the server honours it (No_metadata).
    pub no_metadata: bool,
    /// v5: the result metadata changed since the client's EXECUTE id; sent with Metadata_changed.
    pub new_metadata_id: Option<Bytes>,
}

/// A page of rows; each cell is a [bytes] value (`None` = null).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rows {
    pub metadata: RowsMetadata,
    pub rows: Vec<Vec<Option<Bytes>>>,
}

/// A page of rows whose content is already encoded: `row_count` rows of `metadata.columns.len()` [bytes]
/// cells back to back. Lets the server build a big page once and have the codec copy it only into the
/// output buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedRows {
    pub metadata: RowsMetadata,
    pub row_count: i32,
    pub content: Bytes,
}

/// A Prepared result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    pub id: Bytes,
    /// v5: the id of the result metadata, echoed back on EXECUTE.
    pub result_metadata_id: Option<Bytes>,
    pub bind_columns: Vec<ColumnSpec>,
    /// Indexes into `bind_columns` of the partition key components, in key order.
    pub pk_indexes: Vec<u16>,
    /// `None`: the statement returns no rows (sent as No_metadata with 0 columns).
    pub result_columns: Option<Vec<ColumnSpec>>,
}

/// The body of a RESULT response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResultBody {
    Void,
    Rows(Rows),
    /// Rows with pre-encoded content (same wire format as [`ResultBody::Rows`]).
    EncodedRows(EncodedRows),
    SetKeyspace(String),
    Prepared(Prepared),
    SchemaChange(SchemaChange),
}
