//! JSON support: `SELECT JSON` rows and `INSERT ... JSON`.
//!
//! Column names follow Cassandra's rule for JSON keys: a name that is not all lower case
//! is wrapped in double quotes (`{"\"Name\"": 1}`), so it reads back through INSERT JSON.

use bytes::Bytes;
use serde_json::Value as Json;
use strata_protocol::Value;

use super::eval::{self, BoundValues, Evaluated, Receiver};
use super::functions::OutputColumn;
use crate::cql::ast::{BindMarker, InsertStatement, InsertValues, Term};
use crate::error::{CqlError, CqlResult};
use crate::schema::Table;
use crate::types::{self, CqlType, NativeType};

/// Bound on the JSON text of one INSERT or fromJson() call.
const MAX_JSON_BYTES: usize = 16 << 20;

/// The JSON key of a column name.
fn json_key(name: &str) -> String {
    if name == name.to_lowercase() {
        name.to_string()
    } else {
        format!("\"{name}\"")
    }
}

fn json_string(text: &str) -> String {
    serde_json::Value::String(text.to_string()).to_string()
}

/// One `SELECT JSON` row: `{"k": 1, "v": "x"}` with Cassandra's spacing.
pub fn row_to_json(columns: &[OutputColumn], row: &[Option<Bytes>]) -> String {
    let fields: Vec<String> = columns
        .iter()
        .zip(row)
        .map(|(c, v)| {
            let value = v
                .as_deref()
                .map_or_else(|| "null".to_string(), |v| types::to_json(&c.ty, v));
            format!("{}: {value}", json_string(&json_key(&c.name)))
        })
        .collect();
    format!("{{{}}}", fields.join(", "))
}

fn parse_json(text: &[u8]) -> Result<Json, String> {
    if text.len() > MAX_JSON_BYTES {
        return Err(format!("JSON text longer than {MAX_JSON_BYTES} bytes"));
    }
    serde_json::from_slice(text).map_err(|e| e.to_string())
}

/// The JSON text of an INSERT JSON value or fromJson() argument (a string literal or a
/// bind marker).
fn json_text(term: &Term, bound: &BoundValues, what: &str) -> CqlResult<Vec<u8>> {
    let text = CqlType::Native(NativeType::Text);
    eval::evaluate_required(
        term,
        &Receiver {
            name: what,
            ty: &text,
        },
        bound,
        &format!("for {what}"),
    )
}

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
        let decoded = types::from_json(&table.types[index], json).map_err(|e| {
            CqlError::invalid(format!(
                "Error decoding JSON value for {}: {e}",
                table.def.columns[index].name
            ))
        })?;
        values[index] = decoded.map_or(Value::Null, |v| Value::Set(Bytes::from(v)));
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

/// `fromJson(text)` as a term for a receiver of known type.
pub fn from_json_term(
    args: &[Term],
    receiver: &Receiver<'_>,
    bound: &BoundValues,
) -> CqlResult<Evaluated> {
    let [arg] = args else {
        return Err(CqlError::invalid(format!("Invalid number of arguments in call to function system.fromjson: 1 required but {} provided", args.len())));
    };
    let text = json_text(arg, bound, "fromjson")?;
    let json = parse_json(&text).map_err(|e| {
        CqlError::invalid(format!(
            "Could not decode JSON string '{}': {e}",
            String::from_utf8_lossy(&text)
        ))
    })?;
    let value =
        types::from_json(receiver.ty, &json).map_err(|e| CqlError::invalid(e.to_string()))?;
    Ok(value.map_or(Evaluated::Null, Evaluated::Value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{CqlType, NativeType};

    #[test]
    fn keys_of_case_sensitive_names_are_quoted() {
        let columns = vec![
            OutputColumn {
                name: "k".into(),
                ty: CqlType::Native(NativeType::Int),
            },
            OutputColumn {
                name: "Name".into(),
                ty: CqlType::Native(NativeType::Text),
            },
            OutputColumn {
                name: "v".into(),
                ty: CqlType::Native(NativeType::Int),
            },
        ];
        let row = vec![
            Some(Bytes::from_static(&[0, 0, 0, 1])),
            Some(Bytes::from_static(b"x")),
            None,
        ];
        assert_eq!(
            row_to_json(&columns, &row),
            r#"{"k": 1, "\"Name\"": "x", "v": null}"#
        );
    }
}
