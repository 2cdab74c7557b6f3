//! Schema definitions as persisted in the engine's system branch.
//!
//! Invariants:
//! - A `TableDef` names its columns once; `partition_key` and `clustering` list column
//!   names in key order, and every name in them is a column of the table.
//! - Column types are stored as Cassandra's `system_schema.columns.type` text and parsed
//!   into `CqlType` when the catalog is built, so the persisted form is the same text that
//!   drivers read.
//! - `data_version` is the engine version that *began* this table's branch; the writable
//!   head is found through `Engine::writable_head`, so a crash between an engine snapshot
//!   and a schema write never leaves a table pointing at a frozen version.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use strata_engine::VersionId;
use uuid::Uuid;

/// A keyspace as stored; `replication` holds the full class name under `class`, as
/// `system_schema.keyspaces.replication` does.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct KeyspaceDef {
    pub name: String,
    pub replication: BTreeMap<String, String>,
    pub durable_writes: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ColumnKind {
    PartitionKey,
    Clustering,
    Regular,
    Static,
}

impl ColumnKind {
    /// The `kind` text of `system_schema.columns`.
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnKind::PartitionKey => "partition_key",
            ColumnKind::Clustering => "clustering",
            ColumnKind::Regular => "regular",
            ColumnKind::Static => "static",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClusteringOrder {
    Asc,
    Desc,
}

impl ClusteringOrder {
    pub fn descending(desc: bool) -> Self {
        if desc {
            ClusteringOrder::Desc
        } else {
            ClusteringOrder::Asc
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColumnDef {
    pub name: String,
    /// Cassandra's type text, e.g. `frozen<map<text, int>>`.
    pub type_text: String,
    pub kind: ColumnKind,
    /// Clustering order; only meaningful for clustering columns.
    pub order: ClusteringOrder,
}

/// Table options with their Cassandra 5.0 defaults; reported in `system_schema.tables`
/// and in DESCRIBE in exactly this form.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableOptions {
    pub additional_write_policy: String,
    pub allow_auto_snapshot: bool,
    pub bloom_filter_fp_chance: f64,
    pub caching: BTreeMap<String, String>,
    pub cdc: bool,
    pub comment: String,
    pub compaction: BTreeMap<String, String>,
    pub compression: BTreeMap<String, String>,
    pub memtable: String,
    pub crc_check_chance: f64,
    pub default_time_to_live: i32,
    pub extensions: BTreeMap<String, Vec<u8>>,
    pub gc_grace_seconds: i32,
    pub incremental_backups: bool,
    pub max_index_interval: i32,
    pub memtable_flush_period_in_ms: i32,
    pub min_index_interval: i32,
    pub read_repair: String,
    pub speculative_retry: String,
}

fn string_map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

impl Default for TableOptions {
    fn default() -> Self {
        TableOptions {
            additional_write_policy: "99p".into(),
            allow_auto_snapshot: true,
            bloom_filter_fp_chance: 0.01,
            caching: string_map(&[("keys", "ALL"), ("rows_per_partition", "NONE")]),
            cdc: false,
            comment: String::new(),
            compaction: string_map(&[
                (
                    "class",
                    "org.apache.cassandra.db.compaction.SizeTieredCompactionStrategy",
                ),
                ("max_threshold", "32"),
                ("min_threshold", "4"),
            ]),
            compression: string_map(&[
                ("chunk_length_in_kb", "16"),
                ("class", "org.apache.cassandra.io.compress.LZ4Compressor"),
            ]),
            memtable: "default".into(),
            crc_check_chance: 1.0,
            default_time_to_live: 0,
            extensions: BTreeMap::new(),
            gc_grace_seconds: 864_000,
            incremental_backups: true,
            max_index_interval: 2048,
            memtable_flush_period_in_ms: 0,
            min_index_interval: 128,
            read_repair: "BLOCKING".into(),
            speculative_retry: "99p".into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableDef {
    pub keyspace: String,
    pub name: String,
    pub id: Uuid,
    /// Columns in the order `SELECT *` returns them: partition key, clustering, then
    /// static and regular columns sorted by name (Cassandra's order).
    pub columns: Vec<ColumnDef>,
    pub partition_key: Vec<String>,
    pub clustering: Vec<String>,
    pub options: TableOptions,
    pub data_version: VersionId,
    /// Dropped column name -> drop timestamp (µs); cells older than it stay hidden
    /// if a column of that name is added again.
    #[serde(default)]
    pub dropped_columns: BTreeMap<String, i64>,
    /// Dropped column name -> its type and kind when dropped, so a column of that name is
    /// added again only with a compatible type and the same kind (Cassandra keeps the
    /// whole dropped `ColumnMetadata`). Absent for drops recorded before it existed.
    /// Always serialized: postcard (Raft snapshots) cannot skip fields.
    #[serde(default)]
    pub dropped_column_types: BTreeMap<String, DroppedColumn>,
}

/// What a dropped column was.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DroppedColumn {
    pub type_text: String,
    pub kind: ColumnKind,
}

impl TableDef {
    /// Sorts columns into `SELECT *` order: partition key and clustering columns in key
    /// order, then the others by name.
    pub fn normalise_column_order(&mut self) {
        let rank = |c: &ColumnDef| -> (u8, usize, String) {
            match c.kind {
                ColumnKind::PartitionKey => (
                    0,
                    self.partition_key
                        .iter()
                        .position(|n| n == &c.name)
                        .unwrap_or(0),
                    String::new(),
                ),
                ColumnKind::Clustering => (
                    1,
                    self.clustering
                        .iter()
                        .position(|n| n == &c.name)
                        .unwrap_or(0),
                    String::new(),
                ),
                // Cassandra's select order: static columns, then regular ones, each by name.
                ColumnKind::Static => (2, 0, c.name.clone()),
                ColumnKind::Regular => (3, 0, c.name.clone()),
            }
        };
        let mut keyed: Vec<_> = self.columns.drain(..).map(|c| (rank(&c), c)).collect();
        keyed.sort_by(|a, b| a.0.cmp(&b.0));
        self.columns = keyed.into_iter().map(|(_, c)| c).collect();
    }

    pub fn column(&self, name: &str) -> Option<&ColumnDef> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Position of a column among the partition key or clustering columns, as
    /// `system_schema.columns.position` reports it (-1 for the others).
    pub fn position(&self, column: &ColumnDef) -> i32 {
        let list = match column.kind {
            ColumnKind::PartitionKey => &self.partition_key,
            ColumnKind::Clustering => &self.clustering,
            _ => return -1,
        };
        list.iter()
            .position(|n| n == &column.name)
            .map_or(-1, |p| p as i32)
    }
}

/// A named snapshot of one table: the frozen engine version holding the table as it was.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SnapshotRecord {
    pub tag: String,
    pub keyspace: String,
    pub table: String,
    /// The id of the table the snapshot was taken of: a table dropped and created again
    /// under the same name does not see its predecessor's snapshots.
    #[serde(default)]
    pub table_id: Option<Uuid>,
    /// The frozen version; reads `AT SNAPSHOT` and clones start here.
    pub version: VersionId,
    /// Milliseconds since the epoch.
    pub created_at_millis: i64,
}

/// A node removed from the cluster (`nodetool removenode`), a record of the metadata log:
/// every node drops it from its ring, peers and membership, and ignores what gossip still
/// says of it. Kept (a few bytes each) so that a node that was down, or installs a log
/// snapshot, forgets it too.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RemovedNode {
    pub host_id: Uuid,
    /// Its internode (broadcast) address when it was removed.
    pub address: std::net::IpAddr,
    /// The tokens it owned, whose ranges moved to the next replicas.
    pub tokens: Vec<i64>,
}

/// A node of the token ring, a record of the metadata log (`SchemaWrite::PutNode`): every
/// node builds its ring and its list of peers from these, so every node has the same ring,
/// and a node that is down keeps its tokens until it is removed. Written by the node itself
/// when it joins (and again only if its address or location changed); not part of the
/// schema version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRecord {
    pub host_id: Uuid,
    /// Internode (broadcast) address.
    pub address: std::net::IpAddr,
    /// Where drivers reach its CQL (broadcast_rpc_address and native port).
    pub native_address: std::net::SocketAddr,
    pub dc: String,
    pub rack: String,
    /// Sorted, distinct vnode tokens, chosen by the node once.
    pub tokens: Vec<i64>,
}

/// What part of a column a secondary index indexes (`v`, `keys(m)`, `values(l)`,
/// `entries(m)`, `full(f)`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum IndexTargetKind {
    /// A non-collection column, or the values of a non-frozen collection.
    Simple,
    Keys,
    Values,
    Entries,
    Full,
}

/// A user-defined type as stored; field types are `system_schema.types.field_types`
/// text, resolved against the keyspace's other types when the catalog is built.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TypeDef {
    pub keyspace: String,
    pub name: String,
    pub field_names: Vec<String>,
    pub field_types: Vec<String>,
}

