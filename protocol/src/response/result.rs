//! RESULT: `<kind:int>` then Void, Rows, Set_keyspace, Prepared or Schema_change (spec §4.2.5).

use bytes::{BufMut, Bytes, BytesMut};

use crate::error::{EncodeError, ProtocolError};
use crate::frame::ProtocolVersion;
use crate::response::event::SchemaChange;
use crate::types::{int_len, put_bytes, put_short_bytes, put_string, short_len, Reader};

/// A CQL type `[option]` as sent in metadata.
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
    Udt {
        keyspace: String,
        name: String,
        fields: Vec<(String, ColType)>,
    },
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

/// A page of rows; each cell is a `[bytes]` value (`None` = null).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rows {
    pub metadata: RowsMetadata,
    pub rows: Vec<Vec<Option<Bytes>>>,
}

/// A page of rows whose content is already encoded: `row_count` rows of `metadata.columns.len()` `[bytes]`
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

/// The RESULT kinds.
mod kind {
    pub const VOID: i32 = 0x0001;
    pub const ROWS: i32 = 0x0002;
    pub const SET_KEYSPACE: i32 = 0x0003;
    pub const PREPARED: i32 = 0x0004;
    pub const SCHEMA_CHANGE: i32 = 0x0005;
}

/// Rows metadata flags.
mod metadata_flag {
    pub const GLOBAL_TABLES_SPEC: i32 = 0x0001;
    pub const HAS_MORE_PAGES: i32 = 0x0002;
    pub const NO_METADATA: i32 = 0x0004;
    pub const METADATA_CHANGED: i32 = 0x0008;
    pub const KNOWN: i32 = 0x000F;
}

/// Nesting bound of decoded type options: far deeper than any real schema, shallow enough for the stack.
const MAX_TYPE_DEPTH: usize = 32;
/// Rows without columns carry no bytes; this bounds how many a decoder materializes.
const MAX_ZERO_WIDTH_ROWS: usize = 1 << 16;
/// How v4 names the duration type, which has an option id only from v5 on.
const DURATION_CLASS: &str = "org.apache.cassandra.db.marshal.DurationType";

/// Option ids of the types without parameters.
const SIMPLE_TYPE_IDS: [(u16, ColType); 20] = [
    (0x0001, ColType::Ascii),
    (0x0002, ColType::Bigint),
    (0x0003, ColType::Blob),
    (0x0004, ColType::Boolean),
    (0x0005, ColType::Counter),
    (0x0006, ColType::Decimal),
    (0x0007, ColType::Double),
    (0x0008, ColType::Float),
    (0x0009, ColType::Int),
    (0x000B, ColType::Timestamp),
    (0x000C, ColType::Uuid),
    (0x000D, ColType::Varchar),
    (0x000E, ColType::Varint),
    (0x000F, ColType::Timeuuid),
    (0x0010, ColType::Inet),
    (0x0011, ColType::Date),
    (0x0012, ColType::Time),
    (0x0013, ColType::Smallint),
    (0x0014, ColType::Tinyint),
    (0x0015, ColType::Duration),
];

mod type_id {
    pub const CUSTOM: u16 = 0x0000;
    pub const LIST: u16 = 0x0020;
    pub const MAP: u16 = 0x0021;
    pub const SET: u16 = 0x0022;
    pub const UDT: u16 = 0x0030;
    pub const TUPLE: u16 = 0x0031;
}

impl ColType {
    /// Writes the type `[option]`: `<id:short>[value]`.
    pub(crate) fn encode(
        &self,
        version: ProtocolVersion,
        out: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        match self {
            Self::Duration if version == ProtocolVersion::V4 => {
                out.put_u16(type_id::CUSTOM);
                put_string(out, DURATION_CLASS, "custom type class")
            }
            Self::Custom(class) => {
                out.put_u16(type_id::CUSTOM);
                put_string(out, class, "custom type class")
            }
            Self::List(element) => {
                out.put_u16(type_id::LIST);
                element.encode(version, out)
            }
            Self::Set(element) => {
                out.put_u16(type_id::SET);
                element.encode(version, out)
            }
            Self::Map(key, value) => {
                out.put_u16(type_id::MAP);
                key.encode(version, out)?;
                value.encode(version, out)
            }
            Self::Udt {
                keyspace,
                name,
                fields,
            } => {
                out.put_u16(type_id::UDT);
                put_string(out, keyspace, "UDT keyspace")?;
                put_string(out, name, "UDT name")?;
                out.put_u16(short_len(fields.len(), "UDT fields")?);
                fields.iter().try_for_each(|(field, field_type)| {
                    put_string(out, field, "UDT field name")?;
                    field_type.encode(version, out)
                })
            }
            Self::Tuple(elements) => {
                out.put_u16(type_id::TUPLE);
                out.put_u16(short_len(elements.len(), "tuple elements")?);
                elements
                    .iter()
                    .try_for_each(|element| element.encode(version, out))
            }
            simple => {
                let id = SIMPLE_TYPE_IDS
                    .iter()
                    .find(|(_, known)| known == simple)
                    .map_or(type_id::CUSTOM, |(id, _)| *id);
                out.put_u16(id);
                Ok(())
            }
        }
    }

