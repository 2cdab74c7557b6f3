//! Persists schema and node-local metadata in the engine's system branch and publishes
//! catalog snapshots.
//!
//! Invariants:
//! - The system branch is the first version ever cloned from the engine root
//!   (`SYSTEM_BRANCH`); its writable head is found through `Engine::writable_head`.
//! - Every DDL is one atomic engine write of the changed definitions, after which a new
//!   `Catalog` is built from the persisted definitions and published; a crash never
//!   leaves the in-memory catalog ahead of disk.
//! - `records` mirrors the system branch's contents exactly: it is loaded by one scan at
//!   open and then changed only after the engine write that persists the same change.
//!   Catalogs are rebuilt from the mirror, because a scan of the system branch walks past
//!   the entries of every table that shares its arrays (O(data), not O(schema)).
//! - DDL statements are serialised by `ddl_lock`, so two concurrent CREATEs cannot both
//!   pass their existence checks.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use strata_engine::{Cell, CellValue, Engine, Mutation, VersionId, ROOT_VERSION};
use uuid::Uuid;

use super::catalog::{Catalog, Keyspace, KeyspaceUdts, Table, TableSource};
use super::defs::{
    IndexDef, KeyspaceDef, NodeRecord, RemovedNode, SnapshotRecord, TableDef, TypeDef, ViewRecord,
};
use super::system_defs::{is_replicated_system_keyspace, system_keyspaces};
use crate::error::{CqlError, CqlResult};

/// The engine version that begins the system branch (first clone of the root).
const SYSTEM_BRANCH: VersionId = 1;
const KEYSPACE_PREFIX: &[u8] = b"ks/";
const TABLE_PREFIX: &[u8] = b"tb/";
const SNAPSHOT_PREFIX: &[u8] = b"sn/";
const INDEX_PREFIX: &[u8] = b"ix/";
const TYPE_PREFIX: &[u8] = b"ty/";
const VIEW_PREFIX: &[u8] = b"vw/";
/// Nodes removed from the cluster (replicated, not schema: no part of the schema version).
const REMOVED_NODE_PREFIX: &[u8] = b"rm/";
/// The nodes of the token ring (replicated, not schema: no part of the schema version).
const NODE_PREFIX: &[u8] = b"nd/";
/// Node-local records (host id, tokens, peers) live under this key prefix.
const LOCAL_PREFIX: &str = "local/";

/// One change to persisted schema. Serializable: replicated schema changes travel in the
/// metadata log (`cluster::metadata`).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub enum SchemaWrite {
    PutKeyspace(KeyspaceDef),
    DropKeyspace(String),
    PutTable(TableDef),
    DropTable {
        keyspace: String,
        name: String,
    },
    PutSnapshot(SnapshotRecord),
    DropSnapshot {
        tag: String,
        keyspace: String,
        table: String,
    },
    PutIndex(IndexDef),
    DropIndex {
        keyspace: String,
        table: String,
        name: String,
    },
    PutView(ViewRecord),
    DropView {
        keyspace: String,
        name: String,
    },
    PutType(TypeDef),
    DropType {
        keyspace: String,
        name: String,
    },
    /// `nodetool removenode`: the node leaves the ring on every node (last: the variant
    /// index is the log's wire format).
    RemoveNode(RemovedNode),
    /// A node joins the ring with its tokens (or changed its address or location); a
    /// removal deletes the record.
    PutNode(NodeRecord),
}

/// The replicated schema as writes, and the requested node-local records.
pub type ReplicatedState = (Vec<SchemaWrite>, Vec<Option<Vec<u8>>>);

/// Engine entries of the system branch to write (`None` deletes).
type RawEntries = Vec<(Vec<u8>, Option<Vec<u8>>)>;

/// The system branch's live records by key.
type Records = BTreeMap<Vec<u8>, Vec<u8>>;

pub struct SchemaStore {
    engine: Arc<Engine>,
    records: Mutex<Records>,
    current: RwLock<Arc<Catalog>>,
    pub ddl_lock: tokio::sync::Mutex<()>,
}

impl SchemaStore {
    /// Opens the system branch (creating it on first start) and loads the catalog.
    pub fn open(engine: Arc<Engine>) -> CqlResult<SchemaStore> {
        if engine.version_info(SYSTEM_BRANCH).is_none() {
            let created = engine.clone_version(ROOT_VERSION)?;
            if created != SYSTEM_BRANCH {
                return Err(CqlError::Server(format!(
                    "engine gave version {created} to the system branch, expected {SYSTEM_BRANCH}"
                )));
            }
        }
        let records = load_records(&engine, engine.writable_head(SYSTEM_BRANCH)?)?;
        let store = SchemaStore {
            engine,
            records: Mutex::new(records),
            current: RwLock::new(Arc::new(Catalog::default())),
            ddl_lock: tokio::sync::Mutex::new(()),
        };
        store.rebuild(&store.lock_records())?;
        Ok(store)
    }

