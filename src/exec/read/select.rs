//! SELECT: selection, restrictions, ordering, limits and paging, over engine tables
//! (through the coordinator) and generated system tables.
//!
//! Invariants:
//! - A page never holds more than `page_size` rows; the paging state is opaque to clients
//!   and names the partition and engine key to resume after, plus rows already returned
//!   (for LIMIT; for GROUP BY, groups already returned).
//! - GROUP BY output is paged by groups; a page ends at a group boundary.
//! - An unpaged SELECT, and aggregation input, is read in internal pages; no result
//!   accumulates past what one frame can carry (`ResultBudget`).
//! - Engine tables are read only through `Coordinator::read`.

use std::sync::Arc;

use bytes::Bytes;
use strata_protocol::{ColumnSpec, Consistency, ResultBody, Rows, RowsMetadata};

use super::grouping;
use super::selection::{OutputColumn, Selection};
use crate::cluster::{Branch, ReadCommand, ReadTarget};
use crate::cql::ast::{OrderDirection, Predicate, Relation, SelectStatement, Term};
use crate::error::{CqlError, CqlResult};
use crate::exec::context::Context;
use crate::exec::expr::eval::BoundValues;
use crate::exec::plan::restrict::{PartitionSelection, Restrictions};
use crate::exec::plan::rows::{FullRow, RowAssembler};
use crate::schema::{ClusteringOrder, ColumnKind, Table, TableSource};
use crate::storage::ClusteringRange;
use crate::types::{CqlType, NativeType};

/// The result columns of a SELECT, for PREPARE metadata.
pub fn result_columns(table: &Table, statement: &SelectStatement) -> CqlResult<Vec<ColumnSpec>> {
    let selection = Selection::compile(table, &statement.selection, None)?;
    Ok(specs(table, &output_columns(&selection, statement)))
}

/// What the client sees: the selection's columns, or the single `[json]` column.
fn output_columns(selection: &Selection, statement: &SelectStatement) -> Vec<OutputColumn> {
    if statement.json {
        return vec![OutputColumn {
            name: "[json]".into(),
            ty: CqlType::Native(NativeType::Text),
        }];
    }
    selection.columns.clone()
}

fn specs(table: &Table, columns: &[OutputColumn]) -> Vec<ColumnSpec> {
    columns
        .iter()
        .map(|c| ColumnSpec {
            keyspace: table.def.keyspace.clone(),
            table: table.def.name.clone(),
            name: c.name.clone(),
            col_type: c.ty.to_wire(),
        })
        .collect()
}

/// Paging position: which partition (or generated row offset), which engine key, and how
/// many rows earlier pages returned.
#[derive(Clone, Debug, Default, PartialEq)]
struct PagingState {
    partition_index: u32,
    returned: u64,
    /// Rows already returned from the partition being resumed.
    partition_rows: u32,
    /// GROUP BY with PER PARTITION LIMIT: groups already returned from the partition the
    /// next page starts in (format 2 of the state; 0 in format 1).
    partition_groups: u32,
    resume_key: Option<Vec<u8>>,
}

impl PagingState {
    fn encode(&self) -> Bytes {
        let mut out = Vec::with_capacity(21 + self.resume_key.as_ref().map_or(0, Vec::len));
        out.push(if self.partition_groups == 0 { 1 } else { 2 });
        out.extend_from_slice(&self.partition_index.to_be_bytes());
        out.extend_from_slice(&self.returned.to_be_bytes());
        out.extend_from_slice(&self.partition_rows.to_be_bytes());
        if self.partition_groups != 0 {
            out.extend_from_slice(&self.partition_groups.to_be_bytes());
        }
        if let Some(key) = &self.resume_key {
            out.extend_from_slice(key);
        }
        Bytes::from(out)
    }

    fn decode(bytes: &[u8]) -> CqlResult<PagingState> {
        let invalid = || CqlError::Protocol("Invalid value for the paging state".into());
        let (format, rest) = bytes.split_first().ok_or_else(invalid)?;
        if !matches!(format, 1 | 2) {
            return Err(invalid());
        }
        let (index, rest) = rest.split_first_chunk::<4>().ok_or_else(invalid)?;
        let (returned, rest) = rest.split_first_chunk::<8>().ok_or_else(invalid)?;
        let (partition_rows, rest) = rest.split_first_chunk::<4>().ok_or_else(invalid)?;
        let (partition_groups, key) = if *format == 2 {
            let (groups, key) = rest.split_first_chunk::<4>().ok_or_else(invalid)?;
            (u32::from_be_bytes(*groups), key)
        } else {
            (0, rest)
        };
        let index = u32::from_be_bytes(*index);
        let returned = u64::from_be_bytes(*returned);
        let partition_rows = u32::from_be_bytes(*partition_rows);
        Ok(PagingState {
            partition_index: index,
            returned,
            partition_rows,
            partition_groups,
            resume_key: (!key.is_empty()).then(|| key.to_vec()),
        })
    }
}