    pub(crate) fn decode(body: &mut Reader, depth: usize) -> Result<Self, ProtocolError> {
        if depth > MAX_TYPE_DEPTH {
            return Err(ProtocolError::TooMany {
                what: "nested type levels",
                count: depth,
                limit: MAX_TYPE_DEPTH,
            });
        }
        let id = body.read_short("type id")?;
        if let Some((_, simple)) = SIMPLE_TYPE_IDS.iter().find(|(known, _)| *known == id) {
            return Ok(simple.clone());
        }
        let nested = |body: &mut Reader| Self::decode(body, depth + 1).map(Box::new);
        Ok(match id {
            type_id::CUSTOM => Self::Custom(body.read_string("custom type class")?),
            type_id::LIST => Self::List(nested(body)?),
            type_id::SET => Self::Set(nested(body)?),
            type_id::MAP => Self::Map(nested(body)?, nested(body)?),
            type_id::UDT => {
                let keyspace = body.read_string("UDT keyspace")?;
                let name = body.read_string("UDT name")?;
                let count = usize::from(body.read_short("UDT field count")?);
                body.check_count(count, 4, "UDT fields")?;
                let fields = (0..count)
                    .map(|_| {
                        Ok((
                            body.read_string("UDT field name")?,
                            Self::decode(body, depth + 1)?,
                        ))
                    })
                    .collect::<Result<_, ProtocolError>>()?;
                Self::Udt {
                    keyspace,
                    name,
                    fields,
                }
            }
            type_id::TUPLE => {
                let count = usize::from(body.read_short("tuple element count")?);
                body.check_count(count, 2, "tuple elements")?;
                Self::Tuple(
                    (0..count)
                        .map(|_| Self::decode(body, depth + 1))
                        .collect::<Result<_, _>>()?,
                )
            }
            _ => {
                return Err(ProtocolError::Invalid {
                    what: "type id",
                    reason: "unknown type option id",
                })
            }
        })
    }
}

/// The shared table of a column list, when every column has the same one (Global_tables_spec).
fn global_table(columns: &[ColumnSpec]) -> Option<(&str, &str)> {
    let first = columns.first()?;
    columns
        .iter()
        .all(|column| column.keyspace == first.keyspace && column.table == first.table)
        .then_some((first.keyspace.as_str(), first.table.as_str()))
}

/// Writes `[global_table_spec]<col_spec>*`; the caller has set Global_tables_spec iff `global` is Some.
fn put_column_specs(
    out: &mut BytesMut,
    columns: &[ColumnSpec],
    global: Option<(&str, &str)>,
    version: ProtocolVersion,
) -> Result<(), EncodeError> {
    if let Some((keyspace, table)) = global {
        put_string(out, keyspace, "keyspace")?;
        put_string(out, table, "table")?;
    }
    for column in columns {
        if global.is_none() {
            put_string(out, &column.keyspace, "keyspace")?;
            put_string(out, &column.table, "table")?;
        }
        put_string(out, &column.name, "column name")?;
        column.col_type.encode(version, out)?;
    }
    Ok(())
}

fn read_column_specs(
    body: &mut Reader,
    count: usize,
    global: bool,
) -> Result<Vec<ColumnSpec>, ProtocolError> {
    let shared = if global {
        Some((body.read_string("keyspace")?, body.read_string("table")?))
    } else {
        None
    };
    body.check_count(count, 4, "column specs")?;
    (0..count)
        .map(|_| {
            let (keyspace, table) = match &shared {
                Some(shared) => shared.clone(),
                None => (body.read_string("keyspace")?, body.read_string("table")?),
            };
            let name = body.read_string("column name")?;
            Ok(ColumnSpec {
                keyspace,
                table,
                name,
                col_type: ColType::decode(body, 0)?,
            })
        })
        .collect()
}

impl RowsMetadata {
    /// Metadata for `columns`, with nothing else set.
    pub fn new(columns: Vec<ColumnSpec>) -> Self {
        Self {
            columns,
            paging_state: None,
            no_metadata: false,
            new_metadata_id: None,
        }
    }

