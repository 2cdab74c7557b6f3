//! Schema statements: keyspaces, tables, TRUNCATE.
//!
//! Invariants:
//! - Every DDL runs under the schema store's `ddl_lock` and checks existence against the
//!   catalog it then replaces, so concurrent CREATEs of one name cannot both succeed.
//! - A table's data is a version branch of the engine: CREATE clones the empty root,
//!   TRUNCATE swaps in a fresh empty branch (O(1)), DROP deletes the branch's head.

pub mod clone;
mod compaction;
mod params;
pub mod udt;

use std::collections::BTreeMap;
use std::sync::Arc;

use strata_engine::ROOT_VERSION;
use strata_protocol::{SchemaChange, SchemaChangeTarget, SchemaChangeType};
use uuid::Uuid;

use crate::cluster::placement::Strategy;
use crate::cql::ast::{
    AlterKeyspace, AlterTable, AlterTableAction, CreateKeyspace, CreateTable, DropKeyspace,
    DropObject, Literal, OrderDirection, Property, PropertyValue, QualifiedName,
};
use crate::error::{CqlError, CqlResult};
use crate::exec::context::{Context, DdlOutcome};
use crate::schema::system_defs::is_replicated_system_keyspace;
use crate::schema::{
    Catalog, ClusteringOrder, ColumnDef, ColumnKind, Keyspace, KeyspaceDef, SchemaWrite, TableDef,
    TableOptions,
};
use crate::schema::{DroppedColumn, IndexDef, KeyspaceUdts, Table, TypeDef, ViewRecord};
use crate::types::{CqlType, UdtResolver};

const MAX_NAME_LENGTH: usize = 48;

fn check_name(kind: &str, name: &str) -> CqlResult<()> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME_LENGTH
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid {
        return Err(CqlError::invalid(format!(
            "{kind} name must not be empty, more than {MAX_NAME_LENGTH} characters long, or contain non-alphanumeric-underscore characters (got \"{name}\")"
        )));
    }
    Ok(())
}

fn keyspace_event(change: SchemaChangeType, name: &str) -> SchemaChange {
    SchemaChange {
        change,
        target: SchemaChangeTarget::Keyspace(name.to_string()),
    }
}

fn table_event(change: SchemaChangeType, keyspace: &str, name: &str) -> SchemaChange {
    SchemaChange {
        change,
        target: SchemaChangeTarget::Table {
            keyspace: keyspace.to_string(),
            name: name.to_string(),
        },
    }
}

pub async fn create_keyspace(ctx: &Context<'_>, s: &CreateKeyspace) -> CqlResult<DdlOutcome> {
    check_name("Keyspace", &s.name)?;
    let _guard = ctx.node.schema().ddl_lock.lock().await;
    let catalog = ctx.node.catalog();
    if catalog.keyspace(&s.name).is_some() {
        if s.if_not_exists {
            return Ok(None);
        }
        return Err(CqlError::keyspace_exists(&s.name));
    }
    let def = keyspace_def(ctx, &s.name, &s.properties, None)?;
    ctx.node
        .commit_schema(&catalog, vec![SchemaWrite::PutKeyspace(def)])
        .await?;
    Ok(Some(keyspace_event(SchemaChangeType::Created, &s.name)))
}

/// The user keyspace an ALTER or DROP names: `None` when it is missing and `IF EXISTS`
/// was given; an error when it is missing otherwise or is a system keyspace.
fn user_keyspace<'c>(
    catalog: &'c Catalog,
    name: &str,
    if_exists: bool,
) -> CqlResult<Option<&'c Keyspace>> {
    match catalog.keyspace(name) {
        None if if_exists => Ok(None),
        None => Err(CqlError::invalid(format!(
            "Keyspace '{name}' doesn't exist"
        ))),
        Some(ks) if ks.system => Err(CqlError::Unauthorized(format!(
            "{name} keyspace is not user-modifiable."
        ))),
        Some(ks) => Ok(Some(ks)),
    }
}

