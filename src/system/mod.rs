//! Rows of the generated system tables (`system.local`, `system.peers[_v2]`,
//! `system.size_estimates`/`table_estimates` (`estimates`), `system_schema.*`,
//! `system_virtual_schema.*`, `system_views.*` (`views`)), built from node state and the
//! catalog.
//!
//! Invariant: the column names and types are those of `schema::system_defs`; a value put
//! under a column is serialized for that column's type.

use std::collections::BTreeMap;

use crate::error::{CqlError, CqlResult};
use crate::node::Node;
use crate::schema::system_defs::is_virtual_keyspace;
use crate::schema::{
    Catalog, ClusteringOrder, ColumnKind, KeyspaceDef, Table, TableDef, TableOptions,
};
use crate::storage::{CellData, FullRow};
use crate::types::{self, CqlType, NativeType};
use crate::version::{CQL_VERSION, NATIVE_PROTOCOL_VERSION, RELEASE_VERSION};

mod estimates;
mod views;

pub use views::merge_task_id;

pub use crate::version::PARTITIONER;

/// Builds one row of a generated table by column name.
struct RowBuilder<'t> {
    table: &'t Table,
    cells: Vec<Option<CellData>>,
}

impl<'t> RowBuilder<'t> {
    fn new(table: &'t Table) -> Self {
        RowBuilder {
            table,
            cells: vec![None; table.def.columns.len()],
        }
    }

    fn set(mut self, column: &str, value: Option<Vec<u8>>) -> Self {
        let cell = self
            .table
            .column_index(column)
            .and_then(|i| self.cells.get_mut(i));
        if let (Some(cell), Some(value)) = (cell, value) {
            *cell = Some(CellData {
                value,
                ..CellData::default()
            });
        }
        self
    }

    fn text(self, column: &str, value: &str) -> Self {
        self.set(column, Some(value.as_bytes().to_vec()))
    }

    fn int(self, column: &str, value: i32) -> Self {
        self.set(column, Some(value.to_be_bytes().to_vec()))
    }

    fn bigint(self, column: &str, value: i64) -> Self {
        self.set(column, Some(value.to_be_bytes().to_vec()))
    }

    /// A count as `bigint` (saturating: counts never reach `i64::MAX`).
    fn count(self, column: &str, value: u64) -> Self {
        self.bigint(column, i64::try_from(value).unwrap_or(i64::MAX))
    }

    fn double(self, column: &str, value: f64) -> Self {
        self.set(column, Some(value.to_be_bytes().to_vec()))
    }

    fn boolean(self, column: &str, value: bool) -> Self {
        self.set(column, Some(vec![u8::from(value)]))
    }

    fn uuid(self, column: &str, value: uuid::Uuid) -> Self {
        self.set(column, Some(value.as_bytes().to_vec()))
    }

    fn inet(self, column: &str, value: std::net::IpAddr) -> Self {
        let bytes = match value {
            std::net::IpAddr::V4(v4) => v4.octets().to_vec(),
            std::net::IpAddr::V6(v6) => v6.octets().to_vec(),
        };
        self.set(column, Some(bytes))
    }

    fn text_map(self, column: &str, map: &BTreeMap<String, String>) -> Self {
        let text = CqlType::Native(NativeType::Text);
        let entries: Vec<_> = map
            .iter()
            .map(|(k, v)| (Some(k.as_bytes().to_vec()), Some(v.as_bytes().to_vec())))
            .collect();
        let value = types::serialize_map(&text, &entries).ok();
        self.set(column, value)
    }

    fn blob_map(self, column: &str, map: &BTreeMap<String, Vec<u8>>) -> Self {
        let text = CqlType::Native(NativeType::Text);
        let entries: Vec<_> = map
            .iter()
            .map(|(k, v)| (Some(k.as_bytes().to_vec()), Some(v.clone())))
            .collect();
        let value = types::serialize_map(&text, &entries).ok();
        self.set(column, value)
    }

    fn text_list(self, column: &str, items: &[String]) -> Self {
        let elements: Vec<_> = items.iter().map(|s| Some(s.as_bytes().to_vec())).collect();
        let value = types::serialize_list(&elements).ok();
        self.set(column, value)
    }

    fn text_set(self, column: &str, items: &[String]) -> Self {
        let text = CqlType::Native(NativeType::Text);
        let elements: Vec<_> = items.iter().map(|s| Some(s.as_bytes().to_vec())).collect();
        let value = types::serialize_set(&text, &elements).ok();
        self.set(column, value)
    }

