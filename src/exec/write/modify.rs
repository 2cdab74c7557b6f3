//! INSERT, UPDATE, DELETE and BATCH: turn statements into partition updates and send
//! them through the coordinator.
//!
//! Invariant: a statement (or a whole batch, across tables) becomes one `WriteCommand`,
//! and the local replica applies it as one atomic engine write.

use std::collections::BTreeMap;
use std::sync::Arc;

use strata_protocol::{Consistency, ResultBody};

use super::cas::{self, partition_read, CasCondition, CheckedRow, PartitionData};
use super::multicell::{assignment_change, deletion_change, whole_value_change, ColumnChange};
use crate::cluster::{Branch, ReadResult, TableWrite, WriteCommand};
use crate::cql::ast::{
    Assignment, BatchChild, BatchKind, BatchStatement, DeleteStatement, Deletion, InsertStatement,
    InsertValues, QualifiedName, Relation, Term, UpdateCondition, UpdateStatement, UsingClause,
};
use crate::error::{CqlError, CqlResult};
use crate::exec::context::Context;
use crate::exec::expr::eval::{evaluate, BoundValues, Evaluated, Receiver};
use crate::exec::plan::restrict::{Analyzer, PartitionKey, PartitionSelection, Restrictions};
use crate::schema::{ColumnKind, Table, TableSource};
use crate::storage::{Operation, PartitionUpdate};
use crate::types::{self, CqlType, NativeType};

/// Cassandra's maximum TTL: 20 years.
const MAX_TTL_SECS: i64 = 630_720_000;

/// Write-level options from the protocol request.
#[derive(Clone, Copy, Debug)]
pub struct WriteOptions {
    pub consistency: Consistency,
    /// The level of the Paxos phases of a conditional write (the request's
    /// `serial_consistency`, SERIAL when it sent none).
    pub serial_consistency: Consistency,
    /// The client's default timestamp (µs), if it sent one.
    pub timestamp: Option<i64>,
}

/// Updates of one statement or batch, keyed by table.
#[derive(Default)]
struct PendingWrites {
    by_table: BTreeMap<(String, String), (Arc<Table>, Vec<PartitionUpdate>)>,
}

impl PendingWrites {
    fn add(&mut self, table: &Arc<Table>, updates: Vec<PartitionUpdate>) {
        let key = (table.def.keyspace.clone(), table.def.name.clone());
        self.by_table
            .entry(key)
            .or_insert_with(|| (table.clone(), Vec::new()))
            .1
            .extend(updates);
    }

    fn command(self) -> WriteCommand {
        let mut command = WriteCommand::default();
        for (_, (table, updates)) in self.by_table {
            command.tables.push(TableWrite {
                table,
                branch: Branch::Main,
                updates,
            });
        }
        command
    }
}

/// One statement's writes before they are placed in partitions: which partitions and
/// rows, and what happens to each column.
/// The row whose existence and cells a conditional write checks. A DELETE of a table
/// without clustering columns names no row, yet the partition's one row is the one checked.
fn checked_row(write: &StatementWrite) -> Option<Vec<u8>> {
    write
        .clusterings
        .first()
        .cloned()
        .or_else(|| write.table.def.clustering.is_empty().then(Vec::new))
}

struct StatementWrite {
    table: Arc<Table>,
    keys: Vec<PartitionKey>,
    using: ResolvedUsing,
    /// The rows regular-column changes apply to (static changes go to the static row).
    clusterings: Vec<Vec<u8>>,
    /// INSERT writes row liveness.
    row_marker: bool,
    /// Whole-row and whole-partition deletions.
    deletions: Vec<Operation>,
    changes: Vec<(usize, ColumnChange)>,
    condition: Option<CasCondition>,
    /// The statement named its own timestamp (`USING TIMESTAMP`).
    explicit_timestamp: bool,
}

impl StatementWrite {
    fn new(
        table: Arc<Table>,
        keys: Vec<PartitionKey>,
        using: ResolvedUsing,
        explicit_timestamp: bool,
    ) -> StatementWrite {
        StatementWrite {
            table,
            keys,
            using,
            clusterings: Vec::new(),
            row_marker: false,
            deletions: Vec::new(),
            changes: Vec::new(),
            condition: None,
            explicit_timestamp,
        }
    }

    fn needs_current_values(&self) -> bool {
        self.changes.iter().any(|(_, c)| c.needs_current_value())
    }

    fn is_counter(&self) -> bool {
        is_counter_table(&self.table)
    }

