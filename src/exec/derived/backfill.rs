//! Building a new index or view from the rows its base table already holds: the base is
//! read in batches through the coordinator and what each row derives is written to the
//! index's or view's own branch.
//!
//! The build runs once the index or view is committed to the schema, so every replica
//! knows its table when the built rows arrive, and writes racing the build update it
//! themselves (a build before the commit would miss them). It reads and writes at QUORUM,
//! so that a QUORUM read through any node sees the built rows when CREATE returns and a
//! base row acknowledged at QUORUM is never missed for being absent on the coordinator's
//! replica; with too few replicas alive for QUORUM it builds at ONE, from what the live
//! replicas hold (Cassandra builds each node's part from its local data alone).
//!
//! Invariant: bounded memory, whatever the base size: one batch of `BUILD_BATCH_ROWS`
//! rows and their derived updates at a time.

use std::sync::Arc;

use strata_protocol::Consistency;

use crate::cluster::{Branch, CoordinatorError, ReadCommand, ReadTarget, TableWrite, WriteCommand};
use crate::error::CqlResult;
use crate::exec::context::Context;
use crate::exec::plan::rows::{FullRow, RowAssembler};
use crate::schema::Table;
use crate::storage::PartitionUpdate;

/// Base rows read per batch while building an index or view from existing data.
const BUILD_BATCH_ROWS: usize = 1_000;

/// Fills a derived table (index storage or view) from the rows its base already holds:
/// reads the base in batches and writes what `derive` makes of each row.
pub async fn build_from_base(
    ctx: &Context<'_>,
    base: &Arc<Table>,
    target: &Arc<Table>,
    mut derive: impl FnMut(&FullRow) -> CqlResult<Vec<PartitionUpdate>>,
) -> CqlResult<()> {
    let mut resume = None;
    let mut level = Consistency::Quorum;
    loop {
        let command = ReadCommand {
            table: base.clone(),
            branch: Branch::Main,
            target: ReadTarget::TokenRange {
                start: std::ops::Bound::Unbounded,
                end: std::ops::Bound::Unbounded,
            },
            row_limit: BUILD_BATCH_ROWS,
            per_partition_limit: None,
            resume_after: resume.take(),
            resume_partition_rows: 0,
            now_secs: crate::clock::now_secs(),
        };
        let result = match ctx.node.coordinator().read(command.clone(), level).await {
            Err(CoordinatorError::Unavailable { .. }) if level != Consistency::One => {
                level = Consistency::One;
                ctx.node.coordinator().read(command, level).await?
            }
            other => other?,
        };
        let mut assembler = RowAssembler::new(base);
        let mut updates = Vec::new();
        for row in result
            .items
            .into_iter()
            .filter_map(|item| assembler.push(item))
        {
            updates.extend(derive(&row)?);
        }
        if !updates.is_empty() {
            let write = WriteCommand {
                tables: vec![TableWrite {
                    table: target.clone(),
                    branch: Branch::Main,
                    updates,
                }],
            };
            ctx.node.coordinator().mutate(write, level).await?;
        }
        match result.resume_key {
            Some(key) => resume = Some(key),
            None => return Ok(()),
        }
    }
}