    fn encode(&self, version: ProtocolVersion, out: &mut BytesMut) -> Result<(), EncodeError> {
        let new_metadata_id = self
            .new_metadata_id
            .as_ref()
            .filter(|_| version == ProtocolVersion::V5);
        // Metadata_changed means the client's cached metadata is stale, so it must be sent regardless.
        let no_metadata = self.no_metadata && new_metadata_id.is_none();
        let global = global_table(&self.columns).filter(|_| !no_metadata);
        let flags = flag_if(global.is_some(), metadata_flag::GLOBAL_TABLES_SPEC)
            | flag_if(self.paging_state.is_some(), metadata_flag::HAS_MORE_PAGES)
            | flag_if(no_metadata, metadata_flag::NO_METADATA)
            | flag_if(new_metadata_id.is_some(), metadata_flag::METADATA_CHANGED);
        out.put_i32(flags);
        out.put_i32(int_len(self.columns.len(), "columns")?);
        if let Some(paging_state) = &self.paging_state {
            put_bytes(out, Some(paging_state), "paging state")?;
        }
        if let Some(id) = new_metadata_id {
            put_short_bytes(out, id, "new metadata id")?;
        }
        if no_metadata {
            return Ok(());
        }
        put_column_specs(out, &self.columns, global, version)
    }

    /// Decodes metadata and returns it with the column count (with No_metadata, `columns` stays empty).
    fn decode(body: &mut Reader) -> Result<(Self, usize), ProtocolError> {
        let flags = body.read_int("metadata flags")?;
        if flags & !metadata_flag::KNOWN != 0 {
            return Err(ProtocolError::UnknownFlags {
                what: "rows metadata",
                flags: flags as u32,
            });
        }
        let count = body.read_int("column count")?;
        let count = usize::try_from(count).map_err(|_| ProtocolError::NegativeLength {
            what: "column count",
            length: count,
        })?;
        let paging_state = match flags & metadata_flag::HAS_MORE_PAGES {
            0 => None,
            _ => body.read_bytes("paging state")?,
        };
        let new_metadata_id = match flags & metadata_flag::METADATA_CHANGED {
            0 => None,
            _ => Some(body.read_short_bytes("new metadata id")?),
        };
        let no_metadata = flags & metadata_flag::NO_METADATA != 0;
        let columns = if no_metadata {
            Vec::new()
        } else {
            read_column_specs(body, count, flags & metadata_flag::GLOBAL_TABLES_SPEC != 0)?
        };
        Ok((
            Self {
                columns,
                paging_state,
                no_metadata,
                new_metadata_id,
            },
            count,
        ))
    }
}

fn flag_if(set: bool, flag: i32) -> i32 {
    if set {
        flag
    } else {
        0
    }
}

impl Rows {
    fn encode(&self, version: ProtocolVersion, out: &mut BytesMut) -> Result<(), EncodeError> {
        self.metadata.encode(version, out)?;
        out.put_i32(int_len(self.rows.len(), "rows")?);
        let width = self.metadata.columns.len();
        for row in &self.rows {
            if row.len() != width {
                return Err(EncodeError::RowWidth {
                    expected: width,
                    got: row.len(),
                });
            }
            row.iter()
                .try_for_each(|cell| put_bytes(out, cell.as_deref(), "cell"))?;
        }
        Ok(())
    }

    fn decode(body: &mut Reader) -> Result<Self, ProtocolError> {
        let (metadata, width) = RowsMetadata::decode(body)?;
        let count = body.read_int("row count")?;
        let count = usize::try_from(count).map_err(|_| ProtocolError::NegativeLength {
            what: "row count",
            length: count,
        })?;
        // Every cell is at least a 4-byte length. Zero-width rows take no bytes, so their count gets a cap.
        if width == 0 && count > MAX_ZERO_WIDTH_ROWS {
            return Err(ProtocolError::TooMany {
                what: "zero-width rows",
                count,
                limit: MAX_ZERO_WIDTH_ROWS,
            });
        }
        body.check_count(count, width.saturating_mul(4), "rows")?;
        let rows = (0..count)
            .map(|_| {
                (0..width)
                    .map(|_| body.read_bytes("cell"))
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { metadata, rows })
    }
}

impl EncodedRows {
    /// Appends one row's cells to a content buffer, as `[bytes]` values (`None` = null).
    pub fn put_row(content: &mut BytesMut, cells: &[Option<&[u8]>]) -> Result<(), EncodeError> {
        cells
            .iter()
            .try_for_each(|cell| put_bytes(content, *cell, "cell"))
    }
}

impl Prepared {
    fn encode(&self, version: ProtocolVersion, out: &mut BytesMut) -> Result<(), EncodeError> {
        put_short_bytes(out, &self.id, "prepared id")?;
        if version == ProtocolVersion::V5 {
            put_short_bytes(
                out,
                self.result_metadata_id.as_deref().unwrap_or_default(),
                "result metadata id",
            )?;
        }
        let global = global_table(&self.bind_columns);
        out.put_i32(flag_if(global.is_some(), metadata_flag::GLOBAL_TABLES_SPEC));
        out.put_i32(int_len(self.bind_columns.len(), "bind columns")?);
        out.put_i32(int_len(self.pk_indexes.len(), "partition key indexes")?);
        self.pk_indexes.iter().for_each(|index| out.put_u16(*index));
        put_column_specs(out, &self.bind_columns, global, version)?;
        match &self.result_columns {
            Some(columns) => RowsMetadata::new(columns.clone()).encode(version, out),
            None => {
                out.put_i32(metadata_flag::NO_METADATA);
                out.put_i32(0);
                Ok(())
            }
        }
    }