    /// The partition updates at `timestamp`; `current(i)` is the current state of
    /// partition `keys[i]` when `needs_current_values`.
    fn updates(
        &self,
        timestamp: i64,
        current: &dyn Fn(usize) -> Option<PartitionData>,
    ) -> CqlResult<Vec<PartitionUpdate>> {
        let mut updates = Vec::with_capacity(self.keys.len());
        for (position, key) in self.keys.iter().enumerate() {
            let data = if self.needs_current_values() {
                current(position)
            } else {
                None
            };
            let mut operations = self.deletions.clone();
            if self.row_marker {
                operations.extend(self.clusterings.iter().map(|c| Operation::RowMarker {
                    clustering: c.clone(),
                }));
            }
            for (index, change) in &self.changes {
                let (column, _) = self.table.column(*index)?;
                let cell = |clustering: Option<&[u8]>| {
                    data.as_ref()
                        .and_then(|d| d.cell(&self.table, *index, clustering))
                };
                if column.kind == ColumnKind::Static {
                    operations.extend(change.operations(
                        None,
                        &column.name,
                        timestamp,
                        cell(None),
                    )?);
                    continue;
                }
                for clustering in &self.clusterings {
                    operations.extend(change.operations(
                        Some(clustering.clone()),
                        &column.name,
                        timestamp,
                        cell(Some(clustering)),
                    )?);
                }
            }
            let using = ResolvedUsing {
                timestamp,
                ..self.using
            };
            updates.push(partition_update(key.clone(), &using, operations));
        }
        Ok(updates)
    }
}

fn is_counter_table(table: &Table) -> bool {
    table.types.iter().any(CqlType::is_counter)
}

/// Reads the current state of every partition of `write` (list operations read before
/// they write, as in Cassandra).
async fn current_partitions(
    ctx: &Context<'_>,
    write: &StatementWrite,
    consistency: Consistency,
) -> CqlResult<Vec<PartitionData>> {
    let mut out = Vec::with_capacity(write.keys.len());
    for key in &write.keys {
        let command = partition_read(&write.table, Branch::Main, key, &write.clusterings);
        let result = ctx.node.coordinator().read(command, consistency).await?;
        out.push(PartitionData::from_items(result.items));
    }
    Ok(out)
}

/// Applies unconditional statement writes as one atomic write.
async fn apply(
    ctx: &Context<'_>,
    writes: Vec<StatementWrite>,
    consistency: Consistency,
) -> CqlResult<()> {
    let mut pending = PendingWrites::default();
    for write in writes.iter().filter(|w| w.is_counter()) {
        ctx.require_single_replica(
            &write.table.def.keyspace,
            "Counter updates are",
            "counter replication",
        )?;
    }
    for write in &writes {
        let current = if write.needs_current_values() {
            // Boxed, as every rarely taken await below: a write's future is moved whole
            // into the connection's set, so its size is copied on every request.
            Box::pin(current_partitions(ctx, write, consistency)).await?
        } else {
            Vec::new()
        };
        pending.add(
            &write.table,
            write.updates(write.using.timestamp, &|i| current.get(i).cloned())?,
        );
    }
    let mut command = pending.command();
    if command.tables.is_empty() {
        return Ok(());
    }
    crate::exec::derived::hook::add_derived_writes(ctx, &mut command, consistency).await?;
    Ok(ctx.node.coordinator().mutate(command, consistency).await?)
}