    fn lock_records(&self) -> MutexGuard<'_, Records> {
        self.records.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn catalog(&self) -> Arc<Catalog> {
        self.current.read().map(|c| c.clone()).unwrap_or_default()
    }

    fn system_head(&self) -> CqlResult<VersionId> {
        Ok(self.engine.writable_head(SYSTEM_BRANCH)?)
    }

    /// The node's host id, generated and persisted on first start.
    pub fn host_id(&self) -> CqlResult<Uuid> {
        let stored = self
            .local_record("host_id")
            .and_then(|v| String::from_utf8(v).ok())
            .and_then(|s| Uuid::parse_str(&s).ok());
        if let Some(id) = stored {
            return Ok(id);
        }
        let id = Uuid::new_v4();
        self.put_local_record("host_id", id.to_string().into_bytes())?;
        Ok(id)
    }

    /// A node-local record (host id, tokens, known peers), never part of the schema.
    pub fn local_record(&self, name: &str) -> Option<Vec<u8>> {
        self.lock_records()
            .get(format!("{LOCAL_PREFIX}{name}").as_bytes())
            .cloned()
    }

    /// Persists a node-local record (`None` deletes it).
    pub fn put_local_record(&self, name: &str, value: impl Into<Option<Vec<u8>>>) -> CqlResult<()> {
        let mut records = self.lock_records();
        self.put_raw(
            &mut records,
            vec![(format!("{LOCAL_PREFIX}{name}").into_bytes(), value.into())],
        )
    }

    /// Node-local records whose name starts with `prefix`, by name.
    pub fn local_records(&self, prefix: &str) -> Vec<(String, Vec<u8>)> {
        let start = format!("{LOCAL_PREFIX}{prefix}").into_bytes();
        let records = self.lock_records();
        records
            .range(start.clone()..)
            .take_while(|(k, _)| k.starts_with(&start))
            .map(|(k, v)| {
                (
                    String::from_utf8_lossy(k.get(LOCAL_PREFIX.len()..).unwrap_or_default())
                        .into_owned(),
                    v.clone(),
                )
            })
            .collect()
    }

    /// Persists `writes` atomically and publishes the resulting catalog: node-local schema
    /// records only (snapshot tags): replicated schema changes go
    /// through the metadata log (`cluster::metadata`), whose state machine applies them
    /// with `apply_with_local`.
    pub fn apply(&self, writes: Vec<SchemaWrite>) -> CqlResult<Arc<Catalog>> {
        self.apply_with_local(writes, Vec::new())
    }

    /// Persists `writes` and the node-local `local` records (`None` deletes) in one
    /// atomic engine write and publishes the resulting catalog: the metadata log's state
    /// machine records its applied log position in the same write as the schema change.
    pub fn apply_with_local(
        &self,
        writes: Vec<SchemaWrite>,
        local: Vec<(&str, Option<Vec<u8>>)>,
    ) -> CqlResult<Arc<Catalog>> {
        let raw = encode_with_local(writes, local)?;
        let mut records = self.lock_records();
        self.put_raw(&mut records, raw)?;
        self.rebuild(&records)
    }

    /// Replaces the replicated schema (keyspaces, tables, types, indexes, views; not
    /// snapshots, which are node-local) by `puts`, with `local` records, in one engine
    /// write: a metadata-log snapshot being installed.
    pub fn replace_replicated(
        &self,
        puts: Vec<SchemaWrite>,
        local: Vec<(&str, Option<Vec<u8>>)>,
    ) -> CqlResult<Arc<Catalog>> {
        let mut raw = encode_with_local(puts, local)?;
        let mut records = self.lock_records();
        let kept: std::collections::BTreeSet<Vec<u8>> =
            raw.iter().map(|(k, _)| k.clone()).collect();
        let stale: Vec<Vec<u8>> = records
            .keys()
            .filter(|k| is_replicated_key(k) && !kept.contains(*k))
            .cloned()
            .collect();
        raw.extend(stale.into_iter().map(|k| (k, None)));
        self.put_raw(&mut records, raw)?;
        self.rebuild(&records)
    }

