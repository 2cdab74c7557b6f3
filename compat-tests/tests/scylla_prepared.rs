//! Prepared-statement paths of the ScyllaDB Rust driver that the core suite does not take:
//! skip-metadata EXECUTEs (the driver decodes rows with the metadata cached at PREPARE, so the
//! server answers No_metadata with only the column count) and lightweight transactions inside
//! a batch (the batch answers with `[applied]` rows).

// Each test file compiles its own copy of the shared harness and uses a part of it.
#[allow(dead_code)]
mod common;

use common::{node_with_table, select_all, TestResult};
use futures::TryStreamExt;
use scylla::statement::batch::{Batch, BatchType};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn skip_metadata_executes_decode_with_cached_metadata() -> TestResult {
    let (_node, session) = node_with_table(
        "rs_skip",
        "CREATE TABLE rs_skip.t (k int, c int, v text, s set<int>, PRIMARY KEY (k, c))",
        None,
    )
    .await?;
    let insert = session
        .prepare("INSERT INTO rs_skip.t (k, c, v, s) VALUES (?, ?, ?, ?)")
        .await?;
    for c in 0..25 {
        session
            .execute_unpaged(&insert, (1_i32, c, format!("v{c}"), vec![c, c + 1]))
            .await?;
    }

    let mut select = session
        .prepare("SELECT c, v, s FROM rs_skip.t WHERE k = ?")
        .await?;
    select.set_use_cached_result_metadata(true);
    assert!(select.get_use_cached_result_metadata());

    // One page: every row and every column decoded with the metadata cached at PREPARE.
    let rows: Vec<(i32, String, Vec<i32>)> = session
        .execute_unpaged(&select, (1_i32,))
        .await?
        .into_rows_result()?
        .rows::<(i32, String, Vec<i32>)>()?
        .collect::<Result<_, _>>()?;
    let expected: Vec<(i32, String, Vec<i32>)> = (0..25)
        .map(|c| (c, format!("v{c}"), vec![c, c + 1]))
        .collect();
    assert_eq!(rows, expected);

    // Several pages: every page after the first also skips metadata and carries a paging state.
    select.set_page_size(7);
    let paged: Vec<(i32, String, Vec<i32>)> = session
        .execute_iter(select.clone(), (1_i32,))
        .await?
        .rows_stream::<(i32, String, Vec<i32>)>()?
        .try_collect()
        .await?;
    assert_eq!(paged, expected);

    // An empty result and a single-column projection skip metadata too.
    let none = session
        .execute_unpaged(&select, (2_i32,))
        .await?
        .into_rows_result()?;
    assert_eq!(none.rows_num(), 0);
    let mut count = session
        .prepare("SELECT count(*) FROM rs_skip.t WHERE k = ?")
        .await?;
    count.set_use_cached_result_metadata(true);
    let (n,): (i64,) = session
        .execute_unpaged(&count, (1_i32,))
        .await?
        .into_rows_result()?
        .single_row()?;
    assert_eq!(n, 25);
    Ok(())
}

/// A not-applied conditional batch row: `[applied]`, then the checked row's k, c and v.
type CasRow = (bool, i32, i32, String);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lightweight_transactions_inside_a_batch() -> TestResult {
    let (_node, session) = node_with_table(
        "rs_lwt_batch",
        "CREATE TABLE rs_lwt_batch.t (k int, c int, v text, PRIMARY KEY (k, c))",
        None,
    )
    .await?;
    let insert = session
        .prepare("INSERT INTO rs_lwt_batch.t (k, c, v) VALUES (?, ?, ?) IF NOT EXISTS")
        .await?;
    let update = session
        .prepare("UPDATE rs_lwt_batch.t SET v = ? WHERE k = ? AND c = ? IF v = ?")
        .await?;

    let mut create = Batch::new(BatchType::Logged);
    create.append_statement(insert.clone());
    create.append_statement(insert.clone());
    let applied = session
        .batch(&create, ((1_i32, 1_i32, "a"), (1_i32, 2_i32, "b")))
        .await?
        .into_rows_result()?;
    // A batch whose conditions all hold answers one `[applied] = true` row.
    let column_names: Vec<&str> = applied.column_specs().iter().map(|c| c.name()).collect();
    assert_eq!(column_names, ["[applied]"]);
    let (was_applied,): (bool,) = applied.single_row()?;
    assert!(was_applied);

    // The same inserts again: not applied, and the answer carries the existing rows.
    let rejected = session
        .batch(&create, ((1_i32, 1_i32, "x"), (1_i32, 2_i32, "y")))
        .await?
        .into_rows_result()?;
    let column_names: Vec<&str> = rejected.column_specs().iter().map(|c| c.name()).collect();
    assert_eq!(column_names, ["[applied]", "k", "c", "v"]);
    let mut existing: Vec<CasRow> = rejected.rows::<CasRow>()?.collect::<Result<_, _>>()?;
    existing.sort();
    assert_eq!(
        existing,
        [(false, 1, 1, "a".to_owned()), (false, 1, 2, "b".to_owned()),]
    );

    // Conditional updates in one batch: applied only when every condition holds.
    let mut swap = Batch::new(BatchType::Logged);
    swap.append_statement(update.clone());
    swap.append_statement(update.clone());
    let (was_applied,): (bool,) = session
        .batch(&swap, (("A", 1_i32, 1_i32, "a"), ("B", 1_i32, 2_i32, "b")))
        .await?
        .into_rows_result()?
        .first_row::<(bool,)>()?;
    assert!(was_applied);
    // A failed condition answers `[applied] = false` with the primary key and the condition's
    // columns of the rows checked (Cassandra adds the key columns in batches).
    let mut failed: Vec<CasRow> = session
        .batch(
            &swap,
            (("X", 1_i32, 1_i32, "A"), ("Y", 1_i32, 2_i32, "wrong")),
        )
        .await?
        .into_rows_result()?
        .rows::<CasRow>()?
        .collect::<Result<_, _>>()?;
    failed.sort();
    assert_eq!(
        failed,
        [(false, 1, 1, "A".to_owned()), (false, 1, 2, "B".to_owned())]
    );

    let mut rows: Vec<(i32, String)> =
        select_all(&session, "SELECT c, v FROM rs_lwt_batch.t WHERE k = 1").await?;
    rows.sort();
    assert_eq!(rows, [(1, "A".to_owned()), (2, "B".to_owned())]);
    Ok(())
}
