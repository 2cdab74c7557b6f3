//! The in-memory schema catalog: an immutable snapshot rebuilt on every DDL.
//!
//! Invariants:
//! - A `Catalog` is never mutated after it is published; readers hold an `Arc` to one
//!   snapshot for the whole statement, so a concurrent DDL cannot change a table under a
//!   running query.
//! - `version` is a deterministic digest of every user keyspace, type, table, index and
//!   view definition, without node-local state (the engine branches in `data_version`),
//!   so two nodes with the same schema report the same `schema_version` and TRUNCATE
//!   does not change it.

use std::collections::BTreeMap;
use std::sync::Arc;

use md5::{Digest, Md5};
use uuid::Uuid;

use super::defs::{
    ClusteringOrder, ColumnDef, ColumnKind, IndexDef, IndexTargetKind, KeyspaceDef, NodeRecord,
    RemovedNode, SnapshotRecord, TableDef, TableOptions, TypeDef, ViewInfo,
};
use crate::error::{CqlError, CqlResult};
use crate::types::{CqlType, UdtDef, UdtResolver, MAX_TYPE_DEPTH};

/// Where a table's rows come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TableSource {
    /// Rows live in the engine, in the table's version branch.
    Engine,
    /// Rows are generated from node state (system tables).
    Virtual,
}

/// A table definition with its column types parsed.
#[derive(Debug)]
pub struct Table {
    pub def: TableDef,
    /// Parsed type of each column, index-aligned with `def.columns`.
    pub types: Vec<CqlType>,
    pub source: TableSource,
    /// Secondary indexes on this table, by name order.
    pub indexes: Vec<IndexDef>,
    /// Names of the materialized views of this table (in the same keyspace).
    pub views: Vec<String>,
    /// Set when this table is a materialized view.
    pub view: Option<ViewInfo>,
    /// Latency histograms of this table, resolved once here so requests need no lookup.
    pub metrics: crate::metrics::TableMetrics,
}

impl Table {
    /// A table whose column types use no user-defined types (system tables).
    pub fn new(def: TableDef, source: TableSource) -> Result<Table, String> {
        Table::with_types(def, source, &crate::types::NoUdts)
    }