/// Runs conditional statement writes (one statement, or a batch) as one compare-and-set
/// on their single partition, at `options.serial_consistency`, committed at
/// `options.consistency`.
async fn apply_conditional(
    ctx: &Context<'_>,
    writes: Vec<StatementWrite>,
    is_batch: bool,
    options: WriteOptions,
) -> CqlResult<ResultBody> {
    let serial_consistency = options.serial_consistency;
    if !matches!(
        serial_consistency,
        Consistency::Serial | Consistency::LocalSerial
    ) {
        return Err(CqlError::invalid(
            "Invalid consistency for conditional update. Must be one of SERIAL or LOCAL_SERIAL",
        ));
    }
    let first = writes
        .first()
        .ok_or_else(|| CqlError::invalid("Empty conditional batch"))?;
    let table = first.table.clone();
    if !table.indexes.is_empty() || !table.views.is_empty() {
        // Their entries live in other partitions, on other replicas, than the Paxos round
        // commits to.
        ctx.require_single_replica(
            &table.def.keyspace,
            "Conditional statements (IF) on tables with secondary indexes or materialized views are",
            "index and view maintenance under Paxos",
        )?;
    }
    let [key] = first.keys.as_slice() else {
        return Err(CqlError::invalid(
            "IN on the partition key is not supported with conditional updates",
        ));
    };
    let key = key.clone();
    for write in &writes {
        if write.table.def.keyspace != table.def.keyspace || write.table.def.name != table.def.name
        {
            return Err(CqlError::invalid(
                "Batch with conditions cannot span multiple tables",
            ));
        }
        if !matches!(write.keys.as_slice(), [only] if only.bytes == key.bytes) {
            return Err(CqlError::invalid(if is_batch {
                "Batch with conditions cannot span multiple partitions"
            } else {
                "IN on the partition key is not supported with conditional updates"
            }));
        }
        if write.clusterings.len() > 1 {
            return Err(CqlError::invalid(
                "IN on the clustering key columns is not supported with conditional updates",
            ));
        }
        if write.is_counter() {
            return Err(CqlError::invalid(
                "Conditional updates are not supported on counter tables",
            ));
        }
        if write.explicit_timestamp {
            return Err(CqlError::invalid(
                "Cannot provide custom timestamp for conditional updates",
            ));
        }
    }
    let mut clusterings: Vec<Vec<u8>> = writes
        .iter()
        .flat_map(|w| w.clusterings.iter().cloned().chain(checked_row(w)))
        .collect();
    clusterings.sort();
    clusterings.dedup();
    let read = partition_read(&table, Branch::Main, &key, &clusterings);
    let decide =
        |result: ReadResult, timestamp: i64| -> CqlResult<(Option<WriteCommand>, ResultBody)> {
            // Index and view maintenance needs the rows as read (see `derived`).
            let items = if table.indexes.is_empty() && table.views.is_empty() {
                Vec::new()
            } else {
                result.items.clone()
            };
            let data = PartitionData::from_items(result.items);
            let checked: Vec<CheckedRow<'_>> = writes
                .iter()
                .filter_map(|w| {
                    let condition = w.condition.as_ref()?;
                    let clustering = if condition.is_static_only(&w.table) {
                        None
                    } else {
                        checked_row(w)
                    };
                    Some(CheckedRow {
                        condition,
                        clustering,
                    })
                })
                .collect();
            let mut applied = true;
            for row in &checked {
                applied &= row
                    .condition
                    .holds(&table, &data, row.clustering.as_deref())?;
            }
            let body = cas::result(&table, &key, &data, &checked, applied, is_batch)?;
            if !applied {
                return Ok((None, body));
            }
            let mut updates = Vec::new();
            for write in &writes {
                updates.extend(write.updates(timestamp, &|_| Some(data.clone()))?);
            }
            let mut command = WriteCommand {
                tables: vec![TableWrite {
                    table: table.clone(),
                    branch: Branch::Main,
                    updates,
                }],
            };
            crate::exec::derived::hook::add_conditional_derived_writes(ctx, &mut command, &items)?;
            Ok((Some(command), body))
        };
    ctx.node
        .coordinator()
        .cas(
            key.token,
            read,
            serial_consistency,
            options.consistency,
            decide,
        )
        .await
}