pub async fn alter_keyspace(ctx: &Context<'_>, s: &AlterKeyspace) -> CqlResult<DdlOutcome> {
    let _guard = ctx.node.schema().ddl_lock.lock().await;
    let catalog = ctx.node.catalog();
    let existing = match catalog.keyspace(&s.name) {
        Some(ks) if is_replicated_system_keyspace(&s.name) => Some(ks),
        _ => user_keyspace(&catalog, &s.name, s.if_exists)?,
    };
    let Some(existing) = existing else {
        return Ok(None);
    };
    let def = keyspace_def(ctx, &s.name, &s.properties, Some(&existing.def))?;
    ctx.node
        .commit_schema(&catalog, vec![SchemaWrite::PutKeyspace(def)])
        .await?;
    Ok(Some(keyspace_event(SchemaChangeType::Updated, &s.name)))
}

pub async fn drop_keyspace(ctx: &Context<'_>, s: &DropKeyspace) -> CqlResult<DdlOutcome> {
    let _guard = ctx.node.schema().ddl_lock.lock().await;
    let catalog = ctx.node.catalog();
    let Some(keyspace) = user_keyspace(&catalog, &s.name, s.if_exists)? else {
        return Ok(None);
    };
    let mut writes: Vec<SchemaWrite> = keyspace
        .tables
        .values()
        .map(|t| SchemaWrite::DropTable {
            keyspace: t.def.keyspace.clone(),
            name: t.def.name.clone(),
        })
        .collect();
    writes.extend(keyspace.types.keys().map(|name| SchemaWrite::DropType {
        keyspace: s.name.clone(),
        name: name.clone(),
    }));
    writes.push(SchemaWrite::DropKeyspace(s.name.clone()));
    // The metadata log's state machine releases the tables' branches on every node.
    ctx.node.commit_schema(&catalog, writes).await?;
    Ok(Some(keyspace_event(SchemaChangeType::Dropped, &s.name)))
}

/// Builds a keyspace definition from `WITH replication = {...} AND durable_writes = ...`.
fn keyspace_def(
    ctx: &Context<'_>,
    name: &str,
    properties: &[Property],
    existing: Option<&KeyspaceDef>,
) -> CqlResult<KeyspaceDef> {
    let mut replication = existing.map(|d| d.replication.clone());
    let mut durable_writes = existing.is_none_or(|d| d.durable_writes);
    for property in properties {
        match (property.name.as_str(), &property.value) {
            ("replication", PropertyValue::Map(entries)) => {
                replication = Some(replication_options(ctx, name, entries)?);
            }
            ("durable_writes", value) => {
                durable_writes = boolean_property("durable_writes", value)?
            }
            (other, _) => return Err(CqlError::Syntax(format!("Unknown property '{other}'"))),
        }
    }
    let replication = replication
        .ok_or_else(|| CqlError::Config("Missing mandatory option 'replication'".into()))?;
    Strategy::from_options(&replication)
        .and_then(|strategy| strategy.validate(name, &ctx.node.coordinator().ring()))
        .map_err(|e| CqlError::Config(e.to_string()))?;
    Ok(KeyspaceDef {
        name: name.to_string(),
        replication,
        durable_writes,
    })
}