    /// A table whose column types may name the user-defined types `udts` resolves.
    pub fn with_types(
        def: TableDef,
        source: TableSource,
        udts: &dyn UdtResolver,
    ) -> Result<Table, String> {
        let types = def
            .columns
            .iter()
            .map(|c| {
                CqlType::parse(&c.type_text, udts).map_err(|e| format!("column {}: {e}", c.name))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Table {
            metrics: crate::metrics::global().table(&def.keyspace, &def.name),
            def,
            types,
            source,
            indexes: Vec::new(),
            views: Vec::new(),
            view: None,
        })
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.def.columns.iter().position(|c| c.name == name)
    }

    /// Column `index`'s definition and type. An index `column_index`, `columns_of_kind` or
    /// a key index list gave is always there; any other is an internal error.
    pub fn column(&self, index: usize) -> CqlResult<(&ColumnDef, &CqlType)> {
        self.def
            .columns
            .get(index)
            .zip(self.types.get(index))
            .ok_or_else(|| {
                CqlError::Server(format!(
                    "table {}.{} has no column {index}",
                    self.def.keyspace, self.def.name
                ))
            })
    }

    /// The kind of column `index`, if there is one.
    pub fn kind_of(&self, index: usize) -> Option<ColumnKind> {
        self.def.columns.get(index).map(|c| c.kind)
    }

    pub fn column_type(&self, name: &str) -> Option<&CqlType> {
        self.column_index(name).and_then(|i| self.types.get(i))
    }

    /// Indexes into `def.columns` of the partition key columns, in key order.
    pub fn partition_key_indexes(&self) -> Vec<usize> {
        self.indexes_of(&self.def.partition_key)
    }

    /// Indexes into `def.columns` of the clustering columns, in key order.
    pub fn clustering_indexes(&self) -> Vec<usize> {
        self.indexes_of(&self.def.clustering)
    }

    fn indexes_of(&self, names: &[String]) -> Vec<usize> {
        names.iter().filter_map(|n| self.column_index(n)).collect()
    }

    pub fn columns_of_kind(&self, kind: ColumnKind) -> impl Iterator<Item = (usize, &ColumnDef)> {
        self.def
            .columns
            .iter()
            .enumerate()
            .filter(move |(_, c)| c.kind == kind)
    }

    pub fn has_static_columns(&self) -> bool {
        self.def
            .columns
            .iter()
            .any(|c| c.kind == ColumnKind::Static)
    }
}

/// The type of the values an index stores for a column of type `ty`.
pub fn indexed_type(ty: &CqlType, kind: IndexTargetKind) -> Option<CqlType> {
    match (kind, ty) {
        (IndexTargetKind::Full, _) => Some(ty.clone()),
        (IndexTargetKind::Simple, t) if !t.is_multi_cell() => Some(t.clone()),
        (
            IndexTargetKind::Simple | IndexTargetKind::Values,
            CqlType::List { element, .. } | CqlType::Set { element, .. },
        ) => Some((**element).clone()),
        (IndexTargetKind::Simple | IndexTargetKind::Values, CqlType::Map { value, .. }) => {
            Some((**value).clone())
        }
        (IndexTargetKind::Keys, CqlType::Map { key, .. } | CqlType::Set { element: key, .. }) => {
            Some((**key).clone())
        }
        (IndexTargetKind::Entries, CqlType::Map { key, value, .. }) => {
            Some(CqlType::Tuple(vec![(**key).clone(), (**value).clone()]))
        }
        _ => None,
    }
}

impl Table {
    /// The hidden table the entries of `index` (an index of this table) are stored as:
    /// partitioned by indexed value, clustered by base partition key and clustering (as
    /// blobs), in the index's own branch, with the index's `storage_id`.
    pub fn index_storage(&self, index: &IndexDef) -> Result<Table, String> {
        let column = self
            .column_type(&index.column)
            .ok_or_else(|| format!("index {} lost its column", index.name))?;
        let value_type = indexed_type(column, index.target)
            .ok_or_else(|| format!("index {} has an invalid target", index.name))?;
        let column = |name: &str, type_text: String, kind| ColumnDef {
            name: name.into(),
            type_text,
            kind,
            order: ClusteringOrder::Asc,
        };
        let def = TableDef {
            keyspace: index.keyspace.clone(),
            name: format!("{}.{}", index.table, index.name),
            id: index.storage_id(),
            columns: vec![
                column(
                    "value",
                    value_type.frozen().to_string(),
                    ColumnKind::PartitionKey,
                ),
                column("pk", "blob".into(), ColumnKind::Clustering),
                column("ck", "blob".into(), ColumnKind::Clustering),
            ],
            partition_key: vec!["value".into()],
            clustering: vec!["pk".into(), "ck".into()],
            options: TableOptions::default(),
            data_version: index.data_version,
            dropped_columns: Default::default(),
            dropped_column_types: Default::default(),
        };
        Table::new(def, TableSource::Engine)
    }
}

#[derive(Debug, Clone)]
pub struct Keyspace {
    pub def: KeyspaceDef,
    pub tables: BTreeMap<String, Arc<Table>>,
    /// User-defined types by name.
    pub types: BTreeMap<String, TypeDef>,
    /// System keyspaces cannot be altered or dropped by users.
    pub system: bool,
}

/// Resolves type names against one keyspace's user-defined types (a type may only use
/// types of its own keyspace, as in Cassandra). Nested types resolve recursively,
/// bounded by `MAX_TYPE_DEPTH` so a cycle cannot recurse forever.
pub struct KeyspaceUdts<'a> {
    pub keyspace: &'a str,
    pub types: &'a BTreeMap<String, TypeDef>,
    depth: std::cell::Cell<usize>,
}

impl<'a> KeyspaceUdts<'a> {
    pub fn new(keyspace: &'a str, types: &'a BTreeMap<String, TypeDef>) -> KeyspaceUdts<'a> {
        KeyspaceUdts {
            keyspace,
            types,
            depth: std::cell::Cell::new(0),
        }
    }

    /// The resolved definition of type `name`.
    pub fn resolve(&self, name: &str) -> Option<UdtDef> {
        self.resolve_udt(None, name)
    }
}

