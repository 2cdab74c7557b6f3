//! INSERT, UPDATE, DELETE and BATCH: turn statements into partition updates and send
//! them through the coordinator.
//!
//! Invariant: a statement (or a whole batch, across tables) becomes one `WriteCommand`,
//! and the local replica applies it as one atomic engine write.

use std::collections::BTreeMap;
use std::sync::Arc;

use strata_protocol::Consistency;

use super::eval::{evaluate, evaluate_required, BoundValues, Evaluated, Receiver};
use super::restrict::{Analyzer, PartitionKey, PartitionSelection, Restrictions};
use super::Context;
use crate::cluster::{TableWrite, WriteCommand};
use crate::cql::ast::{
    Assignment, BatchChild, BatchStatement, DeleteStatement, Deletion, InsertStatement, InsertValues, QualifiedName, Term,
    UpdateStatement, UsingClause,
};
use crate::error::{CqlError, CqlResult};
use crate::schema::{ColumnKind, Table, TableSource};
use crate::storage::{Operation, PartitionUpdate};
use crate::types::{self, CqlType, NativeType};

/// Cassandra's maximum TTL: 20 years.
const MAX_TTL_SECS: i64 = 630_720_000;

/// Write-level options from the protocol request.
#[derive(Clone, Copy, Debug)]
pub struct WriteOptions {
    pub consistency: Consistency,
    /// The client's default timestamp (µs), if it sent one.
    pub timestamp: Option<i64>,
}

/// Updates of one statement, keyed by table.
#[derive(Default)]
struct PendingWrites {
    by_table: BTreeMap<(String, String), (Arc<Table>, Vec<PartitionUpdate>)>,
}

impl PendingWrites {
    fn add(&mut self, table: &Arc<Table>, updates: Vec<PartitionUpdate>) {
        let key = (table.def.keyspace.clone(), table.def.name.clone());
        self.by_table.entry(key).or_insert_with(|| (table.clone(), Vec::new())).1.extend(updates);
    }

    async fn send(self, ctx: &Context<'_>, consistency: Consistency) -> CqlResult<()> {
        let mut command = WriteCommand::default();
        for (_, (table, updates)) in self.by_table {
            let version = ctx.head_version(&table)?;
            command.tables.push(TableWrite { table, version, updates });
        }
        if command.tables.is_empty() {
            return Ok(());
        }
        super::derived::add_derived_writes(ctx, &mut command, consistency).await?;
        Ok(ctx.node.coordinator.mutate(command, consistency).await?)
    }
}

pub async fn insert(ctx: &Context<'_>, statement: &InsertStatement, bound: &BoundValues, options: WriteOptions) -> CqlResult<()> {
    let mut pending = PendingWrites::default();
    let table = writable_table(ctx, &statement.table)?;
    let using = resolve_using(&statement.using, bound, options.timestamp, &table)?;
    reject_conditional(statement.if_not_exists)?;
    pending.add(&table, insert_updates(&table, statement, bound, &using)?);
    pending.send(ctx, options.consistency).await
}

pub async fn update(ctx: &Context<'_>, statement: &UpdateStatement, bound: &BoundValues, options: WriteOptions) -> CqlResult<()> {
    let mut pending = PendingWrites::default();
    let table = writable_table(ctx, &statement.table)?;
    let using = resolve_using(&statement.using, bound, options.timestamp, &table)?;
    reject_conditional(statement.condition.is_some())?;
    pending.add(&table, update_updates(&table, statement, bound, &using)?);
    pending.send(ctx, options.consistency).await
}

pub async fn delete(ctx: &Context<'_>, statement: &DeleteStatement, bound: &BoundValues, options: WriteOptions) -> CqlResult<()> {
    let mut pending = PendingWrites::default();
    let table = writable_table(ctx, &statement.table)?;
    let using = resolve_using(&UsingClause { ttl: None, timestamp: statement.timestamp.clone() }, bound, options.timestamp, &table)?;
    reject_conditional(statement.condition.is_some())?;
    pending.add(&table, delete_updates(&table, statement, bound, &using)?);
    pending.send(ctx, options.consistency).await
}

pub async fn batch(ctx: &Context<'_>, statement: &BatchStatement, bound: &BoundValues, options: WriteOptions) -> CqlResult<()> {
    let batch_using = resolve_timestamp(&statement.using, bound, options.timestamp)?;
    if statement.using.ttl.is_some() {
        return Err(CqlError::invalid("Global TTL on the BATCH statement is not supported."));
    }
    let mut pending = PendingWrites::default();
    for child in &statement.statements {
        add_batch_child(ctx, child, bound, batch_using, &mut pending)?;
    }
    pending.send(ctx, options.consistency).await
}