/// Normalises replication options like Cassandra: full class names, and the
/// `replication_factor` shorthand of NetworkTopologyStrategy expanded per datacenter.
fn replication_options(
    ctx: &Context<'_>,
    name: &str,
    entries: &[(Literal, Literal)],
) -> CqlResult<BTreeMap<String, String>> {
    let mut options: BTreeMap<String, String> = entries
        .iter()
        .map(|(k, v)| (k.text.clone(), v.text.clone()))
        .collect();
    let class = options
        .remove("class")
        .ok_or_else(|| CqlError::Config("Missing replication strategy class".into()))?;
    let class = match class.rsplit('.').next().unwrap_or_default() {
        "SimpleStrategy" => "org.apache.cassandra.locator.SimpleStrategy",
        "NetworkTopologyStrategy" => "org.apache.cassandra.locator.NetworkTopologyStrategy",
        "LocalStrategy" | "EverywhereStrategy" => {
            return Err(CqlError::Config(format!(
                "Unable to use given strategy class: {class} is reserved for internal use."
            )));
        }
        _ => {
            return Err(CqlError::Config(format!(
                "Unable to find replication strategy class '{class}'"
            )))
        }
    };
    if let Some(bad) = options
        .values()
        .find(|v| !v.parse::<i64>().is_ok_and(|n| n >= 0))
    {
        return Err(CqlError::Config(format!(
            "Replication factor must be non-negative integer; found {bad}"
        )));
    }
    if class.ends_with("SimpleStrategy") {
        if !options.contains_key("replication_factor") {
            return Err(CqlError::Config(
                "SimpleStrategy requires a replication_factor strategy option.".into(),
            ));
        }
        if let Some(unknown) = options.keys().find(|k| *k != "replication_factor") {
            return Err(CqlError::Config(format!(
                "Unrecognized strategy option {{{unknown}}} passed to SimpleStrategy for keyspace {name}"
            )));
        }
    } else if let Some(rf) = options.remove("replication_factor") {
        options.entry(ctx.node.config().dc.clone()).or_insert(rf);
    }
    options.insert("class".into(), class.into());
    Ok(options)
}

fn boolean_property(name: &str, value: &PropertyValue) -> CqlResult<bool> {
    let text = match value {
        PropertyValue::Literal(l) => l.text.to_lowercase(),
        PropertyValue::Word(w) => w.to_lowercase(),
        PropertyValue::Map(_) => String::new(),
    };
    match text.as_str() {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(CqlError::Syntax(format!(
            "Invalid boolean value {text} for '{name}'"
        ))),
    }
}

pub async fn create_table(ctx: &Context<'_>, s: &CreateTable) -> CqlResult<DdlOutcome> {
    let keyspace = ctx.keyspace_of(&s.name)?;
    check_name("Table", &s.name.name)?;
    let _guard = ctx.node.schema().ddl_lock.lock().await;
    let catalog = ctx.node.catalog();
    let ks = catalog
        .keyspace(&keyspace)
        .ok_or_else(|| CqlError::invalid(format!("Keyspace '{keyspace}' doesn't exist")))?;
    if ks.system {
        return Err(CqlError::Unauthorized(format!(
            "{keyspace} keyspace is not user-modifiable."
        )));
    }
    if ks.tables.contains_key(&s.name.name) {
        if s.if_not_exists {
            return Ok(None);
        }
        return Err(CqlError::table_exists(&keyspace, &s.name.name));
    }
    let mut def = table_def(&keyspace, s, &KeyspaceUdts::new(&keyspace, &ks.types))?;
    def.data_version = ctx.node.engine().clone_version(ROOT_VERSION)?;
    ctx.node
        .commit_schema(&catalog, vec![SchemaWrite::PutTable(def)])
        .await?;
    Ok(Some(table_event(
        SchemaChangeType::Created,
        &keyspace,
        &s.name.name,
    )))
}