/// One INSERT, UPDATE or DELETE, alone or as a member of a batch.
#[derive(Clone, Copy)]
pub enum Modification<'a> {
    Insert(&'a InsertStatement),
    Update(&'a UpdateStatement),
    Delete(&'a DeleteStatement),
}

impl<'a> From<&'a BatchChild> for Modification<'a> {
    fn from(child: &'a BatchChild) -> Self {
        match child {
            BatchChild::Insert(s) => Modification::Insert(s),
            BatchChild::Update(s) => Modification::Update(s),
            BatchChild::Delete(s) => Modification::Delete(s),
        }
    }
}

/// Runs one INSERT, UPDATE or DELETE outside a batch.
pub async fn modify(
    ctx: &Context<'_>,
    statement: Modification<'_>,
    bound: &BoundValues,
    options: WriteOptions,
) -> CqlResult<ResultBody> {
    let write = statement_write(ctx, statement, bound, options.timestamp)?;
    run_one(ctx, write, options).await
}

/// The statement's updates, at its own USING TIMESTAMP or else `default_timestamp`.
fn statement_write(
    ctx: &Context<'_>,
    statement: Modification<'_>,
    bound: &BoundValues,
    default_timestamp: Option<i64>,
) -> CqlResult<StatementWrite> {
    let (name, using) = match statement {
        Modification::Insert(s) => (&s.table, s.using.clone()),
        Modification::Update(s) => (&s.table, s.using.clone()),
        Modification::Delete(s) => (&s.table, delete_using(s)),
    };
    let table = writable_table(ctx, name)?;
    let using = resolve_using(&using, bound, default_timestamp, &table)?;
    match statement {
        Modification::Insert(s) => insert_write(&table, s, bound, using),
        Modification::Update(s) => update_write(&table, s, bound, using),
        Modification::Delete(s) => delete_write(&table, s, bound, using),
    }
}

async fn run_one(
    ctx: &Context<'_>,
    write: StatementWrite,
    options: WriteOptions,
) -> CqlResult<ResultBody> {
    if write.condition.is_some() {
        let conditional = apply_conditional(ctx, vec![write], false, options);
        return Box::pin(conditional).await;
    }
    apply(ctx, vec![write], options.consistency).await?;
    Ok(ResultBody::Void)
}

fn delete_using(statement: &DeleteStatement) -> UsingClause {
    UsingClause {
        ttl: None,
        timestamp: statement.timestamp.clone(),
    }
}

pub async fn batch(
    ctx: &Context<'_>,
    statement: &BatchStatement,
    bound: &BoundValues,
    options: WriteOptions,
) -> CqlResult<ResultBody> {
    let batch_using = resolve_timestamp(&statement.using, bound, options.timestamp)?;
    if statement.using.ttl.is_some() {
        return Err(CqlError::invalid(
            "Global TTL on the BATCH statement is not supported.",
        ));
    }
    let mut writes = BatchWrites::new(statement.kind, statement.using.timestamp.is_some());
    for child in &statement.statements {
        add_batch_member(ctx, child, bound, batch_using, &mut writes)?;
    }
    writes.send(ctx, options).await
}

/// Adds one batch member's writes; used for batches of text and of prepared statements.
pub fn add_batch_member(
    ctx: &Context<'_>,
    child: &BatchChild,
    bound: &BoundValues,
    batch_timestamp: i64,
    batch: &mut BatchWrites,
) -> CqlResult<()> {
    // A member's own USING TIMESTAMP wins over the batch's default timestamp.
    let write = statement_write(ctx, child.into(), bound, Some(batch_timestamp))?;
    batch.add(write);
    Ok(())
}

/// A BATCH under construction (members may come from different prepared ids).
pub struct BatchWrites {
    kind: BatchKind,
    explicit_timestamp: bool,
    writes: Vec<StatementWrite>,
}

impl BatchWrites {
    /// `explicit_timestamp`: the batch itself names a timestamp.
    pub fn new(kind: BatchKind, explicit_timestamp: bool) -> BatchWrites {
        BatchWrites {
            kind,
            explicit_timestamp,
            writes: Vec::new(),
        }
    }

    /// Adds a member; the batch's rules apply once every member is in (`check`).
    fn add(&mut self, write: StatementWrite) {
        self.writes.push(write);
    }

    /// Cassandra's rules on a batch's timestamp, conditions and counters, checked on the
    /// whole batch in the order of its `BatchStatement.validate` (so a batch breaking
    /// several gets the same message).
    fn check(&self) -> CqlResult<()> {
        let counters = self.writes.iter().filter(|w| w.is_counter()).count();
        let has_counters = counters > 0;
        let has_non_counters = counters < self.writes.len();
        let timestamp = self.explicit_timestamp;
        let message = if timestamp && self.writes.iter().any(|w| w.condition.is_some()) {
            "Cannot provide custom timestamp for conditional BATCH"
        } else if timestamp && self.kind == BatchKind::Counter {
            "Cannot provide custom timestamp for counter BATCH"
        } else if timestamp && self.writes.iter().any(|w| w.explicit_timestamp) {
            "Timestamp must be set either on BATCH or individual statements"
        } else if timestamp && has_counters {
            "Cannot provide custom timestamp for a BATCH containing counters"
        } else if self.kind == BatchKind::Counter && has_non_counters {
            "Cannot include non-counter statement in a counter batch"
        } else if has_counters && has_non_counters {
            "Counter and non-counter mutations cannot exist in the same batch"
        } else if self.kind == BatchKind::Logged && has_counters {
            "Cannot include a counter statement in a logged batch"
        } else {
            return Ok(());
        };
        Err(CqlError::invalid(message))
    }

    /// Applies the batch atomically; a batch with conditions answers `[applied]`.
    pub async fn send(self, ctx: &Context<'_>, options: WriteOptions) -> CqlResult<ResultBody> {
        self.check()?;
        if self.writes.iter().any(|w| w.condition.is_some()) {
            return apply_conditional(ctx, self.writes, true, options).await;
        }
        apply(ctx, self.writes, options.consistency).await?;
        Ok(ResultBody::Void)
    }
}

fn writable_table(ctx: &Context<'_>, name: &QualifiedName) -> CqlResult<Arc<Table>> {
    let table = ctx.resolve_table(name)?;
    let internal_auth_write = ctx.internal && table.def.keyspace == "system_auth";
    if table.source == TableSource::Virtual
        || (table.def.keyspace.starts_with("system") && !internal_auth_write)
    {
        return Err(CqlError::Unauthorized(format!(
            "{} keyspace is not user-modifiable.",
            table.def.keyspace
        )));
    }
    Ok(table)
}

#[derive(Clone, Copy, Debug)]
struct ResolvedUsing {
    timestamp: i64,
    ttl_secs: u32,
}

/// The statement's timestamp: `USING TIMESTAMP` (an unset marker counts as absent), else
/// the client's default, else now.
fn resolve_timestamp(
    using: &UsingClause,
    bound: &BoundValues,
    client: Option<i64>,
) -> CqlResult<i64> {
    let given = match &using.timestamp {
        Some(term) => using_value(term, bound, NativeType::Bigint, "[timestamp]", None)?,
        None => None,
    };
    // Long.MIN_VALUE is reserved (Cassandra's "no timestamp"), so refused.
    if given == Some(i64::MIN) {
        return Err(CqlError::invalid(format!(
            "Out of bound timestamp, must be in [{}, {}]",
            i64::MIN + 1,
            i64::MAX
        )));
    }
    Ok(given.unwrap_or_else(|| client.unwrap_or_else(crate::clock::next_micros)))
}

fn resolve_using(
    using: &UsingClause,
    bound: &BoundValues,
    default_timestamp: Option<i64>,
    table: &Table,
) -> CqlResult<ResolvedUsing> {
    let timestamp = resolve_timestamp(using, bound, default_timestamp)?;
    // Cassandra's Attributes.getTimeToLive: null is no TTL, unset the table's default.
    let ttl = match &using.ttl {
        Some(term) => using_value(term, bound, NativeType::Int, "[ttl]", Some(0))?,
        None => None,
    }
    .unwrap_or_else(|| i64::from(table.def.options.default_time_to_live));
    if ttl < 0 {
        return Err(CqlError::invalid(format!(
            "A TTL must be greater or equal to 0, but was {ttl}"
        )));
    }
    if ttl > MAX_TTL_SECS {
        return Err(CqlError::invalid(format!(
            "ttl is too large. requested ({ttl}) maximum ({MAX_TTL_SECS})"
        )));
    }
    Ok(ResolvedUsing {
        timestamp,
        ttl_secs: ttl as u32,
    })
}

/// A `USING` value: `None` if the marker is unset; `null` gives `if_null` when allowed.
fn using_value(
    term: &Term,
    bound: &BoundValues,
    ty: NativeType,
    name: &str,
    if_null: Option<i64>,
) -> CqlResult<Option<i64>> {
    let ty = CqlType::Native(ty);
    let bytes = match evaluate(term, &Receiver { name, ty: &ty }, bound)? {
        Evaluated::Value(bytes) => bytes,
        Evaluated::Unset => return Ok(None),
        Evaluated::Null => {
            return if_null.map(Some).ok_or_else(|| {
                CqlError::invalid(format!(
                    "Invalid null value of {}",
                    name.trim_matches(['[', ']'])
                ))
            })
        }
    };
    Ok(Some(match bytes.len() {
        4 => i64::from(i32::from_be_bytes(
            bytes.as_slice().try_into().unwrap_or_default(),
        )),
        8 => i64::from_be_bytes(bytes.as_slice().try_into().unwrap_or_default()),
        _ => return Err(CqlError::invalid(format!("Invalid value for {name}"))),
    }))
}

fn column_index(table: &Table, name: &str) -> CqlResult<usize> {
    table.column_index(name).ok_or_else(|| {
        CqlError::invalid(format!(
            "Undefined column name {name} in table {}.{}",
            table.def.keyspace, table.def.name
        ))
    })
}

fn receiver(table: &Table, index: usize) -> CqlResult<Receiver<'_>> {
    let (column, ty) = table.column(index)?;
    Ok(Receiver {
        name: &column.name,
        ty,
    })
}