/// Options of one SELECT execution.
pub struct SelectOptions {
    pub consistency: Consistency,
    pub page_size: Option<usize>,
    pub paging_state: Option<Bytes>,
}

#[derive(Clone)]
struct Plan {
    table: Arc<Table>,
    branch: Branch,
    restrictions: Restrictions,
    /// The secondary index answering the query, if one is used.
    index: Option<crate::exec::derived::index::IndexLookup>,
    reverse: bool,
    limit: Option<u64>,
    /// Rows per partition read (PER PARTITION LIMIT without GROUP BY, DISTINCT).
    per_partition_limit: Option<usize>,
    /// Groups per partition returned (PER PARTITION LIMIT with GROUP BY).
    groups_per_partition: Option<usize>,
}

/// The rows of a SELECT and the client warning Cassandra attaches to it, if any.
pub struct Selected {
    pub body: ResultBody,
    pub warning: Option<&'static str>,
}

pub async fn execute(
    ctx: &Context<'_>,
    statement: &SelectStatement,
    bound: &BoundValues,
    options: SelectOptions,
) -> CqlResult<Selected> {
    let table = ctx.resolve_table(&statement.table)?;
    let selection = Selection::compile(&table, &statement.selection, Some(bound))?;
    let plan = plan(ctx, &table, statement, bound)?;
    if statement.distinct {
        check_distinct(&table, &selection, &plan.restrictions)?;
    }
    let group_by = grouping::group_by_prefix(&table, statement)?;
    let state = options
        .paging_state
        .as_deref()
        .map(PagingState::decode)
        .transpose()?
        .unwrap_or_default();
    let now = crate::clock::now_secs();
    let page_size = options.page_size.filter(|p| *p > 0);
    let mut budget = ResultBudget::new(ctx);
    let post_order = PostOrder::of(&table, statement, &plan, &selection, page_size)?;
    let (read_plan, read_selection) = match &post_order {
        Some(order) => (&order.plan, &order.selection),
        None => (&plan, &selection),
    };
    let (mut rows, next) = if selection.is_aggregate() || group_by.is_some() {
        let output = AggregateOutput {
            group_prefix: group_by.unwrap_or(0),
            page_size,
            state,
        };
        // Boxed: the request future is moved whole into the connection's set, so the plain
        // reads below should not carry the aggregation's state.
        Box::pin(aggregate(
            ctx,
            read_plan,
            read_selection,
            output,
            &mut budget,
            options.consistency,
        ))
        .await?
    } else {
        // Paged and unpaged reads share this loop, awaited inline, not boxed: lookups without
        // a page size (cqlsh, the cost benchmark) are as common as paged ones, and a box
        // costs each read a copy of its state into the heap and a poll layer. A paged read
        // makes one round from the client's state; an unpaged one reads internal pages from
        // the start (a paging state without a page size is ignored, as in Cassandra) until
        // the end or the result budget.
        let unpaged = page_size.is_none();
        let mut state = if unpaged {
            PagingState::default()
        } else {
            state
        };
        let mut rows = Vec::new();
        loop {
            let page = page_size.unwrap_or(INTERNAL_PAGE_ROWS);
            let (full_rows, next) =
                fetch(ctx, read_plan, state, Some(page), options.consistency).await?;
            for row in &full_rows {
                let projected = read_selection.project(row, now)?;
                if unpaged {
                    budget.add(&projected)?;
                }
                rows.push(projected);
            }
            match next {
                Some(next) if unpaged => state = next,
                next => break (rows, next),
            }
        }
    };
    if let Some(order) = post_order {
        order.apply(&mut rows, selection.columns.len());
    }
    if statement.json {
        rows = rows
            .into_iter()
            .map(|row| {
                vec![Some(Bytes::from(crate::exec::expr::json::row_to_json(
                    selection.columns.iter().map(|c| (c.name.as_str(), &c.ty)),
                    &row,
                )))]
            })
            .collect();
    }
    let columns = specs(&table, &output_columns(&selection, statement));
    // Full metadata always: whether the client may skip it is EXECUTE's decision (`request`), and
    // even a No_metadata answer carries the column count.
    let mut metadata = RowsMetadata::new(columns);
    metadata.paging_state = next.map(|s| s.encode());
    let aggregation = selection.is_aggregate() || group_by.is_some();
    Ok(Selected {
        body: ResultBody::Rows(Rows { metadata, rows }),
        warning: aggregation
            .then(|| aggregation_warning(&table, statement))
            .flatten(),
    })
}