fn table_def(keyspace: &str, s: &CreateTable, udts: &dyn UdtResolver) -> CqlResult<TableDef> {
    if s.options.compact_storage {
        return Err(CqlError::invalid(
            "COMPACT STORAGE tables are not supported starting with version 4.0",
        ));
    }
    let (partition_key, clustering) = primary_key(s)?;
    let mut columns = Vec::with_capacity(s.columns.len());
    for column in &s.columns {
        if columns.iter().any(|c: &ColumnDef| c.name == column.name) {
            return Err(CqlError::invalid(format!(
                "Duplicate column '{}' declaration for table {keyspace}.{}",
                column.name, s.name.name
            )));
        }
        let ty = CqlType::parse(&column.ty.to_string(), udts)?;
        let kind = if partition_key.contains(&column.name) {
            ColumnKind::PartitionKey
        } else if clustering.contains(&column.name) {
            ColumnKind::Clustering
        } else if column.is_static {
            ColumnKind::Static
        } else {
            ColumnKind::Regular
        };
        check_column_type(&column.name, &ty, kind)?;
        if column.is_static && clustering.is_empty() {
            return Err(CqlError::invalid("Static columns are only useful (and thus allowed) if the table has at least one clustering column"));
        }
        if column.is_static && kind != ColumnKind::Static {
            return Err(CqlError::invalid(format!(
                "Static column {} cannot be part of the PRIMARY KEY",
                column.name
            )));
        }
        columns.push(ColumnDef {
            name: column.name.clone(),
            type_text: ty.to_string(),
            kind,
            order: ClusteringOrder::Asc,
        });
    }
    for key in partition_key.iter().chain(&clustering) {
        if !columns.iter().any(|c| &c.name == key) {
            return Err(CqlError::invalid(format!(
                "Unknown definition {key} referenced in PRIMARY KEY"
            )));
        }
    }
    apply_clustering_order(&mut columns, &clustering, &s.options.clustering_order)?;
    let mut options = TableOptions::default();
    // `WITH ID = '<uuid>'` (Cassandra's TableAttributes.ID) fixes the table id, e.g. to
    // recreate a table whose data is kept elsewhere under its old id.
    let (id, properties): (Vec<_>, Vec<_>) = s
        .options
        .properties
        .iter()
        .cloned()
        .partition(|p| p.name.as_str() == "id");
    apply_table_properties(&mut options, &properties)?;
    check_counter_columns(&columns, &options)?;
    let id = match id.last() {
        Some(p) => Uuid::parse_str(&property_text(&p.value))
            .map_err(|_| CqlError::Config("Invalid table id".to_string()))?,
        None => Uuid::new_v4(),
    };
    let mut def = TableDef {
        keyspace: keyspace.to_string(),
        name: s.name.name.clone(),
        id,
        columns,
        partition_key,
        clustering,
        options,
        data_version: 0,
        dropped_columns: BTreeMap::new(),
        dropped_column_types: BTreeMap::new(),
    };
    def.normalise_column_order();
    Ok(def)
}

fn primary_key(s: &CreateTable) -> CqlResult<(Vec<String>, Vec<String>)> {
    let inline: Vec<&String> = s
        .columns
        .iter()
        .filter(|c| c.primary_key)
        .map(|c| &c.name)
        .collect();
    match (&s.primary_key, inline.as_slice()) {
        (Some(_), [_, ..]) | (None, [_, _, ..]) => Err(CqlError::invalid(
            "Multiple PRIMARY KEYs specified (exactly one required)",
        )),
        (None, []) => Err(CqlError::invalid(
            "No PRIMARY KEY specifed for table (exactly one required)",
        )),
        (None, [name]) => Ok((vec![(*name).clone()], Vec::new())),
        (Some(pk), []) => Ok((pk.partition_key.clone(), pk.clustering_columns.clone())),
    }
}

/// Cassandra's rules for counter tables: every non-key column a counter, no default TTL.
fn check_counter_columns(columns: &[ColumnDef], options: &TableOptions) -> CqlResult<()> {
    let values = columns
        .iter()
        .filter(|c| matches!(c.kind, ColumnKind::Regular | ColumnKind::Static));
    let (counters, others): (Vec<&ColumnDef>, Vec<&ColumnDef>) =
        values.partition(|c| c.type_text == "counter");
    let (counters, others) = (counters.len(), others.len());
    if counters > 0 && others > 0 {
        return Err(CqlError::invalid(
            "Cannot mix counter and non counter columns in the same table",
        ));
    }
    if counters > 0 && options.default_time_to_live > 0 {
        return Err(CqlError::invalid(
            "Cannot set default_time_to_live on a table with counters",
        ));
    }
    Ok(())
}

/// Cassandra's checks on `ALTER TABLE ADD` of a previously dropped name: the new type must
/// read the old cells (`isSerializationCompatibleWith`) and the kind must be the same.
fn check_readd(
    name: &str,
    ty: &CqlType,
    kind: ColumnKind,
    dropped: &DroppedColumn,
    keyspace: &str,
    types: &BTreeMap<String, TypeDef>,
) -> CqlResult<()> {
    let Ok(previous) = CqlType::parse(&dropped.type_text, &KeyspaceUdts::new(keyspace, types))
    else {
        return Ok(());
    };
    if !serialization_compatible(ty, &previous) {
        return Err(CqlError::invalid(format!(
            "Cannot re-add previously dropped column '{name}' of type {ty}, incompatible with previous type {previous}"
        )));
    }
    if kind != dropped.kind {
        let shown = |k: ColumnKind| k.as_str().to_ascii_uppercase();
        return Err(CqlError::invalid(format!(
            "Cannot re-add previously dropped column '{name}' of kind {}, incompatible with previous kind {}",
            shown(kind),
            shown(dropped.kind)
        )));
    }
    Ok(())
}