fn insert_write(
    table: &Arc<Table>,
    statement: &InsertStatement,
    bound: &BoundValues,
    using: ResolvedUsing,
) -> CqlResult<StatementWrite> {
    let InsertValues::Columns { columns, values } = &statement.values else {
        let (expanded, json_bound) = super::insert_json::expand_insert(table, statement, bound)?;
        return insert_write(table, &expanded, &json_bound, using);
    };
    if columns.len() != values.len() {
        return Err(CqlError::invalid("Unmatched column names/values"));
    }
    if is_counter_table(table) {
        return Err(CqlError::invalid(
            "INSERT statements are not allowed on counter tables, use UPDATE instead",
        ));
    }
    let mut evaluated: BTreeMap<usize, Evaluated> = BTreeMap::new();
    for (name, term) in columns.iter().zip(values) {
        let index = column_index(table, name)?;
        if evaluated.contains_key(&index) {
            return Err(CqlError::invalid("The column names contains duplicates"));
        }
        evaluated.insert(index, evaluate(term, &receiver(table, index)?, bound)?);
    }
    let key_value = |index: usize, kind: &str| -> CqlResult<Vec<u8>> {
        let (column, _) = table.column(index)?;
        let name = &column.name;
        match evaluated.get(&index) {
            Some(Evaluated::Value(v)) => Ok(v.clone()),
            Some(Evaluated::Null) => Err(CqlError::invalid(format!(
                "Invalid null value in condition for column {name}"
            ))),
            Some(Evaluated::Unset) => Err(CqlError::invalid(format!(
                "Invalid unset value for column {name}"
            ))),
            None => Err(CqlError::invalid(format!(
                "Some {kind} are missing: {name}"
            ))),
        }
    };
    let components = table
        .partition_key_indexes()
        .into_iter()
        .map(|i| key_value(i, "partition key parts"))
        .collect::<CqlResult<Vec<_>>>()?;
    let mut write = StatementWrite::new(
        table.clone(),
        vec![PartitionKey::checked(components)?],
        using,
        statement.using.timestamp.is_some(),
    );
    // With no clustering value and only static columns, only the static row is written.
    let clustering_given = table
        .clustering_indexes()
        .iter()
        .any(|i| evaluated.contains_key(i));
    let only_static = evaluated.keys().all(|i| {
        matches!(
            table.kind_of(*i),
            Some(ColumnKind::PartitionKey | ColumnKind::Static)
        )
    });
    if clustering_given || !only_static || table.def.clustering.is_empty() {
        let clustering_values = table
            .clustering_indexes()
            .into_iter()
            .map(|i| Ok((i, key_value(i, "clustering keys")?)))
            .collect::<CqlResult<Vec<_>>>()?;
        write.clusterings = vec![encode_clustering(table, &clustering_values)?];
        write.row_marker = true;
    }
    for (index, value) in evaluated {
        let (column, ty) = table.column(index)?;
        if matches!(
            column.kind,
            ColumnKind::PartitionKey | ColumnKind::Clustering
        ) {
            continue;
        }
        if let Some(change) = whole_value_change(ty, value)? {
            write.changes.push((index, change));
        }
    }
    write.condition = statement.if_not_exists.then_some(CasCondition::NotExists);
    Ok(write)
}