    fn decode(body: &mut Reader, version: ProtocolVersion) -> Result<Self, ProtocolError> {
        let id = body.read_short_bytes("prepared id")?;
        let result_metadata_id = match version {
            ProtocolVersion::V4 => None,
            ProtocolVersion::V5 => Some(body.read_short_bytes("result metadata id")?),
        };
        let flags = body.read_int("bind metadata flags")?;
        if flags & !metadata_flag::GLOBAL_TABLES_SPEC != 0 {
            return Err(ProtocolError::UnknownFlags {
                what: "bind metadata",
                flags: flags as u32,
            });
        }
        let count = usize::try_from(body.read_int("bind column count")?).map_err(|_| {
            ProtocolError::Invalid {
                what: "bind column count",
                reason: "negative",
            }
        })?;
        let pk_count = usize::try_from(body.read_int("partition key count")?).map_err(|_| {
            ProtocolError::Invalid {
                what: "partition key count",
                reason: "negative",
            }
        })?;
        body.check_count(pk_count, 2, "partition key indexes")?;
        let pk_indexes = (0..pk_count)
            .map(|_| body.read_short("partition key index"))
            .collect::<Result<_, _>>()?;
        let bind_columns =
            read_column_specs(body, count, flags & metadata_flag::GLOBAL_TABLES_SPEC != 0)?;
        let (result, _) = RowsMetadata::decode(body)?;
        let result_columns = if result.no_metadata {
            None
        } else {
            Some(result.columns)
        };
        Ok(Self {
            id,
            result_metadata_id,
            bind_columns,
            pk_indexes,
            result_columns,
        })
    }
}

impl ResultBody {
    /// Writes the RESULT body; pre-encoded row content is returned instead of copied, for the caller to
    /// append after whatever it writes next.
    pub(crate) fn encode(
        &self,
        version: ProtocolVersion,
        out: &mut BytesMut,
    ) -> Result<Option<Bytes>, EncodeError> {
        match self {
            Self::Void => out.put_i32(kind::VOID),
            Self::Rows(rows) => {
                out.put_i32(kind::ROWS);
                rows.encode(version, out)?;
            }
            Self::EncodedRows(rows) => {
                out.put_i32(kind::ROWS);
                rows.metadata.encode(version, out)?;
                out.put_i32(rows.row_count);
                return Ok(Some(rows.content.clone()));
            }
            Self::SetKeyspace(keyspace) => {
                out.put_i32(kind::SET_KEYSPACE);
                put_string(out, keyspace, "keyspace")?;
            }
            Self::Prepared(prepared) => {
                out.put_i32(kind::PREPARED);
                prepared.encode(version, out)?;
            }
            Self::SchemaChange(change) => {
                out.put_i32(kind::SCHEMA_CHANGE);
                change.encode(out)?;
            }
        }
        Ok(None)
    }

    pub(crate) fn decode(
        body: &mut Reader,
        version: ProtocolVersion,
    ) -> Result<Self, ProtocolError> {
        Ok(match body.read_int("result kind")? {
            kind::VOID => Self::Void,
            kind::ROWS => Self::Rows(Rows::decode(body)?),
            kind::SET_KEYSPACE => Self::SetKeyspace(body.read_string("keyspace")?),
            kind::PREPARED => Self::Prepared(Prepared::decode(body, version)?),
            kind::SCHEMA_CHANGE => Self::SchemaChange(SchemaChange::decode(body)?),
            _ => {
                return Err(ProtocolError::Invalid {
                    what: "result kind",
                    reason: "unknown result kind",
                })
            }
        })
    }
}