    /// The replicated schema as the writes that would create it (a metadata-log snapshot),
    /// with the node-local records named `local`, read together.
    pub fn replicated_state(&self, local: &[&str]) -> CqlResult<ReplicatedState> {
        let records = self.lock_records();
        let local = local
            .iter()
            .map(|name| {
                records
                    .get(format!("{LOCAL_PREFIX}{name}").as_bytes())
                    .cloned()
            })
            .collect();
        let mut writes = Vec::new();
        for (key, value) in records.iter() {
            let write = if key.starts_with(KEYSPACE_PREFIX) {
                SchemaWrite::PutKeyspace(decode_json(value)?)
            } else if key.starts_with(TABLE_PREFIX) {
                SchemaWrite::PutTable(decode_json(value)?)
            } else if key.starts_with(TYPE_PREFIX) {
                SchemaWrite::PutType(decode_json(value)?)
            } else if key.starts_with(INDEX_PREFIX) {
                SchemaWrite::PutIndex(decode_json(value)?)
            } else if key.starts_with(VIEW_PREFIX) {
                SchemaWrite::PutView(decode_json(value)?)
            } else if key.starts_with(REMOVED_NODE_PREFIX) {
                SchemaWrite::RemoveNode(decode_json(value)?)
            } else if key.starts_with(NODE_PREFIX) {
                SchemaWrite::PutNode(decode_json(value)?)
            } else {
                continue;
            };
            writes.push(write);
        }
        Ok((writes, local))
    }

    /// Persists `entries` (`None` deletes) in one engine write, then mirrors them in
    /// `records`; the caller holds the `records` lock throughout, so the mirror changes
    /// in the engine's order.
    fn put_raw(
        &self,
        records: &mut Records,
        entries: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    ) -> CqlResult<()> {
        let head = self.system_head()?;
        let timestamp = crate::clock::next_micros();
        let now = crate::clock::now_secs();
        let mutations: Vec<Mutation> = entries
            .iter()
            .map(|(key, value)| Mutation {
                version: head,
                key: key.clone(),
                cell: Cell {
                    timestamp,
                    ttl_secs: 0,
                    expires_at_secs: 0,
                    value: match value {
                        Some(v) => CellValue::Live(v.clone()),
                        None => CellValue::Tombstone {
                            deleted_at_secs: now,
                        },
                    },
                },
            })
            .collect();
        self.engine.write(&mutations)?;
        for (key, value) in entries {
            match value {
                Some(value) => records.insert(key, value),
                None => records.remove(&key),
            };
        }
        Ok(())
    }

    /// Builds the catalog from the persisted definitions plus the system keyspaces and
    /// publishes it.
    fn rebuild(&self, records: &Records) -> CqlResult<Arc<Catalog>> {
        let mut catalog = Catalog::default();
        for (def, tables) in system_keyspaces() {
            let tables = tables
                .into_iter()
                .map(|t| {
                    Ok((
                        t.name.clone(),
                        Arc::new(Table::new(t, TableSource::Virtual).map_err(CqlError::Server)?),
                    ))
                })
                .collect::<CqlResult<BTreeMap<_, _>>>()?;
            catalog.keyspaces.insert(
                def.name.clone(),
                Keyspace {
                    def,
                    tables,
                    types: BTreeMap::new(),
                    system: true,
                },
            );
        }
        let mut indexes = Vec::new();
        let mut views = Vec::new();
        // Tables are built after the scan: their column types may name user types,
        // whose records sort after the table records.
        let mut table_defs = Vec::new();
        for (key, value) in records {
            if key.starts_with(KEYSPACE_PREFIX) {
                let def: KeyspaceDef = decode_json(value)?;
                match catalog.keyspaces.get_mut(&def.name) {
                    // An ALTER of a replicated system keyspace (its replication).
                    Some(ks) if ks.system && is_replicated_system_keyspace(&def.name) => {
                        ks.def = def;
                    }
                    Some(_) => {}
                    None => {
                        catalog.keyspaces.insert(
                            def.name.clone(),
                            Keyspace {
                                def,
                                tables: BTreeMap::new(),
                                types: BTreeMap::new(),
                                system: false,
                            },
                        );
                    }
                }
            } else if key.starts_with(TABLE_PREFIX) {
                table_defs.push(decode_json::<TableDef>(value)?);
            } else if key.starts_with(TYPE_PREFIX) {
                let def: TypeDef = decode_json(value)?;
                if let Some(ks) = catalog.keyspaces.get_mut(&def.keyspace) {
                    ks.types.insert(def.name.clone(), def);
                }
            } else if key.starts_with(SNAPSHOT_PREFIX) {
                let record: SnapshotRecord = decode_json(value)?;
                catalog.snapshots.insert(
                    (
                        record.tag.clone(),
                        record.keyspace.clone(),
                        record.table.clone(),
                    ),
                    record,
                );
            } else if key.starts_with(INDEX_PREFIX) {
                indexes.push(decode_json::<IndexDef>(value)?);
            } else if key.starts_with(VIEW_PREFIX) {
                views.push(decode_json::<ViewRecord>(value)?);
            } else if key.starts_with(REMOVED_NODE_PREFIX) {
                let removed: RemovedNode = decode_json(value)?;
                catalog.removed_nodes.insert(removed.host_id, removed);
            } else if key.starts_with(NODE_PREFIX) {
                let node: NodeRecord = decode_json(value)?;
                catalog.nodes.insert(node.host_id, node);
            }
        }
        for def in table_defs {
            let Some(ks) = catalog.keyspaces.get_mut(&def.keyspace) else {
                continue;
            };
            let (keyspace, name) = (def.keyspace.clone(), def.name.clone());
            match Table::with_types(
                def,
                TableSource::Engine,
                &KeyspaceUdts::new(&ks.def.name, &ks.types),
            ) {
                Ok(table) => {
                    ks.tables.insert(table.def.name.clone(), Arc::new(table));
                }
                // One unreadable definition must not stop the node from starting or
                // every later DDL from applying; the table stays hidden until fixed.
                Err(error) => tracing::error!(
                    keyspace,
                    table = name,
                    error,
                    "table definition does not resolve; table skipped"
                ),
            }
        }
        attach_views(&mut catalog, views)?;
        attach_indexes(&mut catalog, indexes);
        catalog.recompute_version();
        let catalog = Arc::new(catalog);
        if let Ok(mut slot) = self.current.write() {
            *slot = catalog.clone();
        }
        Ok(catalog)
    }
}