/// Whether values (cells) written as `previous` read correctly as `new`: the same
/// multi-cell layout and fixed length, and `new` able to read `previous`'s bytes (blob
/// reads anything, text reads ascii, bigint and timestamp read each other).
fn serialization_compatible(new: &CqlType, previous: &CqlType) -> bool {
    use crate::types::NativeType as N;
    if new == previous {
        return true;
    }
    if new.is_multi_cell() != previous.is_multi_cell() {
        return false;
    }
    match (new, previous) {
        (CqlType::List { element: a, .. }, CqlType::List { element: b, .. })
        | (CqlType::Set { element: a, .. }, CqlType::Set { element: b, .. })
            if new.is_multi_cell() =>
        {
            serialization_compatible(a, b)
        }
        (
            CqlType::Map {
                key: k1, value: v1, ..
            },
            CqlType::Map {
                key: k2, value: v2, ..
            },
        ) if new.is_multi_cell() => k1 == k2 && serialization_compatible(v1, v2),
        (CqlType::Native(N::Blob), CqlType::Native(n)) => n.fixed_size().is_none(),
        (CqlType::Native(N::Blob), _) => true,
        (CqlType::Native(N::Text), CqlType::Native(N::Ascii)) => true,
        (CqlType::Native(N::Bigint), CqlType::Native(N::Timestamp))
        | (CqlType::Native(N::Timestamp), CqlType::Native(N::Bigint)) => true,
        _ => false,
    }
}

fn check_column_type(name: &str, ty: &CqlType, kind: ColumnKind) -> CqlResult<()> {
    let is_key = matches!(kind, ColumnKind::PartitionKey | ColumnKind::Clustering);
    if is_key && ty.is_multi_cell() {
        let what = if ty.is_collection() {
            "collection"
        } else {
            "user-defined"
        };
        return Err(CqlError::invalid(format!(
            "Invalid non-frozen {what} type for PRIMARY KEY component {name}"
        )));
    }
    if let CqlType::Udt { def, frozen: false } = ty {
        if def.fields.iter().any(|(_, t)| t.is_multi_cell()) {
            return Err(CqlError::invalid(
                "Non-frozen UDTs with nested non-frozen collections are not supported",
            ));
        }
    }
    if is_key && ty.is_counter() {
        return Err(CqlError::invalid(format!(
            "counter type is not supported for PRIMARY KEY column '{name}'"
        )));
    }
    if kind == ColumnKind::Clustering && ty.references_duration() {
        return Err(CqlError::invalid(format!(
            "duration type is not supported for PRIMARY KEY column '{name}'"
        )));
    }
    Ok(())
}

/// `WITH CLUSTERING ORDER BY`: a prefix of the clustering columns in their order (Cassandra
/// 5.0 lets the later ones default to ASC).
fn apply_clustering_order(
    columns: &mut [ColumnDef],
    clustering: &[String],
    order: &[(String, OrderDirection)],
) -> CqlResult<()> {
    if order.len() > clustering.len() {
        return Err(CqlError::invalid(
            "Only clustering key columns can be defined in CLUSTERING ORDER directive",
        ));
    }
    for ((name, direction), expected) in order.iter().zip(clustering) {
        if name != expected {
            if order.iter().any(|(n, _)| n == expected) {
                return Err(CqlError::invalid(format!("The order of columns in the CLUSTERING ORDER directive must match that of the clustering columns ({expected} must appear before {name})")));
            }
            return Err(CqlError::invalid(format!(
                "Missing CLUSTERING ORDER for column {expected}"
            )));
        }
        if let Some(c) = columns.iter_mut().find(|c| &c.name == name) {
            c.order = ClusteringOrder::descending(*direction == OrderDirection::Desc);
        }
    }
    Ok(())
}