    /// The value set for column `i`, empty when unset.
    fn value(&self, i: usize) -> Vec<u8> {
        self.cells
            .get(i)
            .and_then(Option::as_ref)
            .map(|c| c.value.clone())
            .unwrap_or_default()
    }

    fn finish(self) -> CqlResult<FullRow> {
        let mut clustering = Vec::new();
        for i in self.table.clustering_indexes() {
            // `clustering_indexes` are positions in `def.columns`, which `types` parallels.
            let (Some(column), Some(cql_type)) =
                (self.table.def.columns.get(i), self.table.types.get(i))
            else {
                return Err(CqlError::Server(format!(
                    "generated table {}.{} has no clustering column {i}",
                    self.table.def.keyspace, self.table.def.name
                )));
            };
            let desc = column.order == ClusteringOrder::Desc;
            types::encode_key_component(cql_type, &self.value(i), desc, &mut clustering)?;
        }
        let pk: Vec<Vec<u8>> = self
            .table
            .partition_key_indexes()
            .into_iter()
            .map(|i| self.value(i))
            .collect();
        let token = strata_protocol::murmur3::token(&crate::types::serialize_partition_key(&pk));
        Ok(FullRow {
            token,
            cells: self.cells,
            clustering,
        })
    }
}

/// All rows of the generated table `table`.
pub fn rows(node: &Node, catalog: &Catalog, table: &Table) -> CqlResult<Vec<FullRow>> {
    let rows = match (table.def.keyspace.as_str(), table.def.name.as_str()) {
        ("system", "local") => vec![local(node, catalog, table)?],
        ("system", "peers") => peers(node, table, false)?,
        ("system", "peers_v2") => peers(node, table, true)?,
        ("system", "size_estimates") => estimates::size_estimates(node, catalog, table)?,
        ("system", "table_estimates") => estimates::table_estimates(node, catalog, table)?,
        ("system_views", name) => views::rows(node, catalog, table, name)?,
        ("system_schema", "keyspaces") => keyspaces(catalog, table, false)?,
        ("system_schema", "tables") => tables(catalog, table)?,
        ("system_schema", "columns") => columns(catalog, table, false)?,
        ("system_schema", "indexes") => indexes(catalog, table)?,
        ("system_schema", "views") => views(catalog, table)?,
        ("system_schema", "types") => user_types(catalog, table)?,
        ("system_virtual_schema", "keyspaces") => keyspaces(catalog, table, true)?,
        ("system_virtual_schema", "tables") => virtual_tables(catalog, table)?,
        ("system_virtual_schema", "columns") => columns(catalog, table, true)?,
        ("system_traces", "sessions") => trace_sessions(node, table)?,
        ("system_traces", "events") => trace_events(node, table)?,
        ("system_schema", _) => Vec::new(),
        (ks, name) => return Err(CqlError::Server(format!("no generator for {ks}.{name}"))),
    };
    Ok(rows)
}

fn trace_sessions(node: &Node, table: &Table) -> CqlResult<Vec<FullRow>> {
    node.traces().with_sessions(|sessions| {
        sessions
            .iter()
            .map(|s| {
                RowBuilder::new(table)
                    .uuid("session_id", s.session_id)
                    .inet("client", s.client.ip())
                    .text("command", s.command)
                    .inet("coordinator", s.coordinator.ip())
                    .int("coordinator_port", i32::from(s.coordinator.port()))
                    .int("duration", s.duration_micros)
                    .text_map("parameters", &s.parameters)
                    .text("request", &s.request)
                    .set(
                        "started_at",
                        Some(s.started_at_millis.to_be_bytes().to_vec()),
                    )
                    .finish()
            })
            .collect()
    })
}

fn trace_events(node: &Node, table: &Table) -> CqlResult<Vec<FullRow>> {
    node.traces().with_sessions(|sessions| {
        sessions
            .iter()
            .flat_map(|s| s.events.iter().map(move |e| (s, e)))
            .map(|(s, e)| {
                RowBuilder::new(table)
                    .uuid("session_id", s.session_id)
                    .uuid("event_id", e.event_id)
                    .text("activity", &e.activity)
                    .inet("source", s.coordinator.ip())
                    .int("source_elapsed", e.source_elapsed_micros)
                    .int("source_port", i32::from(s.coordinator.port()))
                    .text("thread", crate::trace::EVENT_THREAD)
                    .finish()
            })
            .collect()
    })
}