fn partition_update(
    key: PartitionKey,
    using: &ResolvedUsing,
    operations: Vec<Operation>,
) -> PartitionUpdate {
    PartitionUpdate {
        token: key.token,
        partition_key: key.bytes,
        timestamp: using.timestamp,
        ttl_secs: using.ttl_secs,
        operations,
    }
}

fn encode_clustering(table: &Table, values: &[(usize, Vec<u8>)]) -> CqlResult<Vec<u8>> {
    // Cassandra limits the clustering's values together (their sum, without overhead).
    let total: usize = values.iter().map(|(_, v)| v.len()).sum();
    if total > crate::exec::plan::restrict::MAX_KEY_BYTES {
        return Err(crate::exec::plan::restrict::key_too_long(total));
    }
    let mut out = Vec::new();
    for (index, value) in values {
        let (column, ty) = table.column(*index)?;
        let desc = column.order == crate::schema::ClusteringOrder::Desc;
        types::encode_key_component(ty, value, desc, &mut out)?;
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
            Err(CqlError::invalid(format!(
                "Some partition key parts are missing: {}",
                missing.join(", ")
            )))
        }
    }
}

/// Cassandra's StatementRestrictions message (trailing space included) for a write whose
/// WHERE clause names non-key columns.
fn non_primary_key_columns(names: &[&String]) -> CqlError {
    let names: Vec<&str> = names.iter().map(|n| n.as_str()).collect();
    CqlError::invalid(format!(
        "Non PRIMARY KEY columns found in where clause: {} ",
        names.join(", ")
    ))
}

