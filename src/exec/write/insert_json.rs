//! `INSERT ... JSON`: the statement rewritten as the equivalent `INSERT ... VALUES`.
//!
//! JSON keys follow Cassandra's rule: a quoted key is case-sensitive, others are
//! lower-cased (the inverse of the `SELECT JSON` key rule in `expr::json`).

use bytes::Bytes;
use serde_json::Value as Json;
use strata_protocol::Value;

use crate::cql::ast::{BindMarker, InsertStatement, InsertValues, Term};
use crate::error::{CqlError, CqlResult};
use crate::exec::expr::eval::{json_text, BoundValues};
use crate::exec::expr::json::parse_json;
use crate::schema::Table;
use crate::types;

/// The column a JSON key names: quoted keys are case-sensitive, others are lower-cased.
fn column_for_key(table: &Table, key: &str) -> CqlResult<usize> {
    let name = match key.strip_prefix('"').and_then(|k| k.strip_suffix('"')) {
        Some(quoted) => quoted.replace("\"\"", "\""),
        None => key.to_lowercase(),
    };
    table.column_index(&name).ok_or_else(|| {
        CqlError::invalid(format!(
            "JSON values map contains unrecognized column: {name}"
        ))
    })
}

/// Rewrites `INSERT INTO t JSON '...' [DEFAULT NULL|UNSET]` as the equivalent
/// `INSERT INTO t (c1, c2, ...) VALUES (?, ?, ...)` with its own bound values, so the
/// write path treats both forms alike. Columns missing from the JSON are null (DEFAULT
/// NULL, the default) or left untouched (DEFAULT UNSET).
pub fn expand_insert(
    table: &Table,
    statement: &InsertStatement,
    bound: &BoundValues,
) -> CqlResult<(InsertStatement, BoundValues)> {
    let InsertValues::Json {
        value,
        default_unset,
    } = &statement.values
    else {
        return Ok((statement.clone(), bound.clone()));
    };
    // Json.PreparedMarker's message for a null bound JSON string.
    if matches!(value, Term::Bind(m) if matches!(bound.values.get(m.index), Some(Value::Null))) {
        return Err(CqlError::invalid("Got null for INSERT JSON values"));
    }
    let text = json_text(value, bound, "[json]")?;
    let Json::Object(map) = parse_json(&text)
        .map_err(|e| CqlError::invalid(format!("Could not decode JSON string as a map: {e}")))?
    else {
        return Err(CqlError::invalid(
            "Could not decode JSON string as a map: not a JSON object",
        ));
    };
    let missing = if *default_unset {
        Value::Unset
    } else {
        Value::Null
    };
    let mut values: Vec<Value> = vec![missing; table.def.columns.len()];
    for (key, json) in &map {
        let index = column_for_key(table, key)?;
        let (column, ty) = table.column(index)?;
        let decoded = types::from_json(ty, json).map_err(|e| {
            CqlError::invalid(format!(
                "Error decoding JSON value for {}: {e}",
                column.name
            ))
        })?;
        if let Some(value) = values.get_mut(index) {
            *value = decoded.map_or(Value::Null, |v| Value::Set(Bytes::from(v)));
        }
    }
    let columns = table.def.columns.iter().map(|c| c.name.clone()).collect();
    let terms = (0..values.len())
        .map(|index| Term::Bind(BindMarker { index, name: None }))
        .collect();
    let expanded = InsertStatement {
        values: InsertValues::Columns {
            columns,
            values: terms,
        },
        ..statement.clone()
    };
    Ok((expanded, BoundValues { values }))
}