/// Adds one batch member's updates; used for batches of text and of prepared statements.
pub fn add_batch_member(
    ctx: &Context<'_>,
    child: &BatchChild,
    bound: &BoundValues,
    batch_timestamp: i64,
    pending: &mut BatchWrites,
) -> CqlResult<()> {
    add_batch_child(ctx, child, bound, batch_timestamp, &mut pending.0)
}

/// A protocol BATCH under construction (members may come from different prepared ids).
#[derive(Default)]
pub struct BatchWrites(PendingWrites);

impl BatchWrites {
    pub async fn send(self, ctx: &Context<'_>, consistency: Consistency) -> CqlResult<()> {
        self.0.send(ctx, consistency).await
    }
}

fn add_batch_child(ctx: &Context<'_>, child: &BatchChild, bound: &BoundValues, batch_timestamp: i64, pending: &mut PendingWrites) -> CqlResult<()> {
    // A member's own USING TIMESTAMP wins over the batch's default timestamp.
    let with_default = |using: &UsingClause, table: &Table| resolve_using(using, bound, Some(batch_timestamp), table);
    match child {
        BatchChild::Insert(s) => {
            let table = writable_table(ctx, &s.table)?;
            reject_conditional(s.if_not_exists)?;
            let using = with_default(&s.using, &table)?;
            pending.add(&table, insert_updates(&table, s, bound, &using)?);
        }
        BatchChild::Update(s) => {
            let table = writable_table(ctx, &s.table)?;
            reject_conditional(s.condition.is_some())?;
            let using = with_default(&s.using, &table)?;
            pending.add(&table, update_updates(&table, s, bound, &using)?);
        }
        BatchChild::Delete(s) => {
            let table = writable_table(ctx, &s.table)?;
            reject_conditional(s.condition.is_some())?;
            let using = with_default(&UsingClause { ttl: None, timestamp: s.timestamp.clone() }, &table)?;
            pending.add(&table, delete_updates(&table, s, bound, &using)?);
        }
    }
    Ok(())
}

fn reject_conditional(conditional: bool) -> CqlResult<()> {
    if conditional {
        return Err(CqlError::invalid("Conditional updates (IF ...) are not supported by this node yet"));
    }
    Ok(())
}

fn writable_table(ctx: &Context<'_>, name: &QualifiedName) -> CqlResult<Arc<Table>> {
    let table = ctx.resolve_table(name)?;
    if table.source == TableSource::Virtual || table.def.keyspace.starts_with("system") {
        return Err(CqlError::Unauthorized(format!("{} keyspace is not user-modifiable.", table.def.keyspace)));
    }
    Ok(table)
}

#[derive(Clone, Copy, Debug)]
struct ResolvedUsing {
    timestamp: i64,
    ttl_secs: u32,
}

/// The statement's timestamp: `USING TIMESTAMP`, else the client's default, else now.
fn resolve_timestamp(using: &UsingClause, bound: &BoundValues, client: Option<i64>) -> CqlResult<i64> {
    match &using.timestamp {
        Some(term) => integer(term, bound, NativeType::Bigint, "[timestamp]"),
        None => Ok(client.unwrap_or_else(crate::clock::next_micros)),
    }
}

fn resolve_using(using: &UsingClause, bound: &BoundValues, default_timestamp: Option<i64>, table: &Table) -> CqlResult<ResolvedUsing> {
    let timestamp = resolve_timestamp(using, bound, default_timestamp)?;
    let ttl = match &using.ttl {
        Some(term) => integer(term, bound, NativeType::Int, "[ttl]")?,
        None => i64::from(table.def.options.default_time_to_live),
    };
    if ttl < 0 {
        return Err(CqlError::invalid(format!("A TTL must be greater or equal to 0, but was {ttl}")));
    }
    if ttl > MAX_TTL_SECS {
        return Err(CqlError::invalid(format!("ttl is too large. requested ({ttl}) maximum ({MAX_TTL_SECS})")));
    }
    Ok(ResolvedUsing { timestamp, ttl_secs: ttl as u32 })
}

fn integer(term: &Term, bound: &BoundValues, ty: NativeType, name: &str) -> CqlResult<i64> {
    let ty = CqlType::Native(ty);
    let bytes = evaluate_required(term, &Receiver { name, ty: &ty }, bound, &format!("of {}", name.trim_matches(['[', ']'])))?;
    Ok(match bytes.len() {
        4 => i64::from(i32::from_be_bytes(bytes.as_slice().try_into().unwrap_or_default())),
        8 => i64::from_be_bytes(bytes.as_slice().try_into().unwrap_or_default()),
        _ => return Err(CqlError::invalid(format!("Invalid value for {name}"))),
    })
}

fn column_index(table: &Table, name: &str) -> CqlResult<usize> {
    table
        .column_index(name)
        .ok_or_else(|| CqlError::invalid(format!("Undefined column name {name} in table {}.{}", table.def.keyspace, table.def.name)))
}