/// A secondary index. Its entries live in their own engine branch, beginning at
/// `data_version`, keyed by indexed value, then base partition key and clustering.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IndexDef {
    pub keyspace: String,
    pub table: String,
    /// The id of the base table, so an index never attaches to a re-created table of the
    /// same name.
    pub table_id: Uuid,
    pub name: String,
    pub column: String,
    pub target: IndexTargetKind,
    pub data_version: VersionId,
}

impl IndexDef {
    /// The id of the hidden table holding the index's entries, derived from the base
    /// table's id and the index name: both are replicated schema, so every node maps the
    /// same id and a replica finds the table a coordinator names (Cassandra too derives an
    /// index's id from its name, `IndexMetadata.id`). A re-created index of the same name
    /// gets the same id, which is harmless: it gets a fresh branch, and index reads
    /// re-check every candidate row.
    pub fn storage_id(&self) -> Uuid {
        Uuid::new_v3(&self.table_id, format!("index {}", self.name).as_bytes())
    }

    /// The `target` option of `system_schema.indexes` (Cassandra's form: `v`, `keys(m)`).
    pub fn target_text(&self) -> String {
        let column = crate::types::maybe_quote_identifier(&self.column);
        match self.target {
            IndexTargetKind::Simple => column,
            IndexTargetKind::Keys => format!("keys({column})"),
            IndexTargetKind::Values => format!("values({column})"),
            IndexTargetKind::Entries => format!("entries({column})"),
            IndexTargetKind::Full => format!("full({column})"),
        }
    }
}

/// What makes a table a materialized view: its base table and the view's defining
/// query. The view's own columns, key and branch are in its `TableDef`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ViewInfo {
    pub base_table: String,
    pub base_id: Uuid,
    pub include_all_columns: bool,
    /// The WHERE clause as `system_schema.views.where_clause` shows it.
    pub where_clause: String,
}

/// A materialized view as persisted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ViewRecord {
    pub table: TableDef,
    pub view: ViewInfo,
}