/// Rows of several partitions (an IN on the partition key) sorted on the ORDER BY
/// columns after reading, as Cassandra's `orderResults` does; the LIMIT applies after
/// the sort, so the read runs without it.
struct PostOrder {
    plan: Plan,
    /// The selection plus a hidden column for each ordering column not selected.
    selection: Selection,
    /// Output position and descending flag of each ordering column.
    keys: Vec<(usize, bool)>,
    types: Vec<CqlType>,
    limit: Option<u64>,
}

impl PostOrder {
    fn of(
        table: &Table,
        statement: &SelectStatement,
        plan: &Plan,
        selection: &Selection,
        page_size: Option<usize>,
    ) -> CqlResult<Option<PostOrder>> {
        // Without ORDER BY (most reads) nothing is looked up.
        if statement.order_by.is_empty() {
            return Ok(None);
        }
        let partition_key = table.partition_key_indexes();
        let key_in = statement.where_clause.iter().any(|r| {
            matches!(r, Relation::Column { column, predicate: Predicate::In(_) }
                if table.column_index(column).is_some_and(|i| partition_key.contains(&i)))
        });
        if !key_in {
            return Ok(None);
        }
        // Cassandra sorts only what it holds at once: a paged read never is.
        if page_size.is_some() {
            return Err(CqlError::invalid("Cannot page queries with both ORDER BY and a IN restriction on the partition key; you must either remove the ORDER BY or the IN and sort client side, or disable paging for this query"));
        }
        // `ordering` has checked every ORDER BY column names a clustering column.
        let columns: Vec<usize> = statement
            .order_by
            .iter()
            .filter_map(|o| table.column_index(&o.column))
            .collect();
        let mut selection = selection.clone();
        let positions = selection.ordering_positions(table, &columns);
        Ok(Some(PostOrder {
            plan: Plan {
                limit: None,
                ..plan.clone()
            },
            selection,
            keys: positions
                .into_iter()
                .zip(&statement.order_by)
                .map(|(p, o)| (p, o.direction == OrderDirection::Desc))
                .collect(),
            types: columns
                .iter()
                .filter_map(|c| table.types.get(*c).cloned())
                .collect(),
            limit: plan.limit,
        }))
    }