fn receiver(table: &Table, index: usize) -> Receiver<'_> {
    Receiver { name: &table.def.columns[index].name, ty: &table.types[index] }
}

fn insert_updates(table: &Table, statement: &InsertStatement, bound: &BoundValues, using: &ResolvedUsing) -> CqlResult<Vec<PartitionUpdate>> {
    let InsertValues::Columns { columns, values } = &statement.values else {
        let (expanded, json_bound) = super::json::expand_insert(table, statement, bound)?;
        return insert_updates(table, &expanded, &json_bound, using);
    };
    if columns.len() != values.len() {
        return Err(CqlError::invalid("Unmatched column names/values"));
    }
    let mut evaluated: BTreeMap<usize, Evaluated> = BTreeMap::new();
    for (name, term) in columns.iter().zip(values) {
        let index = column_index(table, name)?;
        if evaluated.contains_key(&index) {
            return Err(CqlError::invalid(format!("Multiple definitions found for column {name}")));
        }
        if table.types[index].is_counter() {
            return Err(CqlError::invalid("INSERT statements are not allowed on counter tables, use UPDATE instead"));
        }
        evaluated.insert(index, evaluate(term, &receiver(table, index), bound)?);
    }
    let key_value = |index: usize, kind: &str| -> CqlResult<Vec<u8>> {
        let name = &table.def.columns[index].name;
        match evaluated.get(&index) {
            Some(Evaluated::Value(v)) => Ok(v.clone()),
            Some(Evaluated::Null) => Err(CqlError::invalid(format!("Invalid null value in condition for column {name}"))),
            Some(Evaluated::Unset) => Err(CqlError::invalid(format!("Invalid unset value for column {name}"))),
            None => Err(CqlError::invalid(format!("Some {kind} are missing: {name}"))),
        }
    };
    let components = table.partition_key_indexes().into_iter().map(|i| key_value(i, "partition key parts")).collect::<CqlResult<Vec<_>>>()?;
    let clustering_values = table.clustering_indexes().into_iter().map(|i| Ok((i, key_value(i, "clustering keys")?))).collect::<CqlResult<Vec<_>>>()?;
    let clustering = encode_clustering(table, &clustering_values)?;
    let mut operations = vec![Operation::RowMarker { clustering: clustering.clone() }];
    for (index, value) in evaluated {
        let column = &table.def.columns[index];
        let target = match column.kind {
            ColumnKind::PartitionKey | ColumnKind::Clustering => continue,
            ColumnKind::Static => None,
            ColumnKind::Regular => Some(clustering.clone()),
        };
        match value {
            Evaluated::Unset => {}
            value => operations.push(Operation::Cell { clustering: target, column: column.name.clone(), value: stored_value(&table.types[index], value) }),
        }
    }
    let key = PartitionKey::from_components(components);
    Ok(vec![partition_update(key, using, operations)])
}

/// The bytes to store for a column value; an empty non-frozen collection has no cells in
/// Cassandra, so it is stored as a deletion and reads back as null.
fn stored_value(ty: &CqlType, value: Evaluated) -> Option<Vec<u8>> {
    let is_empty_collection = |v: &Vec<u8>| v.as_slice() == [0, 0, 0, 0];
    value.into_option().filter(|v| !(ty.is_multi_cell() && is_empty_collection(v)))
}

fn partition_update(key: PartitionKey, using: &ResolvedUsing, operations: Vec<Operation>) -> PartitionUpdate {
    PartitionUpdate { token: key.token, partition_key: key.bytes, timestamp: using.timestamp, ttl_secs: using.ttl_secs, operations }
}

fn encode_clustering(table: &Table, values: &[(usize, Vec<u8>)]) -> CqlResult<Vec<u8>> {
    let mut out = Vec::new();
    for (index, value) in values {
        let desc = table.def.columns[*index].order == crate::schema::ClusteringOrder::Desc;
        types::encode_key_component(&table.types[*index], value, desc, &mut out)?;
    }
    Ok(out)
}

/// The partitions of an UPDATE/DELETE WHERE clause; every partition key column must be
/// restricted by EQ or IN.
fn target_partitions(table: &Table, restrictions: &Restrictions) -> CqlResult<Vec<PartitionKey>> {
    match &restrictions.partitions {
        PartitionSelection::Keys(keys) => Ok(keys.clone()),
        PartitionSelection::TokenRange { .. } => {
            let missing: Vec<&str> = table.def.partition_key.iter().map(String::as_str).collect();
            Err(CqlError::invalid(format!("Some partition key parts are missing: {}", missing.join(", "))))
        }
    }
}