fn local(node: &Node, catalog: &Catalog, table: &Table) -> CqlResult<FullRow> {
    let config = node.config();
    let ring = node.coordinator().ring();
    let tokens: Vec<String> = ring.local().tokens.iter().map(i64::to_string).collect();
    RowBuilder::new(table)
        .text("key", "local")
        .text("bootstrapped", "COMPLETED")
        .inet("broadcast_address", config.broadcast_address())
        .int("broadcast_port", i32::from(config.storage_port))
        .text("cluster_name", &config.cluster_name)
        .text("cql_version", CQL_VERSION)
        .text("data_center", &config.dc)
        .int("gossip_generation", node.generation())
        .uuid("host_id", node.host_id())
        .inet("listen_address", config.listen_address)
        .int("listen_port", i32::from(config.storage_port))
        .text("native_protocol_version", NATIVE_PROTOCOL_VERSION)
        .text("partitioner", PARTITIONER)
        .text("rack", &config.rack)
        .text("release_version", RELEASE_VERSION)
        .inet("rpc_address", config.broadcast_rpc_address())
        .int("rpc_port", i32::from(config.native_transport_port))
        .uuid("schema_version", catalog.version)
        .text_set("tokens", &tokens)
        .finish()
}

/// `system.peers` / `system.peers_v2`: one row per other node this node knows, down ones
/// included (drivers decide liveness from events and their own connections).
fn peers(node: &Node, table: &Table, v2: bool) -> CqlResult<Vec<FullRow>> {
    node.membership()
        .peers()
        .iter()
        .map(|peer| {
            let info = &peer.info;
            let tokens: Vec<String> = info.tokens.iter().map(i64::to_string).collect();
            let mut row = RowBuilder::new(table)
                .inet("peer", info.address)
                .text("data_center", &info.dc)
                .uuid("host_id", info.host_id)
                .text("rack", &info.rack)
                .text("release_version", &info.release_version)
                .text_set("tokens", &tokens);
            let version = node
                .metadata()
                .peer_schema_version(info.host_id, (info.epoch, info.schema_version));
            if let Some(version) = version {
                row = row.uuid("schema_version", version);
            }
            row = if v2 {
                row.int("peer_port", i32::from(node.config().storage_port))
                    .inet("native_address", info.native_address.ip())
                    .int("native_port", i32::from(info.native_address.port()))
            } else {
                row.inet("rpc_address", info.native_address.ip())
            };
            row.finish()
        })
        .collect()
}

fn keyspaces(catalog: &Catalog, table: &Table, virtual_ks: bool) -> CqlResult<Vec<FullRow>> {
    catalog
        .keyspaces
        .values()
        .filter(|k| is_virtual_keyspace(&k.def.name) == virtual_ks)
        .map(|k| keyspace_row(table, &k.def))
        .collect()
}

fn keyspace_row(table: &Table, def: &KeyspaceDef) -> CqlResult<FullRow> {
    RowBuilder::new(table)
        .text("keyspace_name", &def.name)
        .boolean("durable_writes", def.durable_writes)
        .text_map("replication", &def.replication)
        .finish()
}

fn schema_tables(catalog: &Catalog, virtual_ks: bool) -> impl Iterator<Item = &TableDef> {
    catalog
        .keyspaces
        .values()
        .filter(move |k| is_virtual_keyspace(&k.def.name) == virtual_ks)
        .flat_map(|k| k.tables.values().map(|t| &t.def))
}

/// `system_schema.tables`: every table but views, the system keyspaces' included (drivers
/// and cqlsh need their metadata to run `SELECT ... FROM system.local`), the virtual
/// keyspaces' excluded (they are in `system_virtual_schema`).
fn tables(catalog: &Catalog, table: &Table) -> CqlResult<Vec<FullRow>> {
    catalog
        .keyspaces
        .values()
        .filter(|k| !is_virtual_keyspace(&k.def.name))
        .flat_map(|k| k.tables.values())
        .filter(|t| t.view.is_none())
        .map(|t| table_row(table, &t.def))
        .collect()
}

/// `system_schema.views`: the key and definition columns, then the table options.
fn views(catalog: &Catalog, table: &Table) -> CqlResult<Vec<FullRow>> {
    let mut rows = Vec::new();
    for view in catalog.user_tables() {
        let Some(info) = &view.view else { continue };
        let mut row = table_row(table, &view.def)?;
        let extra = RowBuilder::new(table)
            .text("view_name", &view.def.name)
            .uuid("base_table_id", info.base_id)
            .text("base_table_name", &info.base_table)
            .boolean("include_all_columns", info.include_all_columns)
            .text("where_clause", &info.where_clause)
            .finish()?;
        for (slot, cell) in row.cells.iter_mut().zip(extra.cells) {
            if cell.is_some() {
                *slot = cell;
            }
        }
        row.clustering = extra.clustering;
        rows.push(row);
    }
    Ok(rows)
}

