//! Secondary indexes: CREATE/DROP INDEX, the layout of index entries, and index lookups
//! for SELECT.
//!
//! An index's entries live in their own engine branch, laid out as a hidden table whose
//! partition key is the indexed value and whose clustering is (base partition key,
//! base clustering), both as blobs. An entry says "this row may hold this value": reads
//! re-check every candidate row against the query's restrictions, so an entry left
//! behind by a write that lost a timestamp race never produces a wrong row.
//!
//! Invariants:
//! - Entries are written in the same `WriteCommand` as the base write that causes them
//!   (see `derived`), so they reach the same replicas the same way.
//! - An index belongs to one base table id; a re-created table of the same name does
//!   not inherit it.

use std::sync::Arc;

use strata_protocol::{Consistency, SchemaChange, SchemaChangeTarget, SchemaChangeType};

use crate::cluster::{Branch, ReadCommand, ReadTarget};
use crate::cql::ast::{
    self, CreateIndex, DropObject, Operator, Predicate, Relation, SelectStatement,
};
use crate::error::{CqlError, CqlResult};
use crate::exec::context::Context;
use crate::exec::context::DdlOutcome;
use crate::exec::expr::eval::{self, BoundValues, Receiver};
use crate::exec::plan::restrict::{
    Analyzer, PartitionKey, PartitionSelection, Restrictions, FILTERING_MESSAGE,
};
use crate::exec::plan::rows::{FullRow, RowAssembler};
use crate::schema::{
    indexed_type, ColumnDef, ColumnKind, IndexDef, IndexTargetKind, SchemaWrite, Table, TableSource,
};
use crate::storage::{ClusteringRange, Operation, PartitionUpdate};
use crate::types::{self, CqlType, NativeType};

/// Bound on the entries one index lookup reads.
const MAX_LOOKUP_ENTRIES: usize = 1_000_000;

/// The hidden table an index's entries are stored as (`Table::index_storage`).
pub fn storage_table(base: &Table, index: &IndexDef) -> CqlResult<Arc<Table>> {
    base.index_storage(index)
        .map(Arc::new)
        .map_err(CqlError::Server)
}

/// Splits a serialized collection into its elements (maps: key, value, key, value...).
fn collection_elements(value: &[u8], per_entry: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let read_int = |input: &[u8], at: usize| {
        input
            .get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map(i32::from_be_bytes)
    };
    let Some(count) = read_int(value, 0) else {
        return out;
    };
    let mut at = 4;
    for _ in 0..(count.max(0) as usize)
        .saturating_mul(per_entry)
        .min(value.len())
    {
        let Some(len) = read_int(value, at) else {
            break;
        };
        at += 4;
        let len = len.max(0) as usize;
        let Some(element) = value.get(at..at + len) else {
            break;
        };
        out.push(element.to_vec());
        at += len;
    }
    out
}

/// The index values of one column value: the value itself, or the elements, keys or
/// entries of a collection.
pub fn entry_values(column_type: &CqlType, kind: IndexTargetKind, value: &[u8]) -> Vec<Vec<u8>> {
    let is_map = matches!(column_type, CqlType::Map { .. });
    match kind {
        IndexTargetKind::Full => vec![value.to_vec()],
        IndexTargetKind::Simple if !column_type.is_multi_cell() => vec![value.to_vec()],
        IndexTargetKind::Keys if is_map => collection_elements(value, 2)
            .into_iter()
            .step_by(2)
            .collect(),
        IndexTargetKind::Simple | IndexTargetKind::Values if is_map => {
            collection_elements(value, 2)
                .into_iter()
                .skip(1)
                .step_by(2)
                .collect()
        }
        IndexTargetKind::Entries => {
            let parts = collection_elements(value, 2);
            parts
                .chunks_exact(2)
                .filter_map(|pair| match pair {
                    [key, value] => Some(pack_entry(key, value)),
                    _ => None,
                })
                .collect()
        }
        _ => collection_elements(value, 1),
    }
}