fn analyze(table: &Table, relations: &[crate::cql::ast::Relation], bound: &BoundValues) -> CqlResult<Restrictions> {
    let restrictions = Analyzer { table, bound, allow_filtering: false }.analyze(relations)?;
    if !restrictions.filters.is_empty() {
        return Err(CqlError::invalid("Non PRIMARY KEY columns found in where clause"));
    }
    Ok(restrictions)
}

fn update_updates(table: &Table, statement: &UpdateStatement, bound: &BoundValues, using: &ResolvedUsing) -> CqlResult<Vec<PartitionUpdate>> {
    let restrictions = analyze(table, &statement.where_clause, bound)?;
    let keys = target_partitions(table, &restrictions)?;
    let mut cells = Vec::new();
    for assignment in &statement.assignments {
        let Assignment::Set { column, value } = assignment else {
            return Err(CqlError::invalid("Collection and counter operations are not supported by this node yet"));
        };
        let index = column_index(table, column)?;
        let def = &table.def.columns[index];
        if matches!(def.kind, ColumnKind::PartitionKey | ColumnKind::Clustering) {
            return Err(CqlError::invalid(format!("PRIMARY KEY part {column} found in SET part")));
        }
        let value = evaluate(value, &receiver(table, index), bound)?;
        if value != Evaluated::Unset {
            cells.push((def.name.clone(), def.kind == ColumnKind::Static, stored_value(&table.types[index], value)));
        }
    }
    let only_static = cells.iter().all(|(_, is_static, _)| *is_static) && !cells.is_empty();
    let clusterings = row_clusterings(table, &restrictions, only_static)?;
    Ok(keys
        .into_iter()
        .map(|key| {
            let mut operations = Vec::new();
            for (name, is_static, value) in &cells {
                if *is_static {
                    operations.push(Operation::Cell { clustering: None, column: name.clone(), value: value.clone() });
                } else {
                    for c in &clusterings {
                        operations.push(Operation::Cell { clustering: Some(c.clone()), column: name.clone(), value: value.clone() });
                    }
                }
            }
            partition_update(key, using, operations)
        })
        .collect())
}

/// The rows an UPDATE or a column DELETE touches: every clustering column must be given.
fn row_clusterings(table: &Table, restrictions: &Restrictions, only_static: bool) -> CqlResult<Vec<Vec<u8>>> {
    if table.def.clustering.is_empty() {
        return Ok(vec![Vec::new()]);
    }
    if only_static && !restrictions.has_clustering_restriction {
        return Ok(Vec::new());
    }
    if restrictions.clusterings.is_empty() {
        let missing = table.def.clustering.first().cloned().unwrap_or_default();
        return Err(CqlError::invalid(format!("Some clustering keys are missing: {missing}")));
    }
    Ok(restrictions.clusterings.clone())
}

fn delete_updates(table: &Table, statement: &DeleteStatement, bound: &BoundValues, using: &ResolvedUsing) -> CqlResult<Vec<PartitionUpdate>> {
    let restrictions = analyze(table, &statement.where_clause, bound)?;
    let keys = target_partitions(table, &restrictions)?;
    let operations = if statement.columns.is_empty() {
        whole_row_deletions(table, &restrictions)
    } else {
        column_deletions(table, statement, &restrictions)?
    };
    Ok(keys.into_iter().map(|key| partition_update(key, using, operations.clone())).collect())
}

fn whole_row_deletions(table: &Table, restrictions: &Restrictions) -> Vec<Operation> {
    if !restrictions.has_clustering_restriction || table.def.clustering.is_empty() {
        return vec![Operation::DeletePartition];
    }
    restrictions.slices.iter().cloned().map(Operation::DeleteRange).collect::<Vec<_>>()
}

fn column_deletions(table: &Table, statement: &DeleteStatement, restrictions: &Restrictions) -> CqlResult<Vec<Operation>> {
    let mut columns = Vec::new();
    for deletion in &statement.columns {
        let Deletion::Column(name) = deletion else {
            return Err(CqlError::invalid("Deleting collection elements or fields is not supported by this node yet"));
        };
        let index = column_index(table, name)?;
        let def = &table.def.columns[index];
        if matches!(def.kind, ColumnKind::PartitionKey | ColumnKind::Clustering) {
            return Err(CqlError::invalid(format!("Invalid identifier {name} for deletion (should not be a PRIMARY KEY part)")));
        }
        columns.push((def.name.clone(), def.kind == ColumnKind::Static));
    }
    let only_static = columns.iter().all(|(_, s)| *s);
    let clusterings = row_clusterings(table, restrictions, only_static)?;
    let mut operations = Vec::new();
    for (name, is_static) in columns {
        if is_static {
            operations.push(Operation::Cell { clustering: None, column: name, value: None });
            continue;
        }
        for c in &clusterings {
            operations.push(Operation::Cell { clustering: Some(c.clone()), column: name.clone(), value: None });
        }
    }
    Ok(operations)
}