fn analyze(table: &Table, relations: &[Relation], bound: &BoundValues) -> CqlResult<Restrictions> {
    // Restrictions of regular or static columns are refused first, as StatementRestrictions
    // does before it looks at the key (so before any ALLOW FILTERING question).
    let mut non_key: Vec<&String> = Vec::new();
    for relation in relations {
        let (Relation::Column { column, .. } | Relation::Element { column, .. }) = relation else {
            continue;
        };
        let is_key = table.def.columns.iter().any(|c| {
            &c.name == column && matches!(c.kind, ColumnKind::PartitionKey | ColumnKind::Clustering)
        });
        if !is_key && table.column_index(column).is_some() && !non_key.contains(&column) {
            non_key.push(column);
        }
    }
    if !non_key.is_empty() {
        return Err(non_primary_key_columns(&non_key));
    }
    // Cassandra checks that every partition key column is restricted before it looks at
    // the clustering (whose restriction alone would otherwise ask for filtering).
    let restricts = |name: &str| {
        relations.iter().any(|r| match r {
            Relation::Column { column, .. } => column == name,
            Relation::MultiColumn { columns, .. } | Relation::Token { columns, .. } => {
                columns.iter().any(|c| c == name)
            }
            _ => false,
        })
    };
    let missing: Vec<&str> = table
        .def
        .partition_key
        .iter()
        .map(String::as_str)
        .filter(|name| !restricts(name))
        .collect();
    if !missing.is_empty() {
        return Err(CqlError::invalid(format!(
            "Some partition key parts are missing: {}",
            missing.join(", ")
        )));
    }
    let restrictions = Analyzer {
        table,
        bound,
        allow_filtering: false,
        indexed: false,
    }
    .analyze(relations)?;
    if let Some(filter) = restrictions.filters.first() {
        let name = &table.column(filter.column)?.0.name;
        return Err(non_primary_key_columns(&[name]));
    }
    Ok(restrictions)
}

fn update_write(
    table: &Arc<Table>,
    statement: &UpdateStatement,
    bound: &BoundValues,
    using: ResolvedUsing,
) -> CqlResult<StatementWrite> {
    let restrictions = analyze(table, &statement.where_clause, bound)?;
    let keys = target_partitions(table, &restrictions)?;
    if is_counter_table(table) {
        if statement.using.ttl.is_some() {
            return Err(CqlError::invalid(
                "Cannot provide custom TTL for counter updates",
            ));
        }
        if statement.using.timestamp.is_some() {
            return Err(CqlError::invalid(
                "Cannot provide custom timestamp for counter updates",
            ));
        }
    }
    let mut write = StatementWrite::new(
        table.clone(),
        keys,
        using,
        statement.using.timestamp.is_some(),
    );
    let counter_table = is_counter_table(table);
    for assignment in &statement.assignments {
        let index = column_index(table, assignment_column(assignment))?;
        let (def, _) = table.column(index)?;
        if matches!(def.kind, ColumnKind::PartitionKey | ColumnKind::Clustering) {
            return Err(CqlError::invalid(format!(
                "PRIMARY KEY part {} found in SET part",
                def.name
            )));
        }
        if let Some(change) = assignment_change(table, index, assignment, bound)? {
            if change.is_counter() != counter_table {
                return Err(CqlError::invalid(
                    "Cannot mix counter and non counter columns in the same table",
                ));
            }
            write.changes.push((index, change));
        }
    }
    let changed = statement
        .assignments
        .iter()
        .map(|a| column_index(table, assignment_column(a)))
        .collect::<CqlResult<Vec<_>>>()?;
    let only_static = applies_only_to_static(table, &changed, statement.condition.as_ref());
    write.clusterings = row_clusterings(table, &restrictions, only_static, "UPDATE")?;
    write.condition = statement
        .condition
        .as_ref()
        .map(|c| CasCondition::resolve(table, c, bound))
        .transpose()?;
    Ok(write)
}

fn assignment_column(assignment: &Assignment) -> &str {
    match assignment {
        Assignment::Set { column, .. }
        | Assignment::Add { column, .. }
        | Assignment::Subtract { column, .. }
        | Assignment::Prepend { column, .. }
        | Assignment::SetElement { column, .. }
        | Assignment::SetField { column, .. } => column,
    }
}

/// Cassandra's `appliesOnlyToStaticColumns`: neither the changed columns nor the
/// conditions touch a regular column, and one of them touches a static column. Such a
/// statement writes the static row only and must not name a row.
fn applies_only_to_static(
    table: &Table,
    changed: &[usize],
    condition: Option<&UpdateCondition>,
) -> bool {
    let conditioned = conditioned_columns(table, condition);
    let kind = |i: &usize| table.kind_of(*i);
    let all = || changed.iter().chain(&conditioned);
    !all().any(|i| kind(i) == Some(ColumnKind::Regular))
        && all().any(|i| kind(i) == Some(ColumnKind::Static))
}