impl UdtResolver for KeyspaceUdts<'_> {
    fn resolve_udt(&self, keyspace: Option<&str>, name: &str) -> Option<UdtDef> {
        if keyspace.is_some_and(|k| k != self.keyspace) || self.depth.get() >= MAX_TYPE_DEPTH {
            return None;
        }
        let def = self.types.get(name)?;
        self.depth.set(self.depth.get() + 1);
        let fields: Option<Vec<(String, CqlType)>> = def
            .field_names
            .iter()
            .zip(&def.field_types)
            .map(|(n, t)| CqlType::parse(t, self).ok().map(|ty| (n.clone(), ty)))
            .collect();
        self.depth.set(self.depth.get() - 1);
        Some(UdtDef {
            keyspace: def.keyspace.clone(),
            name: def.name.clone(),
            fields: fields?,
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct Catalog {
    pub keyspaces: BTreeMap<String, Keyspace>,
    /// Snapshots by (tag, keyspace, table).
    pub snapshots: BTreeMap<(String, String, String), SnapshotRecord>,
    /// Nodes removed from the cluster, by host id (not part of `version`).
    pub removed_nodes: BTreeMap<Uuid, RemovedNode>,
    /// The nodes of the token ring, by host id (not part of `version`).
    pub nodes: BTreeMap<Uuid, NodeRecord>,
    pub version: Uuid,
}

impl Catalog {
    pub fn keyspace(&self, name: &str) -> Option<&Keyspace> {
        self.keyspaces.get(name)
    }

    pub fn table(&self, keyspace: &str, name: &str) -> Option<&Arc<Table>> {
        self.keyspaces
            .get(keyspace)
            .and_then(|k| k.tables.get(name))
    }

    pub fn snapshot(&self, tag: &str, keyspace: &str, table: &str) -> Option<&SnapshotRecord> {
        self.snapshots
            .get(&(tag.to_string(), keyspace.to_string(), table.to_string()))
    }

    /// All user (non-system) table definitions.
    pub fn user_tables(&self) -> impl Iterator<Item = &Arc<Table>> {
        self.keyspaces
            .values()
            .filter(|k| !k.system)
            .flat_map(|k| k.tables.values())
    }

    /// Recomputes `version` from the user schema: an MD5 name-based UUID, as
    /// Cassandra derives `schema_version`. Only replicated definitions are hashed: the
    /// engine branches tables and indexes live in (`data_version`, renumbered by TRUNCATE
    /// and different on every node) are node-local and left out, so the same schema gives
    /// the same version on every node.
    pub fn recompute_version(&mut self) {
        let mut hasher = Md5::new();
        for ks in self.keyspaces.values().filter(|k| !k.system) {
            hash_json(&mut hasher, &ks.def);
            for ty in ks.types.values() {
                hash_json(&mut hasher, ty);
            }
            for table in ks.tables.values() {
                hash_json(
                    &mut hasher,
                    &TableDef {
                        data_version: 0,
                        ..table.def.clone()
                    },
                );
                for index in &table.indexes {
                    hash_json(
                        &mut hasher,
                        &IndexDef {
                            data_version: 0,
                            ..index.clone()
                        },
                    );
                }
                hash_json(&mut hasher, &table.view);
            }
        }
        let mut bytes: [u8; 16] = hasher.finalize().into();
        // Version 3 (name-based, MD5) and the IETF variant, like UUID.nameUUIDFromBytes.
        bytes[6] = (bytes[6] & 0x0f) | 0x30;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        self.version = Uuid::from_bytes(bytes);
    }
}

fn hash_json(hasher: &mut Md5, value: &impl serde::Serialize) {
    hasher.update(serde_json::to_vec(value).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::Table;
    use crate::testing::TestServer;

    async fn run(client: &mut crate::testing::TestClient, statements: &[&str]) {
        for cql in statements {
            client.run(cql).await;
        }
    }

    const SCHEMA: [&str; 4] = [
        "CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
        "CREATE TABLE ks.t (k int PRIMARY KEY, v int)",
        "CREATE INDEX t_v ON ks.t (v)",
        "INSERT INTO ks.t (k, v) VALUES (1, 1)",
    ];

    /// TRUNCATE moves the table (and its index) onto new engine branches: node-local
    /// state, not schema.
    #[tokio::test]
    async fn truncate_leaves_the_schema_version_alone() {
        let server = TestServer::start().await;
        let mut client = server.client().await;
        run(&mut client, &SCHEMA).await;
        let before = server.node.catalog().version;
        run(&mut client, &["TRUNCATE ks.t"]).await;
        let catalog = server.node.catalog();
        assert_ne!(
            catalog.table("ks", "t").unwrap().def.data_version,
            0,
            "the table has a branch of its own"
        );
        assert_eq!(catalog.version, before);
        server.stop().await;
    }

    /// Two nodes holding the same definitions (as replicated DDL leaves them: same ids)
    /// on differently numbered engine branches report the same version.
    #[tokio::test]
    async fn node_local_branches_do_not_change_the_schema_version() {
        let server = TestServer::start().await;
        let mut client = server.client().await;
        run(&mut client, &SCHEMA).await;
        let this_node = server.node.catalog();
        let mut other_node = (*this_node).clone();
        for keyspace in other_node.keyspaces.values_mut() {
            for table in keyspace.tables.values_mut() {
                let mut def = table.def.clone();
                def.data_version += 1000;
                let mut moved = Table::new(def, table.source).expect("table");
                moved.indexes = table.indexes.clone();
                moved
                    .indexes
                    .iter_mut()
                    .for_each(|i| i.data_version += 1000);
                *table = Arc::new(moved);
            }
        }
        other_node.recompute_version();
        assert_eq!(other_node.version, this_node.version);
        server.stop().await;
    }
}