fn property_text(value: &PropertyValue) -> String {
    match value {
        PropertyValue::Literal(l) => l.text.clone(),
        PropertyValue::Word(w) => w.clone(),
        PropertyValue::Map(_) => String::new(),
    }
}

fn property_map(name: &str, value: &PropertyValue) -> CqlResult<BTreeMap<String, String>> {
    match value {
        PropertyValue::Map(entries) => Ok(entries
            .iter()
            .map(|(k, v)| (k.text.clone(), v.text.clone()))
            .collect()),
        _ => Err(CqlError::Syntax(format!(
            "Invalid value for property '{name}'. It should be a map."
        ))),
    }
}

fn number<T: std::str::FromStr>(name: &str, value: &PropertyValue) -> CqlResult<T> {
    let text = property_text(value);
    text.parse().map_err(|_| {
        CqlError::Syntax(format!(
            "Invalid value for property '{name}'. It should be a number, got '{text}'"
        ))
    })
}

/// Applies `WITH name = value` table options, with Cassandra's validation of the common ones.
fn apply_table_properties(options: &mut TableOptions, properties: &[Property]) -> CqlResult<()> {
    for p in properties {
        let v = &p.value;
        match p.name.as_str() {
            "comment" => options.comment = property_text(v),
            "gc_grace_seconds" => options.gc_grace_seconds = number(&p.name, v)?,
            "default_time_to_live" => {
                let ttl: i32 = number(&p.name, v)?;
                if ttl < 0 {
                    return Err(CqlError::Config(
                        "default_time_to_live must be greater than or equal to 0 (got ".to_string()
                            + &ttl.to_string()
                            + ")",
                    ));
                }
                options.default_time_to_live = ttl;
            }
            "bloom_filter_fp_chance" => options.bloom_filter_fp_chance = number(&p.name, v)?,
            "crc_check_chance" => options.crc_check_chance = number(&p.name, v)?,
            "max_index_interval" => options.max_index_interval = number(&p.name, v)?,
            "min_index_interval" => options.min_index_interval = number(&p.name, v)?,
            "memtable_flush_period_in_ms" => {
                options.memtable_flush_period_in_ms = number(&p.name, v)?
            }
            "speculative_retry" => options.speculative_retry = property_text(v),
            "additional_write_policy" => options.additional_write_policy = property_text(v),
            "read_repair" => options.read_repair = property_text(v),
            "memtable" => options.memtable = property_text(v),
            "cdc" => options.cdc = boolean_property(&p.name, v)?,
            "allow_auto_snapshot" => options.allow_auto_snapshot = boolean_property(&p.name, v)?,
            "incremental_backups" => options.incremental_backups = boolean_property(&p.name, v)?,
            "caching" => options.caching = property_map(&p.name, v)?,
            "compaction" => options.compaction = compaction::compaction(property_map(&p.name, v)?)?,
            "compression" => options.compression = params::compression(property_map(&p.name, v)?)?,
            "extensions" => {}
            other => return Err(CqlError::Syntax(format!("Unknown property '{other}'"))),
        }
    }
    Ok(())
}

/// The table ALTER or DROP names; `None` when it is missing and the statement says IF EXISTS.
fn existing_table<'c>(
    catalog: &'c Catalog,
    keyspace: &str,
    name: &str,
    if_exists: bool,
) -> CqlResult<Option<&'c Arc<Table>>> {
    match catalog.table(keyspace, name) {
        Some(table) => Ok(Some(table)),
        None if if_exists => Ok(None),
        None => Err(CqlError::invalid(format!(
            "Table '{keyspace}.{name}' doesn't exist"
        ))),
    }
}