/// An `entries()` index value: the (key, value) tuple.
pub fn pack_entry(key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + key.len() + value.len());
    for part in [key, value] {
        out.extend_from_slice(&(part.len() as i32).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

/// The clustering of an entry: base partition key, then base clustering, as blobs.
fn entry_clustering(partition_key: &[u8], clustering: &[u8]) -> CqlResult<Vec<u8>> {
    let blob = CqlType::Native(NativeType::Blob);
    let mut out = Vec::new();
    types::encode_key_component(&blob, partition_key, false, &mut out)?;
    types::encode_key_component(&blob, clustering, false, &mut out)?;
    Ok(out)
}

/// The write adding (or removing) the entry `value → (partition_key, clustering)`.
pub fn entry_update(
    value: &[u8],
    partition_key: &[u8],
    clustering: &[u8],
    timestamp: i64,
    insert: bool,
) -> CqlResult<PartitionUpdate> {
    let entry = entry_clustering(partition_key, clustering)?;
    let operation = if insert {
        Operation::RowMarker { clustering: entry }
    } else {
        Operation::DeleteRange(ClusteringRange::prefix(&entry))
    };
    Ok(PartitionUpdate {
        token: strata_protocol::murmur3::token(value),
        partition_key: value.to_vec(),
        timestamp,
        ttl_secs: 0,
        operations: vec![operation],
    })
}

/// The entries of one base row for `index` (static indexes use an empty clustering).
pub fn row_entries(base: &Table, index: &IndexDef, row: &FullRow) -> Vec<Vec<u8>> {
    let Some(column) = base.column_index(&index.column) else {
        return Vec::new();
    };
    row.value(column)
        .zip(base.types.get(column))
        .map(|(v, ty)| entry_values(ty, index.target, v))
        .unwrap_or_default()
}

fn index_event(keyspace: &str, table: &str) -> SchemaChange {
    SchemaChange {
        change: SchemaChangeType::Updated,
        target: SchemaChangeTarget::Table {
            keyspace: keyspace.to_string(),
            name: table.to_string(),
        },
    }
}

fn target_kind(kind: ast::IndexTargetSyntax) -> IndexTargetKind {
    match kind {
        ast::IndexTargetSyntax::Simple => IndexTargetKind::Simple,
        ast::IndexTargetSyntax::Keys => IndexTargetKind::Keys,
        ast::IndexTargetSyntax::Values => IndexTargetKind::Values,
        ast::IndexTargetSyntax::Entries => IndexTargetKind::Entries,
        ast::IndexTargetSyntax::Full => IndexTargetKind::Full,
    }
}

/// Checks a target against its column like Cassandra's CreateIndexStatement.
fn check_target(
    table: &Table,
    column: &ColumnDef,
    ty: &CqlType,
    kind: IndexTargetKind,
) -> CqlResult<()> {
    let name = &column.name;
    if table.types.iter().any(CqlType::is_counter) {
        return Err(CqlError::invalid(
            "Secondary indexes on counter tables aren't supported",
        ));
    }
    if matches!(column.kind, ColumnKind::PartitionKey) && table.def.partition_key.len() == 1 {
        return Err(CqlError::invalid(format!(
            "Cannot create secondary index on the only partition key column {name}"
        )));
    }
    let collection = ty.is_collection();
    let frozen = collection && !ty.is_multi_cell();
    match kind {
        IndexTargetKind::Full if !frozen => Err(CqlError::invalid("full() indexes can only be created on frozen collections")),
        IndexTargetKind::Simple if frozen => Err(CqlError::invalid(format!(
            "Cannot create values() index on frozen column {name}. Frozen collections are immutable and must be fully indexed by using the 'full({name})' modifier"
        ))),
        IndexTargetKind::Keys | IndexTargetKind::Values | IndexTargetKind::Entries if !collection => Err(CqlError::invalid(format!(
            "Cannot create {}() index on {name}. Non-collection columns only support simple indexes",
            match kind {
                IndexTargetKind::Keys => "keys",
                IndexTargetKind::Values => "values",
                _ => "entries",
            }
        ))),
        IndexTargetKind::Keys | IndexTargetKind::Values | IndexTargetKind::Entries if frozen => Err(CqlError::invalid(format!(
            "Cannot create index on {} of frozen collection column {name}",
            match kind {
                IndexTargetKind::Keys => "keys",
                IndexTargetKind::Values => "values",
                _ => "entries",
            }
        ))),
        IndexTargetKind::Keys if !matches!(ty, CqlType::Map { .. }) => {
            Err(CqlError::invalid(format!("Cannot create index on keys of column {name} with non-map type")))
        }
        IndexTargetKind::Entries if !matches!(ty, CqlType::Map { .. }) => {
            Err(CqlError::invalid(format!("Cannot create index on entries of column {name} with non-map type")))
        }
        _ => Ok(()),
    }
}

fn default_name(table: &Table, column: &str) -> String {
    let base: String = format!("{}_{}_idx", table.def.name, column)
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let taken = |name: &str| table.indexes.iter().any(|i| i.name == name);
    if !taken(&base) {
        return base;
    }
    (1..)
        .map(|i| format!("{base}_{i}"))
        .find(|n| !taken(n))
        .unwrap_or(base)
}

pub async fn create_index(ctx: &Context<'_>, s: &CreateIndex) -> CqlResult<DdlOutcome> {
    if s.custom || s.using.is_some() {
        return Err(CqlError::invalid(
            "Custom secondary indexes are not supported by this node",
        ));
    }
    let [target] = s.targets.as_slice() else {
        return Err(CqlError::invalid(
            "Only CUSTOM indexes support multiple columns",
        ));
    };
    let keyspace = ctx.keyspace_of(&s.table)?;
    let _guard = ctx.node.schema().ddl_lock.lock().await;
    let catalog = ctx.node.catalog();
    let table = catalog
        .table(&keyspace, &s.table.name)
        .cloned()
        .ok_or_else(|| {
            CqlError::invalid(format!("Table '{keyspace}.{}' doesn't exist", s.table.name))
        })?;
    if table.source == TableSource::Virtual || keyspace.starts_with("system") {
        return Err(CqlError::Unauthorized(format!(
            "{keyspace} keyspace is not user-modifiable."
        )));
    }
    let column_index = table
        .column_index(&target.column)
        .ok_or_else(|| CqlError::invalid(format!("Column '{}' doesn't exist", target.column)))?;
    let (column, column_type) = table.column(column_index)?;
    let kind = target_kind(target.kind);
    check_target(&table, column, column_type, kind)?;
    let kind = match (kind, column_type.is_multi_cell()) {
        (IndexTargetKind::Simple, true) => IndexTargetKind::Values,
        (k, _) => k,
    };
    let name = s
        .name
        .clone()
        .unwrap_or_else(|| default_name(&table, &column.name));
    let name_taken = catalog.keyspace(&keyspace).is_some_and(|k| {
        k.tables
            .values()
            .any(|t| t.indexes.iter().any(|i| i.name == name))
    });
    if name_taken {
        if s.if_not_exists {
            return Ok(None);
        }
        return Err(CqlError::invalid(format!("Index '{name}' already exists")));
    }
    if let Some(existing) = table
        .indexes
        .iter()
        .find(|i| i.column == column.name && i.target == kind)
    {
        if s.if_not_exists {
            return Ok(None);
        }
        return Err(CqlError::invalid(format!(
            "Index {name} is a duplicate of existing index {}",
            existing.name
        )));
    }
    let def = IndexDef {
        keyspace: keyspace.clone(),
        table: table.def.name.clone(),
        table_id: table.def.id,
        name,
        column: column.name.clone(),
        target: kind,
        data_version: ctx
            .node
            .engine()
            .clone_version(strata_engine::ROOT_VERSION)?,
    };
    ctx.node
        .commit_schema(&catalog, vec![SchemaWrite::PutIndex(def.clone())])
        .await?;
    // Built once committed (see `backfill`).
    build(ctx, &table, &def).await?;
    Ok(Some(index_event(&keyspace, &table.def.name)))
}

/// Indexes the rows the table already holds.
async fn build(ctx: &Context<'_>, table: &Arc<Table>, index: &IndexDef) -> CqlResult<()> {
    let storage = Arc::new(storage_table(table, index)?);
    super::backfill::build_from_base(ctx, table, &storage, |row| {
        let key = partition_key_of(table, row);
        let clustering = if is_static(table, index) {
            Vec::new()
        } else {
            row.clustering.clone()
        };
        // Key cells carry no write time: the row's newest cell dates an entry for them.
        let timestamp = table
            .column_index(&index.column)
            .and_then(|i| row.cells.get(i)?.as_ref())
            .map_or(0, |c| c.timestamp);
        let timestamp = if timestamp == i64::MIN {
            row.cells
                .iter()
                .flatten()
                .map(|c| c.timestamp)
                .max()
                .unwrap_or(0)
                .max(0)
        } else {
            timestamp
        };
        row_entries(table, index, row)
            .iter()
            .map(|value| entry_update(value, &key.bytes, &clustering, timestamp, true))
            .collect()
    })
    .await
}

/// Whether the index is on a partition key component or a clustering column.
pub fn is_key_column(table: &Table, index: &IndexDef) -> bool {
    table
        .def
        .column(&index.column)
        .is_some_and(|c| matches!(c.kind, ColumnKind::PartitionKey | ColumnKind::Clustering))
}

pub fn is_static(table: &Table, index: &IndexDef) -> bool {
    table
        .def
        .column(&index.column)
        .is_some_and(|c| c.kind == ColumnKind::Static)
}

/// The partition key of a materialised row.
pub fn partition_key_of(table: &Table, row: &FullRow) -> PartitionKey {
    let components = table
        .partition_key_indexes()
        .iter()
        .map(|i| row.value(*i).unwrap_or_default().to_vec())
        .collect();
    PartitionKey::from_components(components)
}

pub async fn drop_index(ctx: &Context<'_>, s: &DropObject) -> CqlResult<DdlOutcome> {
    let keyspace = ctx.keyspace_of(&s.name)?;
    let _guard = ctx.node.schema().ddl_lock.lock().await;
    let catalog = ctx.node.catalog();
    let found = catalog.keyspace(&keyspace).and_then(|k| {
        k.tables
            .values()
            .find_map(|t| t.indexes.iter().find(|i| i.name == s.name.name).cloned())
    });
    let Some(index) = found else {
        if s.if_exists {
            return Ok(None);
        }
        return Err(CqlError::invalid(format!(
            "Index '{keyspace}.{}' doesn't exist",
            s.name.name
        )));
    };
    ctx.node
        .commit_schema(
            &catalog,
            vec![SchemaWrite::DropIndex {
                keyspace: keyspace.clone(),
                table: index.table.clone(),
                name: index.name.clone(),
            }],
        )
        .await?;
    Ok(Some(index_event(&keyspace, &index.table)))
}

/// An index a query can use, and the value to look up.
#[derive(Clone, Debug)]
pub struct IndexLookup {
    pub storage: Arc<Table>,
    pub value: Vec<u8>,
}

/// Whether `index` answers `relation` by itself: `=` on an indexed column (or a
/// one-column tuple), `CONTAINS` (values index), `CONTAINS KEY` (keys index) or
/// `m[k] = v` (entries index). Slices and IN are not, as with Cassandra's legacy indexes.
fn supports(index: &IndexDef, relation: &Relation) -> bool {
    let (column, wanted): (&str, &[IndexTargetKind]) = match relation {
        Relation::Column {
            column,
            predicate: Predicate::Compare(op, _),
        } => match op {
            Operator::Eq => (column, &[IndexTargetKind::Simple, IndexTargetKind::Full]),
            Operator::Contains => (column, &[IndexTargetKind::Values]),
            Operator::ContainsKey => (column, &[IndexTargetKind::Keys]),
            _ => return false,
        },
        Relation::MultiColumn {
            columns,
            predicate: Predicate::Compare(Operator::Eq, _),
        } => match columns.as_slice() {
            [column] => (column, &[IndexTargetKind::Simple]),
            _ => return false,
        },
        Relation::Element {
            column,
            op: Operator::Eq,
            ..
        } => (column, &[IndexTargetKind::Entries]),
        _ => return false,
    };
    index.column == column && wanted.contains(&index.target)
}

/// The value an index lookup for `relation` (which `index` supports) reads. A null or
/// unset value is refused with Cassandra's texts for an index expression.
fn lookup_value(
    table: &Table,
    index: &IndexDef,
    relation: &Relation,
    bound: &BoundValues,
) -> CqlResult<Option<Vec<u8>>> {
    let column = index.column.as_str();
    let Some(value_type) = table
        .column_type(column)
        .and_then(|ty| indexed_type(ty, index.target))
    else {
        return Ok(None);
    };
    let refused = |what: &str| {
        CqlError::invalid(format!(
            "Unsupported {what} value for indexed column {column}"
        ))
    };
    let required = |term: &ast::Term, name: &str, ty: &CqlType| -> CqlResult<Vec<u8>> {
        match eval::evaluate(term, &Receiver { name, ty }, bound)? {
            eval::Evaluated::Value(v) => Ok(v),
            eval::Evaluated::Null => Err(refused("null")),
            eval::Evaluated::Unset => Err(refused("unset")),
        }
    };
    let value = match relation {
        Relation::Element { key, value, .. } => {
            let CqlType::Tuple(parts) = &value_type else {
                return Ok(None);
            };
            let [key_type, entry_type] = parts.as_slice() else {
                return Ok(None);
            };
            let k = required(key, &format!("{column}[key]"), key_type)?;
            let v = required(value, column, entry_type)?;
            pack_entry(&k, &v)
        }
        Relation::MultiColumn {
            predicate: Predicate::Compare(_, ast::Term::Tuple(items)),
            ..
        } => match items.as_slice() {
            [item] => required(item, column, &value_type)?,
            _ => return Ok(None),
        },
        Relation::MultiColumn {
            predicate: Predicate::Compare(_, whole),
            ..
        } => {
            let tuple = CqlType::Tuple(vec![value_type.clone()]);
            let packed = required(whole, column, &tuple)?;
            crate::exec::expr::subselect::udt_field(&packed, 0).ok_or_else(|| refused("null"))?
        }
        Relation::Column {
            predicate: Predicate::Compare(_, term),
            ..
        } => required(term, column, &value_type)?,
        _ => return Ok(None),
    };
    Ok(Some(value))
}

/// Finds an index answering one relation of `where_clause` (see [`supports`]) and the
/// value to look up.
pub fn choose(
    table: &Table,
    where_clause: &[Relation],
    bound: &BoundValues,
) -> CqlResult<Option<IndexLookup>> {
    for relation in where_clause {
        let Some(index) = table.indexes.iter().find(|i| supports(i, relation)) else {
            continue;
        };
        let Some(value) = lookup_value(table, index, relation, bound)? else {
            continue;
        };
        return Ok(Some(IndexLookup {
            storage: storage_table(table, index)?,
            value,
        }));
    }
    Ok(None)
}

/// The base partitions (in index order, each once) and, per partition, the clusterings
/// whose rows may match; an empty clustering list means the whole partition.
async fn candidates(
    ctx: &Context<'_>,
    lookup: &IndexLookup,
    consistency: Consistency,
) -> CqlResult<Vec<(PartitionKey, Vec<Vec<u8>>)>> {
    let command = ReadCommand {
        table: lookup.storage.clone(),
        branch: Branch::Main,
        target: ReadTarget::Partition {
            token: strata_protocol::murmur3::token(&lookup.value),
            key: lookup.value.clone(),
            slices: vec![ClusteringRange {
                start: Vec::new(),
                end: None,
            }],
            reverse: false,
        },
        row_limit: MAX_LOOKUP_ENTRIES,
        per_partition_limit: None,
        resume_after: None,
        resume_partition_rows: 0,
        now_secs: crate::clock::now_secs(),
    };
    let result = ctx.node.coordinator().read(command, consistency).await?;
    let mut assembler = RowAssembler::new(&lookup.storage);
    let mut out: Vec<(PartitionKey, Vec<Vec<u8>>)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for row in result
        .items
        .into_iter()
        .filter_map(|item| assembler.push(item))
    {
        let (Some(pk), Some(ck)) = (row.value(1), row.value(2)) else {
            continue;
        };
        if seen.insert(pk.to_vec()) {
            let key = PartitionKey {
                token: strata_protocol::murmur3::token(pk),
                bytes: pk.to_vec(),
                components: Vec::new(),
            };
            out.push((key, Vec::new()));
        }
        if let Some(last) = out.last_mut().filter(|(k, _)| k.bytes == pk) {
            if !ck.is_empty() {
                last.1.push(ck.to_vec());
            }
        }
    }
    Ok(out)
}

/// Analyses a SELECT's WHERE clause, using an index when one answers a relation and the
/// partition key does not name the partitions. Whether the query needs ALLOW FILTERING
/// then follows Cassandra's rule for indexed queries ([`IndexUse`]); every relation,
/// the indexed one included, filters the candidate rows.
pub fn analyze(
    table: &Table,
    statement: &SelectStatement,
    bound: &BoundValues,
) -> CqlResult<(Restrictions, Option<IndexLookup>)> {
    let is_virtual = table.source == TableSource::Virtual;
    let analyzer = |allow_filtering: bool, indexed: bool| Analyzer {
        table,
        bound,
        allow_filtering: allow_filtering || is_virtual,
        indexed,
    };
    let relations = &statement.where_clause;
    let queriable = !is_virtual
        && statement.snapshot.is_none()
        && relations
            .iter()
            .any(|r| table.indexes.iter().any(|i| supports(i, r)));
    if !queriable {
        return Ok((
            analyzer(statement.allow_filtering, false).analyze(relations)?,
            None,
        ));
    }
    let restrictions = analyzer(true, true).analyze(relations)?;
    let usage = IndexUse::of(table, relations, &restrictions);
    if !statement.allow_filtering && usage.needs_filtering {
        return Err(CqlError::invalid(FILTERING_MESSAGE));
    }
    if usage.uses_index {
        usage.check_supported(table)?;
    }
    if matches!(restrictions.partitions, PartitionSelection::Keys(_)) {
        return Ok((restrictions, None));
    }
    let lookup = choose(table, relations, bound)?;
    Ok((restrictions, lookup))
}

/// Cassandra 5.0's view of a query some index could answer (`StatementRestrictions`
/// with legacy indexes, each its own index group): whether the index is used, and
/// whether the restrictions the index query must also check need ALLOW FILTERING.
struct IndexUse<'a> {
    uses_index: bool,
    needs_filtering: bool,
    partition_key: Vec<&'a Relation>,
    /// The clustering relations, when the index query checks them.
    checked_clustering: Vec<&'a Relation>,
}

impl<'a> IndexUse<'a> {
    fn of(table: &Table, relations: &'a [Relation], restrictions: &Restrictions) -> IndexUse<'a> {
        let kind = |name: &str| {
            table
                .column_index(name)
                .and_then(|i| table.def.columns.get(i))
                .map(|c| c.kind)
        };
        let mut token = false;
        let (mut partition_key, mut clustering, mut others) = (Vec::new(), Vec::new(), Vec::new());
        for relation in relations {
            match relation {
                Relation::Token { .. } => token = true,
                Relation::Column { column, .. } => match kind(column) {
                    Some(ColumnKind::PartitionKey) => partition_key.push(relation),
                    Some(ColumnKind::Clustering) => clustering.push(relation),
                    _ => others.push(relation),
                },
                Relation::MultiColumn { .. } => clustering.push(relation),
                _ => others.push(relation),
            }
        }
        let supported = |r: &&Relation| table.indexes.iter().any(|i| supports(i, r));
        let names_values = |r: &&Relation| {
            matches!(
                r,
                Relation::Column {
                    predicate: Predicate::Compare(Operator::Eq, _) | Predicate::In(_),
                    ..
                }
            )
        };
        let names_partitions = partition_key.iter().all(names_values)
            && table.def.partition_key.iter().all(|name| {
                partition_key
                    .iter()
                    .any(|r| matches!(r, Relation::Column { column, .. } if column == name))
            });
        // A partial or sliced partition key filters; an absent one reads every partition.
        let key_filtered = !partition_key.is_empty() && !names_partitions;
        let key_range = token || partition_key.is_empty() || key_filtered;
        let contains = |r: &&Relation| {
            matches!(
                r,
                Relation::Column {
                    predicate: Predicate::Compare(Operator::Contains | Operator::ContainsKey, _),
                    ..
                } | Relation::Element { .. }
            )
        };
        let clustering_filtered =
            restrictions.clustering_needs_filtering || clustering.iter().any(contains);
        let mut uses_index = (partition_key.is_empty() && !token) || key_filtered;
        // The restrictions the index query checks besides the index (`filterRestrictions`).
        let mut checked = Vec::new();
        if uses_index || key_filtered {
            checked.extend(partition_key.iter().copied());
        }
        if clustering_filtered || (key_range && clustering.iter().any(supported)) {
            uses_index = true;
        }
        let checked_clustering = if uses_index || clustering_filtered {
            clustering.clone()
        } else {
            Vec::new()
        };
        checked.extend(checked_clustering.iter().copied());
        if !others.is_empty() {
            uses_index = true;
            checked.extend(others.iter().copied());
        }
        // A legacy index serves one CONTAINS-like restriction at most.
        let multiple_contains = others.iter().filter(|r| contains(r)).count() > 1;
        let needs_filtering = (key_range || uses_index)
            && if checked.is_empty() {
                !clustering.is_empty()
            } else {
                multiple_contains
                    || !table
                        .indexes
                        .iter()
                        .any(|i| checked.iter().all(|r| supports(i, r)))
            };
        IndexUse {
            uses_index,
            needs_filtering,
            partition_key,
            checked_clustering,
        }
    }

    /// What an index query cannot combine with: IN on the partition key, and a
    /// single-column IN on a clustering column that a slice cannot serve (out of prefix
    /// order: Cassandra's `ClusteringColumnRestrictions.addToRowFilter` gives it to the
    /// row filter, which refuses IN).
    fn check_supported(&self, table: &Table) -> CqlResult<()> {
        let is_in = |r: &Relation| {
            matches!(
                r,
                Relation::Column {
                    predicate: Predicate::In(_),
                    ..
                }
            )
        };
        if self.partition_key.iter().any(|r| is_in(r)) {
            return Err(CqlError::invalid(
                "Select on indexed columns and with IN clause for the PRIMARY KEY are not supported",
            ));
        }
        let order = table.clustering_indexes();
        let position = |name: &str| {
            table
                .column_index(name)
                .and_then(|i| order.iter().position(|c| *c == i))
        };
        // (first position, end position, slice, single-column IN, CONTAINS)
        let mut spans: Vec<(usize, usize, bool, bool, bool)> = self
            .checked_clustering
            .iter()
            .filter_map(|r| {
                let (columns, predicate) = match r {
                    Relation::Column { column, predicate } => {
                        (std::slice::from_ref(column), predicate)
                    }
                    Relation::MultiColumn { columns, predicate } => (columns.as_slice(), predicate),
                    _ => return None,
                };
                let start = position(columns.first()?)?;
                let end = position(columns.last()?)? + 1;
                let (slice, contains) = match predicate {
                    Predicate::Compare(op, _) => (
                        matches!(
                            op,
                            Operator::Lt | Operator::LtEq | Operator::Gt | Operator::GtEq
                        ),
                        matches!(op, Operator::Contains | Operator::ContainsKey),
                    ),
                    Predicate::In(_) => (false, false),
                };
                Some((
                    start,
                    end,
                    slice,
                    matches!(r, Relation::Column { .. }) && is_in(r),
                    contains,
                ))
            })
            .collect();
        spans.sort_by_key(|s| s.0);
        let mut next = 0;
        for (start, end, slice, single_in, contains) in spans {
            if contains || start != next {
                if single_in {
                    return Err(CqlError::invalid(
                        "IN restrictions are not supported on indexed columns",
                    ));
                }
            } else if !slice {
                next = end;
            }
        }
        Ok(())
    }
}

/// The base partitions an index lookup reads, with the clustering slices to read in each:
/// the rows the index names when the query does not restrict clustering itself.
pub async fn targets(
    ctx: &Context<'_>,
    lookup: &IndexLookup,
    restrictions: &Restrictions,
    reverse: bool,
    consistency: Consistency,
) -> CqlResult<Vec<ReadTarget>> {
    let unrestricted =
        matches!(restrictions.slices.as_slice(), [s] if s.start.is_empty() && s.end.is_none());
    Ok(candidates(ctx, lookup, consistency)
        .await?
        .into_iter()
        .map(|(key, clusterings)| {
            let slices = if unrestricted && !clusterings.is_empty() {
                clusterings
                    .iter()
                    .map(|c| ClusteringRange::prefix(c))
                    .collect()
            } else {
                restrictions.slices.clone()
            };
            ReadTarget::Partition {
                token: key.token,
                key: key.bytes,
                slices,
                reverse,
            }
        })
        .collect())
}

/// `CREATE INDEX` text of an index, as DESCRIBE prints it.
pub fn create_statement(index: &IndexDef) -> String {
    use crate::types::maybe_quote_identifier as quote;
    format!(
        "CREATE INDEX {} ON {}.{} ({});",
        quote(&index.name),
        quote(&index.keyspace),
        quote(&index.table),
        index.target_text()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::NoUdts;

    fn list_of(elements: &[&[u8]]) -> Vec<u8> {
        let mut out = (elements.len() as i32).to_be_bytes().to_vec();
        for e in elements {
            out.extend_from_slice(&(e.len() as i32).to_be_bytes());
            out.extend_from_slice(e);
        }
        out
    }

    #[test]
    fn collection_values_keys_and_entries() {
        let map = CqlType::parse("map<text, int>", &NoUdts).expect("type");
        let value = list_of(&[b"a", &[0, 0, 0, 1], b"b", &[0, 0, 0, 2]])[..].to_vec();
        // A map's count is of entries, not elements.
        let mut value = value;
        value[..4].copy_from_slice(&2i32.to_be_bytes());
        assert_eq!(
            entry_values(&map, IndexTargetKind::Keys, &value),
            vec![b"a".to_vec(), b"b".to_vec()]
        );
        assert_eq!(
            entry_values(&map, IndexTargetKind::Values, &value),
            vec![vec![0, 0, 0, 1], vec![0, 0, 0, 2]]
        );
        assert_eq!(
            entry_values(&map, IndexTargetKind::Entries, &value).len(),
            2
        );
        let set = CqlType::parse("set<int>", &NoUdts).expect("type");
        assert_eq!(
            entry_values(&set, IndexTargetKind::Values, &list_of(&[&[0, 0, 0, 7]])),
            vec![vec![0, 0, 0, 7]]
        );
    }

    #[test]
    fn malformed_collections_yield_what_parses() {
        let set = CqlType::parse("set<int>", &NoUdts).expect("type");
        assert!(entry_values(&set, IndexTargetKind::Values, &[0, 0, 0, 9, 0]).is_empty());
        assert!(entry_values(&set, IndexTargetKind::Values, &[]).is_empty());
    }

    #[test]
    fn indexed_types() {
        let list = CqlType::parse("list<text>", &NoUdts).expect("type");
        assert_eq!(
            indexed_type(&list, IndexTargetKind::Values),
            Some(CqlType::Native(NativeType::Text))
        );
        assert_eq!(indexed_type(&list, IndexTargetKind::Entries), None);
        let frozen = CqlType::parse("frozen<list<text>>", &NoUdts).expect("type");
        assert_eq!(
            indexed_type(&frozen, IndexTargetKind::Full),
            Some(frozen.clone())
        );
    }
}