/// The columns an `IF` reads (none for `IF EXISTS`); unknown names are reported later,
/// when the condition is resolved.
fn conditioned_columns(table: &Table, condition: Option<&UpdateCondition>) -> Vec<usize> {
    match condition {
        Some(UpdateCondition::Conditions(conditions)) => conditions
            .iter()
            .filter_map(|c| table.column_index(&c.column))
            .collect(),
        _ => Vec::new(),
    }
}

/// The rows an UPDATE or a column DELETE (`statement`) touches: every clustering column
/// must be given, and none when the statement applies only to static columns.
fn row_clusterings(
    table: &Table,
    restrictions: &Restrictions,
    only_static: bool,
    statement: &str,
) -> CqlResult<Vec<Vec<u8>>> {
    if table.def.clustering.is_empty() {
        return Ok(vec![Vec::new()]);
    }
    if only_static {
        if restrictions.has_clustering_restriction {
            return Err(CqlError::invalid(format!(
                "Invalid restrictions on clustering columns since the {statement} statement modifies only static columns"
            )));
        }
        return Ok(Vec::new());
    }
    if restrictions.clusterings.is_empty() {
        let missing = table.def.clustering.first().cloned().unwrap_or_default();
        return Err(CqlError::invalid(format!(
            "Some clustering keys are missing: {missing}"
        )));
    }
    Ok(restrictions.clusterings.clone())
}

fn delete_write(
    table: &Arc<Table>,
    statement: &DeleteStatement,
    bound: &BoundValues,
    using: ResolvedUsing,
) -> CqlResult<StatementWrite> {
    let restrictions = analyze(table, &statement.where_clause, bound)?;
    let keys = target_partitions(table, &restrictions)?;
    let mut write = StatementWrite::new(table.clone(), keys, using, statement.timestamp.is_some());
    let deleted = statement
        .columns
        .iter()
        .map(|deletion| match deletion {
            Deletion::Column(name)
            | Deletion::Element { column: name, .. }
            | Deletion::Field { column: name, .. } => column_index(table, name),
        })
        .collect::<CqlResult<Vec<_>>>()?;
    check_conditional_delete(table, statement, &restrictions, &deleted)?;
    if statement.columns.is_empty() {
        write.deletions = whole_row_deletions(table, &restrictions);
        write.clusterings = restrictions.clusterings.clone();
    } else {
        for (deletion, &index) in statement.columns.iter().zip(&deleted) {
            let (def, _) = table.column(index)?;
            if matches!(def.kind, ColumnKind::PartitionKey | ColumnKind::Clustering) {
                return Err(CqlError::invalid(format!(
                    "Invalid identifier {} for deletion (should not be a PRIMARY KEY part)",
                    def.name
                )));
            }
            if let Some(change) = deletion_change(table, index, deletion, bound)? {
                write.changes.push((index, change));
            }
        }
        let only_static = applies_only_to_static(table, &deleted, statement.condition.as_ref());
        write.clusterings = row_clusterings(table, &restrictions, only_static, "DELETE")?;
    }
    write.condition = statement
        .condition
        .as_ref()
        .map(|c| CasCondition::resolve(table, c, bound))
        .transpose()?;
    Ok(write)
}

/// A conditional DELETE that does not name one row may only delete, and condition on,
/// static columns (a whole-row deletion counts as deleting regular columns).
fn check_conditional_delete(
    table: &Table,
    statement: &DeleteStatement,
    restrictions: &Restrictions,
    deleted: &[usize],
) -> CqlResult<()> {
    if statement.condition.is_none()
        || table.def.clustering.is_empty()
        || !restrictions.clusterings.is_empty()
    {
        return Ok(());
    }
    let regular = |i: &usize| table.kind_of(*i) == Some(ColumnKind::Regular);
    if deleted.is_empty() || deleted.iter().any(regular) {
        return Err(CqlError::invalid("DELETE statements must restrict all PRIMARY KEY columns with equality relations in order to delete non static columns"));
    }
    if conditioned_columns(table, statement.condition.as_ref())
        .iter()
        .any(regular)
    {
        return Err(CqlError::invalid("DELETE statements must restrict all PRIMARY KEY columns with equality relations in order to use IF condition on non static columns"));
    }
    Ok(())
}

fn whole_row_deletions(table: &Table, restrictions: &Restrictions) -> Vec<Operation> {
    if !restrictions.has_clustering_restriction || table.def.clustering.is_empty() {
        return vec![Operation::DeletePartition];
    }
    restrictions
        .slices
        .iter()
        .cloned()
        .map(Operation::DeleteRange)
        .collect::<Vec<_>>()
}
