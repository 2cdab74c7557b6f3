//! `nodetool scrub`: rewrites the engine arrays holding tables' data without their damaged
//! blocks (`Engine::scrub`) and reports, in the output and the log, what was dropped.

use strata_engine::{Engine, VersionId};

use crate::damage::describe;
use crate::error::CqlError;
use crate::node::Node;

/// `nodetool scrub [keyspace [tables...]]`: rewrites the arrays holding the tables' data
/// without their damaged blocks and reports what was dropped.
pub fn scrub(node: &Node, args: &[String]) -> Result<String, CqlError> {
    let catalog = node.catalog();
    // Cassandra's options (--no-snapshot, --skip-corrupted, --jobs N, ...) change nothing
    // here: damaged blocks are always skipped, and a snapshot would share the same files.
    let mut names = Vec::new();
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        match arg.as_str() {
            "-j" | "--jobs" => {
                iter.next();
            }
            option if option.starts_with('-') => {}
            name => names.push(name.to_string()),
        }
    }
    let targets: Vec<String> = match names.split_first() {
        None => Vec::new(),
        Some((keyspace, [])) => vec![keyspace.clone()],
        Some((keyspace, tables)) => tables.iter().map(|t| format!("{keyspace}.{t}")).collect(),
    };
    let engine = node.engine();
    let mut versions = Vec::new();
    for table in crate::snapshot::selected(&catalog, &targets)? {
        let head = engine.writable_head(table.def.data_version)?;
        versions.extend(root_path(engine, head));
    }
    versions.sort_unstable();
    versions.dedup();
    let scrubbed = engine.scrub(Some(&versions))?;
    let mut out = String::new();
    if scrubbed.is_empty() {
        out.push_str("Scrub found no damaged data\n");
    }
    for s in &scrubbed {
        let line = format!(
            "Scrubbed {}: kept {} entries in {}, dropped {} damaged block(s)",
            s.file,
            s.entries_kept,
            s.replacement.as_deref().unwrap_or("no file"),
            s.dropped.len()
        );
        tracing::warn!("{line}");
        out.push_str(&line);
        out.push('\n');
        for d in &s.dropped {
            let line = format!("  dropped {}", describe(d));
            tracing::warn!("Scrub{line}");
            out.push_str(&line);
            out.push('\n');
        }
    }
    Ok(out)
}

/// `version` and its ancestors: the versions whose entries a read at `version` sees.
fn root_path(engine: &Engine, version: VersionId) -> Vec<VersionId> {
    let mut path = Vec::new();
    let mut at = Some(version);
    while let Some(v) = at {
        path.push(v);
        at = engine.version_info(v).and_then(|i| i.parent);
    }
    path
}