/// Gives each table its indexes; an index of a dropped (or re-created) table is ignored.
fn attach_indexes(catalog: &mut Catalog, indexes: Vec<IndexDef>) {
    for index in indexes {
        let table = catalog
            .keyspaces
            .get_mut(&index.keyspace)
            .and_then(|k| k.tables.get_mut(&index.table));
        if let Some(table) = table
            .and_then(Arc::get_mut)
            .filter(|t| t.def.id == index.table_id)
        {
            table.indexes.push(index);
        }
    }
}

/// Adds each view as a table of its keyspace and names it on its base table; a view
/// whose base is gone (or re-created) is ignored.
fn attach_views(catalog: &mut Catalog, views: Vec<ViewRecord>) -> CqlResult<()> {
    for record in views {
        let Some(ks) = catalog.keyspaces.get_mut(&record.table.keyspace) else {
            continue;
        };
        let Some(base) = ks
            .tables
            .get_mut(&record.view.base_table)
            .and_then(Arc::get_mut)
            .filter(|t| t.def.id == record.view.base_id)
        else {
            continue;
        };
        base.views.push(record.table.name.clone());
        let udts = KeyspaceUdts::new(&ks.def.name, &ks.types);
        let mut table = Table::with_types(record.table, TableSource::Engine, &udts)
            .map_err(CqlError::Server)?;
        table.view = Some(record.view);
        ks.tables.insert(table.def.name.clone(), Arc::new(table));
    }
    Ok(())
}

/// The engine entries of `writes` and of the node-local `local` records.
fn encode_with_local(
    writes: Vec<SchemaWrite>,
    local: Vec<(&str, Option<Vec<u8>>)>,
) -> CqlResult<RawEntries> {
    let mut raw = Vec::new();
    for write in writes {
        // A removal takes the node's tokens out of the ring with it.
        if let SchemaWrite::RemoveNode(removed) = &write {
            raw.push((node_key(&removed.host_id), None));
        }
        raw.push(encode_write(write)?);
    }
    raw.extend(
        local
            .into_iter()
            .map(|(name, value)| (format!("{LOCAL_PREFIX}{name}").into_bytes(), value)),
    );
    Ok(raw)
}

/// Whether `key` is replicated schema (in the metadata log), not a node-local record.
fn is_replicated_key(key: &[u8]) -> bool {
    [
        KEYSPACE_PREFIX,
        TABLE_PREFIX,
        TYPE_PREFIX,
        INDEX_PREFIX,
        VIEW_PREFIX,
        REMOVED_NODE_PREFIX,
        NODE_PREFIX,
    ]
    .iter()
    .any(|prefix| key.starts_with(prefix))
}