pub async fn alter_table(ctx: &Context<'_>, s: &AlterTable) -> CqlResult<DdlOutcome> {
    let keyspace = ctx.keyspace_of(&s.name)?;
    let _guard = ctx.node.schema().ddl_lock.lock().await;
    let catalog = ctx.node.catalog();
    let Some(table) = existing_table(&catalog, &keyspace, &s.name.name, s.if_exists)? else {
        return Ok(None);
    };
    let mut def = table.def.clone();
    match &s.action {
        AlterTableAction::Add {
            if_not_exists,
            columns,
        } => {
            for column in columns {
                if def.column(&column.name).is_some() {
                    if *if_not_exists {
                        continue;
                    }
                    return Err(CqlError::invalid(format!(
                        "Column with name '{}' already exists",
                        column.name
                    )));
                }
                let types = catalog
                    .keyspace(&keyspace)
                    .map(|k| k.types.clone())
                    .unwrap_or_default();
                let ty = CqlType::parse(
                    &column.ty.to_string(),
                    &KeyspaceUdts::new(&keyspace, &types),
                )?;
                let kind = if column.is_static {
                    ColumnKind::Static
                } else {
                    ColumnKind::Regular
                };
                check_column_type(&column.name, &ty, kind)?;
                if let Some(dropped) = def.dropped_column_types.get(&column.name) {
                    check_readd(&column.name, &ty, kind, dropped, &keyspace, &types)?;
                }
                if column.is_static && def.clustering.is_empty() {
                    return Err(CqlError::invalid("Static columns are not allowed in COMPACT STORAGE tables or tables without clustering columns"));
                }
                def.columns.push(ColumnDef {
                    name: column.name.clone(),
                    type_text: ty.to_string(),
                    kind,
                    order: ClusteringOrder::Asc,
                });
            }
        }
        AlterTableAction::Drop {
            if_exists,
            columns,
            timestamp,
        } => {
            for name in columns {
                let Some(column) = def.column(name) else {
                    if *if_exists {
                        continue;
                    }
                    return Err(CqlError::invalid(format!(
                        "Column {name} was not found in table {}",
                        s.name.name
                    )));
                };
                if matches!(
                    column.kind,
                    ColumnKind::PartitionKey | ColumnKind::Clustering
                ) {
                    return Err(CqlError::invalid(format!(
                        "Cannot drop PRIMARY KEY column {name}"
                    )));
                }
                let dependents: Vec<&str> = table
                    .indexes
                    .iter()
                    .filter(|i| &i.column == name)
                    .map(|i| i.name.as_str())
                    .collect();
                if !dependents.is_empty() {
                    return Err(CqlError::invalid(format!(
                        "Cannot drop column {name} because it has dependent secondary indexes ({})",
                        dependents.join(", ")
                    )));
                }
                def.dropped_column_types.insert(
                    name.clone(),
                    DroppedColumn {
                        type_text: column.type_text.clone(),
                        kind: column.kind,
                    },
                );
                def.columns.retain(|c| &c.name != name);
                def.dropped_columns.insert(
                    name.clone(),
                    timestamp.unwrap_or_else(crate::clock::next_micros),
                );
            }
        }
        AlterTableAction::Rename { renames, .. } => {
            for (from, to) in renames {
                let Some(column) = def.columns.iter_mut().find(|c| &c.name == from) else {
                    return Err(CqlError::invalid(format!(
                        "Column {from} was not found in table {}",
                        s.name.name
                    )));
                };
                if !matches!(
                    column.kind,
                    ColumnKind::PartitionKey | ColumnKind::Clustering
                ) {
                    return Err(CqlError::invalid(format!(
                        "Cannot rename non PRIMARY KEY column {from}"
                    )));
                }
                column.name = to.clone();
                for list in [&mut def.partition_key, &mut def.clustering] {
                    for key in list.iter_mut().filter(|k| *k == from) {
                        *key = to.clone();
                    }
                }
            }
        }
        AlterTableAction::WithProperties(properties) => {
            if properties.iter().any(|p| p.name.as_str() == "id") {
                return Err(CqlError::Config("Cannot alter table id.".to_string()));
            }
            apply_table_properties(&mut def.options, properties)?
        }
        AlterTableAction::AlterColumnType { column, .. } => {
            return Err(CqlError::invalid(format!(
                "Altering column types is no longer supported (column {column})"
            )));
        }
        AlterTableAction::DropCompactStorage => {
            return Err(CqlError::invalid(
                "Cannot DROP COMPACT STORAGE on a table without it",
            ))
        }
    }
    def.normalise_column_order();
    ctx.node
        .commit_schema(&catalog, vec![SchemaWrite::PutTable(def)])
        .await?;
    Ok(Some(table_event(
        SchemaChangeType::Updated,
        &keyspace,
        &s.name.name,
    )))
}