    /// Sorts `rows` (stable: ties keep partition order), applies the LIMIT and drops the
    /// hidden ordering columns.
    fn apply(self, rows: &mut Vec<Vec<Option<Bytes>>>, visible: usize) {
        rows.sort_by(|a, b| {
            self.keys
                .iter()
                .zip(&self.types)
                .map(|(&(position, desc), ty)| {
                    let value = |row: &[Option<Bytes>]| row.get(position).cloned().flatten();
                    let order = match (value(a), value(b)) {
                        (Some(x), Some(y)) => crate::types::compare_values(ty, &x, &y),
                        (x, y) => x.is_some().cmp(&y.is_some()),
                    };
                    if desc {
                        order.reverse()
                    } else {
                        order
                    }
                })
                .find(|o| o.is_ne())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        if let Some(limit) = self.limit {
            rows.truncate(limit as usize);
        }
        for row in rows.iter_mut() {
            row.truncate(visible);
        }
    }
}

/// Cassandra warns when an aggregation (aggregate selectors or GROUP BY) reads more than one
/// partition: no partition key restriction at all, or an IN on it (SelectStatement.execute).
fn aggregation_warning(table: &Table, statement: &SelectStatement) -> Option<&'static str> {
    let partition_key = table.partition_key_indexes();
    let on_key = |column: &str| {
        table
            .column_index(column)
            .is_some_and(|index| partition_key.contains(&index))
    };
    let mut restricted = false;
    for relation in &statement.where_clause {
        match relation {
            Relation::Token { .. } => restricted = true,
            Relation::Column { column, predicate } if on_key(column) => match predicate {
                Predicate::In(_) => {
                    return Some(
                        "Aggregation query used on multiple partition keys (IN restriction)",
                    )
                }
                Predicate::Compare(..) => restricted = true,
            },
            _ => {}
        }
    }
    (!restricted).then_some("Aggregation query used without partition key")
}

fn plan(
    ctx: &Context<'_>,
    table: &Arc<Table>,
    statement: &SelectStatement,
    bound: &BoundValues,
) -> CqlResult<Plan> {
    let branch = match (&statement.snapshot, table.source) {
        (_, TableSource::Virtual) => Branch::Local(strata_engine::ROOT_VERSION),
        (Some(tag), _) => {
            ctx.require_single_replica(
                &table.def.keyspace,
                "Reads AT SNAPSHOT are",
                "cluster-wide snapshots",
            )?;
            Branch::Local(ctx.snapshot_version(table, tag)?)
        }
        (None, _) => Branch::Main,
    };
    let (restrictions, index) = crate::exec::derived::index::analyze(table, statement, bound)?;
    let reverse = ordering(table, statement, &restrictions)?;
    let limit = statement
        .limit
        .as_ref()
        .map(|t| limit_value(t, bound, "limit"))
        .transpose()?
        .flatten();
    let mut per_partition_limit = statement
        .per_partition_limit
        .as_ref()
        .map(|t| limit_value(t, bound, "per partition limit"))
        .transpose()?
        .flatten()
        .map(|v| v as usize);
    // With GROUP BY the limit counts groups, as Cassandra's GroupByAwareCounter does.
    let groups_per_partition = if statement.group_by.is_empty() {
        None
    } else {
        per_partition_limit.take()
    };
    if statement.distinct {
        per_partition_limit = Some(1);
    }
    Ok(Plan {
        table: table.clone(),
        branch,
        restrictions,
        index,
        reverse,
        limit,
        per_partition_limit,
        groups_per_partition,
    })
}

/// Cassandra's `validateDistinctSelection`: DISTINCT reads partition keys and static
/// columns only, restricted by them only, and a range of partitions selects the whole key.
fn check_distinct(
    table: &Table,
    selection: &Selection,
    restrictions: &Restrictions,
) -> CqlResult<()> {
    let kind = |i: usize| table.def.columns.get(i).map(|c| c.kind);
    let key_or_static =
        |i: usize| matches!(kind(i), Some(ColumnKind::PartitionKey | ColumnKind::Static));
    let non_key_filter = restrictions.filters.iter().any(|f| {
        matches!(
            kind(f.column),
            Some(ColumnKind::Clustering | ColumnKind::Regular)
        )
    });
    if restrictions.has_clustering_restriction || non_key_filter {
        return Err(CqlError::invalid("SELECT DISTINCT with WHERE clause only supports restriction by partition key and/or static columns."));
    }
    let requested = selection.columns_read();
    if let Some(name) = requested
        .iter()
        .find(|i| !key_or_static(**i))
        .and_then(|i| table.def.columns.get(*i))
        .map(|c| &c.name)
    {
        return Err(CqlError::invalid(format!("SELECT DISTINCT queries must only request partition key columns and/or static columns (not {name})")));
    }
    if matches!(
        restrictions.partitions,
        PartitionSelection::TokenRange { .. }
    ) {
        let missing = table
            .partition_key_indexes()
            .into_iter()
            .find(|i| !requested.contains(i))
            .and_then(|i| table.def.columns.get(i));
        if let Some(column) = missing {
            return Err(CqlError::invalid(format!(
                "SELECT DISTINCT queries must request all the partition key columns (missing {})",
                column.name
            )));
        }
    }
    Ok(())
}

/// A LIMIT value; an unset marker means no limit (Cassandra's `getLimit`).
fn limit_value(term: &Term, bound: &BoundValues, what: &str) -> CqlResult<Option<u64>> {
    use crate::exec::expr::eval::{evaluate, Evaluated, Receiver};
    let ty = CqlType::Native(NativeType::Int);
    let receiver = Receiver {
        name: &format!("[{what}]"),
        ty: &ty,
    };
    let bytes = match evaluate(term, &receiver, bound)? {
        Evaluated::Value(bytes) => bytes,
        Evaluated::Unset => return Ok(None),
        Evaluated::Null => return Err(CqlError::invalid(format!("Invalid null value of {what}"))),
    };
    let value = i32::from_be_bytes(
        bytes
            .as_slice()
            .try_into()
            .map_err(|_| CqlError::invalid("Invalid limit"))?,
    );
    if value <= 0 {
        let name = if what == "limit" {
            "LIMIT".to_string()
        } else {
            what.to_uppercase()
        };
        return Err(CqlError::invalid(format!(
            "{name} must be strictly positive"
        )));
    }
    Ok(Some(value as u64))
}

/// Whether the read runs in reverse clustering order, after checking ORDER BY like
/// Cassandra does.
fn ordering(
    table: &Table,
    statement: &SelectStatement,
    restrictions: &Restrictions,
) -> CqlResult<bool> {
    if statement.order_by.is_empty() {
        return Ok(false);
    }
    if !matches!(restrictions.partitions, PartitionSelection::Keys(_)) {
        return Err(CqlError::invalid(
            "ORDER BY is only supported when the partition key is restricted by an EQ or an IN.",
        ));
    }
    let clustering = table.clustering_indexes();
    // Cassandra's `isReversed`: the ordered columns follow the clustering order, and a
    // clustering column they skip must be restricted by equality.
    let mut unordered = clustering.iter();
    let mut reverse = None;
    for ordering in &statement.order_by {
        let index = table.column_index(&ordering.column).ok_or_else(|| {
            CqlError::invalid(format!(
                "Undefined column name {} in table {}.{}",
                ordering.column, table.def.keyspace, table.def.name
            ))
        })?;
        let Some(column) = table
            .def
            .columns
            .get(index)
            .filter(|c| c.kind == ColumnKind::Clustering)
        else {
            return Err(CqlError::invalid(format!("Order by is currently only supported on the clustered columns of the PRIMARY KEY, got {}", ordering.column)));
        };
        let mut follows = false;
        for &next in unordered.by_ref() {
            if next == index {
                follows = true;
                break;
            }
            let name = table.def.columns.get(next).map_or("", |c| c.name.as_str());
            if !grouping::restricted_by_eq(statement, name) {
                break;
            }
        }
        if !follows {
            return Err(CqlError::invalid("Order by currently only supports the ordering of columns following their declared order in the PRIMARY KEY"));
        }
        let declared_desc = column.order == ClusteringOrder::Desc;
        let wanted_desc = ordering.direction == OrderDirection::Desc;
        let this_reverse = declared_desc != wanted_desc;
        if reverse.is_some_and(|r| r != this_reverse) {
            return Err(CqlError::invalid("Unsupported order by relation"));
        }
        reverse = Some(this_reverse);
    }
    Ok(reverse.unwrap_or(false))
}

/// Rows read per internal page: the input of aggregates and GROUP BY, and unpaged
/// SELECTs.
const INTERNAL_PAGE_ROWS: usize = 10_000;

/// Bounds the rows a result accumulates to what one response frame can carry
/// (`native_transport_max_frame_size`): a larger result could never be sent, so reading
/// on would only hold memory.
struct ResultBudget {
    limit: usize,
    used: usize,
}

impl ResultBudget {
    fn new(ctx: &Context<'_>) -> ResultBudget {
        ResultBudget {
            limit: ctx.node.config().max_frame_bytes,
            used: 0,
        }
    }