fn table_row(table: &Table, def: &TableDef) -> CqlResult<FullRow> {
    let o: &TableOptions = &def.options;
    RowBuilder::new(table)
        .text("keyspace_name", &def.keyspace)
        .text("table_name", &def.name)
        .text("additional_write_policy", &o.additional_write_policy)
        .boolean("allow_auto_snapshot", o.allow_auto_snapshot)
        .double("bloom_filter_fp_chance", o.bloom_filter_fp_chance)
        .text_map("caching", &o.caching)
        .boolean("cdc", o.cdc)
        .text("comment", &o.comment)
        .text_map("compaction", &o.compaction)
        .text_map("compression", &o.compression)
        .double("crc_check_chance", o.crc_check_chance)
        .double("dclocal_read_repair_chance", 0.0)
        .int("default_time_to_live", o.default_time_to_live)
        .blob_map("extensions", &o.extensions)
        .text_set("flags", &["compound".to_string()])
        .int("gc_grace_seconds", o.gc_grace_seconds)
        .uuid("id", def.id)
        .boolean("incremental_backups", o.incremental_backups)
        .int("max_index_interval", o.max_index_interval)
        .text("memtable", &o.memtable)
        .int("memtable_flush_period_in_ms", o.memtable_flush_period_in_ms)
        .int("min_index_interval", o.min_index_interval)
        .text("read_repair", &o.read_repair)
        .double("read_repair_chance", 0.0)
        .text("speculative_retry", &o.speculative_retry)
        .finish()
}

fn indexes(catalog: &Catalog, table: &Table) -> CqlResult<Vec<FullRow>> {
    let mut rows = Vec::new();
    for base in catalog.user_tables() {
        for index in &base.indexes {
            let options = BTreeMap::from([("target".to_string(), index.target_text())]);
            rows.push(
                RowBuilder::new(table)
                    .text("keyspace_name", &index.keyspace)
                    .text("table_name", &index.table)
                    .text("index_name", &index.name)
                    .text("kind", "COMPOSITES")
                    .text_map("options", &options)
                    .finish()?,
            );
        }
    }
    Ok(rows)
}

fn user_types(catalog: &Catalog, table: &Table) -> CqlResult<Vec<FullRow>> {
    let mut rows = Vec::new();
    for ks in catalog.keyspaces.values().filter(|k| !k.system) {
        for ty in ks.types.values() {
            rows.push(
                RowBuilder::new(table)
                    .text("keyspace_name", &ty.keyspace)
                    .text("type_name", &ty.name)
                    .text_list("field_names", &ty.field_names)
                    .text_list("field_types", &ty.field_types)
                    .finish()?,
            );
        }
    }
    Ok(rows)
}

fn virtual_tables(catalog: &Catalog, table: &Table) -> CqlResult<Vec<FullRow>> {
    schema_tables(catalog, true)
        .map(|def| {
            RowBuilder::new(table)
                .text("keyspace_name", &def.keyspace)
                .text("table_name", &def.name)
                .text("comment", &def.options.comment)
                .finish()
        })
        .collect()
}

fn columns(catalog: &Catalog, table: &Table, virtual_ks: bool) -> CqlResult<Vec<FullRow>> {
    let mut rows = Vec::new();
    for def in schema_tables(catalog, virtual_ks) {
        for column in &def.columns {
            let order = match (column.kind, column.order) {
                (ColumnKind::Clustering, ClusteringOrder::Desc) => "desc",
                (ColumnKind::Clustering, ClusteringOrder::Asc) => "asc",
                _ => "none",
            };
            rows.push(
                RowBuilder::new(table)
                    .text("keyspace_name", &def.keyspace)
                    .text("table_name", &def.name)
                    .text("column_name", &column.name)
                    .text("clustering_order", order)
                    .set("column_name_bytes", Some(column.name.as_bytes().to_vec()))
                    .text("kind", column.kind.as_str())
                    .int("position", def.position(column))
                    .text("type", &column.type_text)
                    .finish()?,
            );
        }
    }
    Ok(rows)
}