pub async fn drop_table(ctx: &Context<'_>, s: &DropObject) -> CqlResult<DdlOutcome> {
    let keyspace = ctx.keyspace_of(&s.name)?;
    let _guard = ctx.node.schema().ddl_lock.lock().await;
    let catalog = ctx.node.catalog();
    let Some(table) = existing_table(&catalog, &keyspace, &s.name.name, s.if_exists)? else {
        return Ok(None);
    };
    if catalog.keyspace(&keyspace).is_some_and(|k| k.system) {
        return Err(CqlError::Unauthorized(format!(
            "{keyspace} keyspace is not user-modifiable."
        )));
    }
    if table.view.is_some() {
        return Err(CqlError::invalid("Cannot use DROP TABLE on a materialized view. Please use DROP MATERIALIZED VIEW instead."));
    }
    if !table.views.is_empty() {
        let views: Vec<String> = table
            .views
            .iter()
            .map(|v| format!("{keyspace}.{v}"))
            .collect();
        return Err(CqlError::invalid(format!(
            "Cannot drop table when materialized views still depend on it ({})",
            views.join(", ")
        )));
    }
    let mut writes = vec![SchemaWrite::DropTable {
        keyspace: keyspace.clone(),
        name: s.name.name.clone(),
    }];
    writes.extend(table.indexes.iter().map(|i| SchemaWrite::DropIndex {
        keyspace: i.keyspace.clone(),
        table: i.table.clone(),
        name: i.name.clone(),
    }));
    ctx.node.commit_schema(&catalog, writes).await?;
    Ok(Some(table_event(
        SchemaChangeType::Dropped,
        &keyspace,
        &s.name.name,
    )))
}

/// TRUNCATE swaps the table (and its indexes and views) onto fresh empty branches; the
/// metadata log's state machine releases the old ones (on every node).
pub async fn truncate(ctx: &Context<'_>, name: &QualifiedName) -> CqlResult<()> {
    let table = ctx.resolve_table(name)?;
    if table.def.keyspace.starts_with("system") {
        return Err(CqlError::Unauthorized(format!(
            "{} keyspace is not user-modifiable.",
            table.def.keyspace
        )));
    }
    // As Cassandra: every node truncates (all must be up), the others first.
    ctx.node.coordinator().truncate_others(table.def.id).await?;
    truncate_here(ctx, &table).await
}

/// This node's part of a TRUNCATE (what the `Truncate` verb runs on the other nodes).
pub async fn truncate_here(ctx: &Context<'_>, table: &Table) -> CqlResult<()> {
    let _guard = ctx.node.schema().ddl_lock.lock().await;
    let catalog = ctx.node.catalog();
    let fresh = || ctx.node.engine().clone_version(ROOT_VERSION);
    let mut writes = vec![SchemaWrite::PutTable(TableDef {
        data_version: fresh()?,
        ..table.def.clone()
    })];
    // The table's indexes and views describe its rows, so they are emptied with it.
    for index in &table.indexes {
        writes.push(SchemaWrite::PutIndex(IndexDef {
            data_version: fresh()?,
            ..index.clone()
        }));
    }
    for name in &table.views {
        let Some(view) = catalog.table(&table.def.keyspace, name) else {
            continue;
        };
        let Some(info) = view.view.clone() else {
            continue;
        };
        let def = TableDef {
            data_version: fresh()?,
            ..view.def.clone()
        };
        writes.push(SchemaWrite::PutView(ViewRecord {
            table: def,
            view: info,
        }));
    }
    // The table was resolved in the statement's catalog: the change is valid against it.
    ctx.node.commit_schema(&ctx.catalog, writes).await?;
    Ok(())
}