    /// Counts a result row as encoded (`[bytes]` per value).
    fn add(&mut self, row: &[Option<Bytes>]) -> CqlResult<()> {
        self.used += row
            .iter()
            .map(|v| 4 + v.as_ref().map_or(0, Bytes::len))
            .sum::<usize>();
        if self.used > self.limit {
            return Err(CqlError::invalid(format!(
                "The result of this query exceeds the maximum frame size of {} bytes \
                 (native_transport_max_frame_size); set a page size (fetch size) to read it in pages",
                self.limit
            )));
        }
        Ok(())
    }
}

/// How an aggregation's output is shaped and where it resumes.
struct AggregateOutput {
    /// Primary key columns defining a group (0: one group for all rows).
    group_prefix: usize,
    /// Groups per page (GROUP BY only, as Cassandra pages it; `None`: unpaged).
    page_size: Option<usize>,
    /// Where this page's input starts; its `returned` counts groups of earlier pages.
    state: PagingState,
}

/// Aggregates (or groups, keeping each group's first row) the matching rows: the input
/// is read internally in pages; GROUP BY output is paged by groups, and LIMIT counts
/// groups, across pages. A page of groups ends at a group boundary: the next page's
/// input resumes exactly before the first row of the next group.
async fn aggregate(
    ctx: &Context<'_>,
    plan: &Plan,
    selection: &Selection,
    output: AggregateOutput,
    budget: &mut ResultBudget,
    consistency: Consistency,
) -> CqlResult<(Vec<Vec<Option<Bytes>>>, Option<PagingState>)> {
    let AggregateOutput {
        group_prefix,
        page_size,
        state,
    } = output;
    let input_plan = Plan {
        limit: None,
        ..plan.clone()
    };
    let key_columns: Vec<usize> = plan
        .table
        .partition_key_indexes()
        .into_iter()
        .chain(plan.table.clustering_indexes())
        .take(group_prefix)
        .collect();
    let now = crate::clock::now_secs();
    let earlier_groups = state.returned;
    let mut input = PagingState {
        returned: 0,
        partition_groups: 0,
        ..state
    };
    let partition_key_len = plan.table.partition_key_indexes().len();
    let group_limit = plan.groups_per_partition;
    let mut partition_groups = state.partition_groups as usize;
    // Rows of a group past the partition's group limit are read but not aggregated.
    let mut skipping = group_limit.is_some_and(|l| partition_groups >= l);
    let mut out = Vec::new();
    let mut group = selection.new_group();
    let mut group_key: Option<Vec<Option<Vec<u8>>>> = None;
    let wanted = plan
        .limit
        .map_or(usize::MAX, |l| l.saturating_sub(earlier_groups) as usize);
    let page = page_size.filter(|_| group_prefix > 0).unwrap_or(usize::MAX);
    loop {
        let batch_start = input.clone();
        let (rows, next) = fetch(
            ctx,
            &input_plan,
            input,
            Some(INTERNAL_PAGE_ROWS),
            consistency,
        )
        .await?;
        for (index, row) in rows.iter().enumerate() {
            let key: Vec<Option<Vec<u8>>> = key_columns
                .iter()
                .map(|i| row.value(*i).map(<[u8]>::to_vec))
                .collect();
            if let Some(previous) = group_key
                .as_ref()
                .filter(|k| group_prefix > 0 && **k != key)
            {
                let same_partition =
                    previous.get(..partition_key_len) == key.get(..partition_key_len);
                let finished = std::mem::replace(&mut group, selection.new_group());
                if !skipping {
                    let finished = finished.finish(selection, now)?;
                    budget.add(&finished)?;
                    out.push(finished);
                    partition_groups += 1;
                }
                if !same_partition {
                    partition_groups = 0;
                }
                if out.len() >= wanted {
                    return Ok((out, None));
                }
                if !skipping && out.len() >= page {
                    let next_page =
                        position_before(ctx, &input_plan, batch_start, index, consistency).await?;
                    let next_page = next_page.map(|s| PagingState {
                        returned: earlier_groups + out.len() as u64,
                        partition_groups: partition_groups as u32,
                        ..s
                    });
                    return Ok((out, next_page));
                }
                skipping = group_limit.is_some_and(|l| partition_groups >= l);
            }
            group_key = Some(key);
            if !skipping {
                group.add(selection, row, now)?;
            }
        }
        match next {
            Some(s) => input = s,
            None => break,
        }
    }
    // Without GROUP BY an empty input still yields one row (count 0); with it, no group.
    if group_prefix == 0 || !group.is_empty() {
        out.push(group.finish(selection, now)?);
    }
    Ok((out, None))
}

/// The input position just before the row at `index` of what `start` reads: reading that
/// many rows again ends there, by engine key, whatever filters drop (each round asks for
/// at most the rows still missing, so it never reads past). `None` if fewer rows remain
/// (deleted concurrently): the input ends there.
async fn position_before(
    ctx: &Context<'_>,
    plan: &Plan,
    mut start: PagingState,
    mut index: usize,
    consistency: Consistency,
) -> CqlResult<Option<PagingState>> {
    while index > 0 {
        let (rows, next) = fetch(ctx, plan, start, Some(index), consistency).await?;
        index = index.saturating_sub(rows.len());
        match next {
            Some(s) => start = s,
            None => return Ok(None),
        }
    }
    Ok(Some(start))
}

/// Reads up to one page of rows starting at `state`; returns the rows and the state of
/// the next page, if any.
async fn fetch(
    ctx: &Context<'_>,
    plan: &Plan,
    state: PagingState,
    page_size: Option<usize>,
    consistency: Consistency,
) -> CqlResult<(Vec<FullRow>, Option<PagingState>)> {
    let remaining_limit = plan.limit.map(|l| l.saturating_sub(state.returned));
    let page = page_size.filter(|p| *p > 0).unwrap_or(usize::MAX);
    let wanted = remaining_limit.map_or(page, |l| page.min(l as usize));
    if wanted == 0 {
        return Ok((Vec::new(), None));
    }
    let (rows, next) = match plan.table.source {
        TableSource::Virtual => fetch_virtual(ctx, plan, state.clone(), wanted)?,
        TableSource::Engine => fetch_engine(ctx, plan, state.clone(), wanted, consistency).await?,
    };
    let returned = state.returned + rows.len() as u64;
    let next = next
        .filter(|_| plan.limit.is_none_or(|l| returned < l))
        .map(|mut s| {
            s.returned = returned;
            s
        });
    Ok((rows, next))
}

async fn fetch_engine(
    ctx: &Context<'_>,
    plan: &Plan,
    state: PagingState,
    wanted: usize,
    consistency: Consistency,
) -> CqlResult<(Vec<FullRow>, Option<PagingState>)> {
    let now_secs = crate::clock::now_secs();
    let mut rows = Vec::new();
    let targets: Vec<ReadTarget> = match (&plan.index, &plan.restrictions.partitions) {
        (Some(lookup), _) => {
            // Boxed: only index queries read the index first (see `execute`).
            Box::pin(crate::exec::derived::index::targets(
                ctx,
                lookup,
                &plan.restrictions,
                plan.reverse,
                consistency,
            ))
            .await?
        }
        (None, PartitionSelection::Keys(keys)) => keys
            .iter()
            .map(|k| ReadTarget::Partition {
                token: k.token,
                key: k.bytes.clone(),
                slices: plan.restrictions.slices.clone(),
                reverse: plan.reverse,
            })
            .collect(),
        (None, PartitionSelection::TokenRange { start, end }) => vec![ReadTarget::TokenRange {
            start: *start,
            end: *end,
        }],
    };
    let mut resume = state.resume_key;
    let mut carried_rows = state.partition_rows as usize;
    for (index, target) in targets
        .into_iter()
        .enumerate()
        .skip(state.partition_index as usize)
    {
        let command = ReadCommand {
            table: plan.table.clone(),
            branch: plan.branch,
            target,
            row_limit: wanted - rows.len(),
            per_partition_limit: plan.per_partition_limit,
            resume_after: resume.take(),
            resume_partition_rows: std::mem::take(&mut carried_rows),
            now_secs,
        };
        let result = ctx.node.coordinator().read(command, consistency).await?;
        let mut assembler = RowAssembler::new(&plan.table);
        rows.extend(
            result
                .items
                .into_iter()
                .filter_map(|item| assembler.push(item))
                .filter(|r| passes(plan, r)),
        );
        if let Some(key) = result.resume_key {
            let partition_rows = result.resume_partition_rows as u32;
            let next = PagingState {
                partition_index: index as u32,
                returned: 0,
                partition_rows,
                partition_groups: 0,
                resume_key: Some(key),
            };
            return Ok((rows, Some(next)));
        }
        if rows.len() >= wanted {
            let next = PagingState {
                partition_index: index as u32 + 1,
                ..PagingState::default()
            };
            return Ok((rows, Some(next)));
        }
    }
    Ok((rows, None))
}

fn passes(plan: &Plan, row: &FullRow) -> bool {
    plan.restrictions
        .filters
        .iter()
        .all(|f| f.matches(&plan.table.types, |i| row.value(i)))
}

/// Generated tables are small: build every row, filter, and page by offset.
fn fetch_virtual(
    ctx: &Context<'_>,
    plan: &Plan,
    state: PagingState,
    wanted: usize,
) -> CqlResult<(Vec<FullRow>, Option<PagingState>)> {
    let all = crate::system::rows(ctx.node, &ctx.catalog, &plan.table)?;
    let pk = plan.table.partition_key_indexes();
    let matching: Vec<FullRow> = all
        .into_iter()
        .filter(|row| match &plan.restrictions.partitions {
            PartitionSelection::Keys(keys) => keys.iter().any(|k| {
                pk.iter()
                    .zip(&k.components)
                    .all(|(i, c)| row.value(*i) == Some(c.as_slice()))
            }),
            PartitionSelection::TokenRange { .. } => true,
        })
        .filter(|row| {
            plan.restrictions
                .slices
                .iter()
                .any(|s: &ClusteringRange| s.contains(&row.clustering))
        })
        .filter(|row| passes(plan, row))
        .collect();
    let start = state.partition_index as usize;
    let end = start.saturating_add(wanted).min(matching.len());
    let page = matching
        .get(start..end)
        .map(<[FullRow]>::to_vec)
        .unwrap_or_default();
    let next = (end < matching.len()).then(|| PagingState {
        partition_index: end as u32,
        ..PagingState::default()
    });
    Ok((page, next))
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use strata_protocol::{Consistency, ErrorKind, QueryParams, Response, ResultBody};

    use crate::testing::{TestClient, TestServer};

    /// One page: its rows and the paging state of the next.
    async fn page(
        client: &mut TestClient,
        cql: &str,
        size: Option<i32>,
        state: Option<Bytes>,
    ) -> (Vec<Vec<Option<Bytes>>>, Option<Bytes>) {
        let mut params = QueryParams::new(Consistency::One);
        params.page_size = size;
        params.paging_state = state;
        match client.query_with(cql, params).await {
            Response::Result(ResultBody::Rows(rows)) => (rows.rows, rows.metadata.paging_state),
            other => panic!("{cql}: {other:?}"),
        }
    }

    async fn schema(client: &mut TestClient) {
        client.create_keyspace("ks").await;
        client
            .run("CREATE TABLE ks.t (k int, c int, v text, PRIMARY KEY (k, c))")
            .await;
    }

    /// GROUP BY output is paged by groups (Cassandra's page size counts groups), and
    /// LIMIT counts groups across pages.
    #[tokio::test]
    async fn group_by_output_is_paged_by_groups() {
        let server = TestServer::start().await;
        let mut client = server.client().await;
        schema(&mut client).await;
        for k in 0..5 {
            for c in 0..3 {
                client
                    .run(&format!(
                        "INSERT INTO ks.t (k, c, v) VALUES ({k}, {c}, 'x')"
                    ))
                    .await;
            }
        }
        for (cql, want) in [
            ("SELECT k, count(*) FROM ks.t GROUP BY k", 5),
            ("SELECT k, count(*) FROM ks.t GROUP BY k LIMIT 3", 3),
            ("SELECT k, c FROM ks.t GROUP BY k, c", 15),
        ] {
            let (all, none) = page(&mut client, cql, None, None).await;
            assert_eq!((all.len(), none), (want, None), "{cql}");
            let mut paged = Vec::new();
            let mut state = None;
            for _ in 0..=want {
                let (rows, next) = page(&mut client, cql, Some(2), state).await;
                assert!(rows.len() <= 2, "{cql}: a page of {} groups", rows.len());
                paged.extend(rows);
                state = next;
                if state.is_none() {
                    break;
                }
            }
            assert!(state.is_none(), "{cql}: paging did not end");
            let sorted = |mut rows: Vec<Vec<Option<Bytes>>>| {
                rows.sort();
                rows
            };
            assert_eq!(sorted(paged), sorted(all), "{cql}");
        }
        server.stop().await;
    }

    /// An unpaged SELECT longer than one internal page goes on where each page ended
    /// (inside a partition: by engine key), every row once and in order; a paging state
    /// sent without a page size is ignored.
    #[tokio::test]
    async fn an_unpaged_select_reads_on_past_an_internal_page() {
        let server = TestServer::start().await;
        let mut client = server.client().await;
        schema(&mut client).await;
        let count = super::INTERNAL_PAGE_ROWS + 30;
        for first in (0..count).step_by(250) {
            let inserts: String = (first..count.min(first + 250))
                .map(|c| format!("INSERT INTO ks.t (k, c, v) VALUES (1, {c}, 'v'); "))
                .collect();
            client
                .run(&format!("BEGIN UNLOGGED BATCH {inserts}APPLY BATCH"))
                .await;
        }
        let (_, state) = page(&mut client, "SELECT c FROM ks.t", Some(5), None).await;
        assert!(state.is_some());
        for state in [None, state] {
            let (rows, next) = page(&mut client, "SELECT c FROM ks.t", None, state).await;
            assert_eq!(next, None);
            let expected: Vec<_> = (0..count as i32)
                .map(|c| vec![Some(Bytes::copy_from_slice(&c.to_be_bytes()))])
                .collect();
            assert!(rows == expected, "{} rows", rows.len());
        }
        server.stop().await;
    }

    /// An unpaged SELECT is read in internal pages and refused once its result could not
    /// fit the frame limit, instead of materialising every row first.
    #[tokio::test]
    async fn an_unpaged_select_is_bounded_by_the_frame_limit() {
        let server = TestServer::with_config(|c| c.max_frame_bytes = 256 << 10).await;
        let mut client = server.client().await;
        schema(&mut client).await;
        let text = "y".repeat(1000);
        for c in 0..400 {
            client
                .run(&format!(
                    "INSERT INTO ks.t (k, c, v) VALUES (1, {c}, '{text}')"
                ))
                .await;
        }
        // 100 rows fit; 400 rows of 1 kB do not.
        let (rows, _) = page(&mut client, "SELECT * FROM ks.t LIMIT 100", None, None).await;
        assert_eq!(rows.len(), 100);
        let reply = client.query("SELECT * FROM ks.t").await;
        match reply {
            Response::Error(e) => {
                assert_eq!(e.kind, ErrorKind::Invalid, "{}", e.message);
                assert!(e.message.contains("page size"), "{}", e.message);
            }
            other => panic!("{other:?}"),
        }
        // Paged, the same query works.
        let (rows, next) = page(&mut client, "SELECT * FROM ks.t", Some(100), None).await;
        assert_eq!((rows.len(), next.is_some()), (100, true));
        server.stop().await;
    }
}