fn view_key(keyspace: &str, name: &str) -> Vec<u8> {
    [VIEW_PREFIX, keyspace.as_bytes(), b"\0", name.as_bytes()].concat()
}

fn index_key(keyspace: &str, table: &str, name: &str) -> Vec<u8> {
    [
        INDEX_PREFIX,
        keyspace.as_bytes(),
        b"\0",
        table.as_bytes(),
        b"\0",
        name.as_bytes(),
    ]
    .concat()
}

fn decode_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> CqlResult<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| CqlError::Server(format!("corrupt schema record: {e}")))
}

fn encode_json<T: serde::Serialize>(value: &T) -> CqlResult<Vec<u8>> {
    serde_json::to_vec(value).map_err(|e| CqlError::Server(format!("cannot encode schema: {e}")))
}

fn type_key(keyspace: &str, name: &str) -> Vec<u8> {
    [TYPE_PREFIX, keyspace.as_bytes(), b"\0", name.as_bytes()].concat()
}

fn keyspace_key(name: &str) -> Vec<u8> {
    [KEYSPACE_PREFIX, name.as_bytes()].concat()
}

fn table_key(keyspace: &str, name: &str) -> Vec<u8> {
    [TABLE_PREFIX, keyspace.as_bytes(), b"\0", name.as_bytes()].concat()
}

fn snapshot_key(tag: &str, keyspace: &str, table: &str) -> Vec<u8> {
    [
        SNAPSHOT_PREFIX,
        tag.as_bytes(),
        b"\0",
        keyspace.as_bytes(),
        b"\0",
        table.as_bytes(),
    ]
    .concat()
}

fn encode_write(write: SchemaWrite) -> CqlResult<(Vec<u8>, Option<Vec<u8>>)> {
    Ok(match write {
        SchemaWrite::PutKeyspace(def) => (keyspace_key(&def.name), Some(encode_json(&def)?)),
        SchemaWrite::DropKeyspace(name) => (keyspace_key(&name), None),
        SchemaWrite::PutTable(def) => (
            table_key(&def.keyspace, &def.name),
            Some(encode_json(&def)?),
        ),
        SchemaWrite::DropTable { keyspace, name } => (table_key(&keyspace, &name), None),
        SchemaWrite::PutSnapshot(r) => (
            snapshot_key(&r.tag, &r.keyspace, &r.table),
            Some(encode_json(&r)?),
        ),
        SchemaWrite::DropSnapshot {
            tag,
            keyspace,
            table,
        } => (snapshot_key(&tag, &keyspace, &table), None),
        SchemaWrite::PutIndex(def) => (
            index_key(&def.keyspace, &def.table, &def.name),
            Some(encode_json(&def)?),
        ),
        SchemaWrite::DropIndex {
            keyspace,
            table,
            name,
        } => (index_key(&keyspace, &table, &name), None),
        SchemaWrite::PutType(def) => (type_key(&def.keyspace, &def.name), Some(encode_json(&def)?)),
        SchemaWrite::DropType { keyspace, name } => (type_key(&keyspace, &name), None),
        SchemaWrite::PutView(record) => (
            view_key(&record.table.keyspace, &record.table.name),
            Some(encode_json(&record)?),
        ),
        SchemaWrite::DropView { keyspace, name } => (view_key(&keyspace, &name), None),
        SchemaWrite::RemoveNode(removed) => (
            [REMOVED_NODE_PREFIX, removed.host_id.to_string().as_bytes()].concat(),
            Some(encode_json(&removed)?),
        ),
        SchemaWrite::PutNode(node) => (node_key(&node.host_id), Some(encode_json(&node)?)),
    })
}

fn node_key(host_id: &Uuid) -> Vec<u8> {
    [NODE_PREFIX, host_id.to_string().as_bytes()].concat()
}

/// Reads every live record of the system branch at `head`. The system branch shares arrays
/// with table data, so the scan steps over damaged blocks (the node must start to be
/// inspected and scrubbed); what it skipped is logged by `damage::log_known`, with the
/// keys it held, and a damaged block holding schema records is named there too.
fn load_records(engine: &Engine, head: VersionId) -> CqlResult<Records> {
    let mut records = Records::new();
    for entry in engine.scan_salvaging(head, Bound::Unbounded, Bound::Unbounded)? {
        let (key, cell) = entry?;
        if let CellValue::Live(value) = cell.value {
            records.insert(key, value);
        }
    }
    Ok(records)
}
