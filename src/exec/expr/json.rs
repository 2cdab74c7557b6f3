//! JSON text: `SELECT JSON` rows and the parsing of `INSERT ... JSON` and `fromJson()`
//! input (`write::insert_json`, `eval`).
//!
//! Column names follow Cassandra's rule for JSON keys: a name that is not all lower case
//! is wrapped in double quotes (`{"\"Name\"": 1}`), so it reads back through INSERT JSON.

use bytes::Bytes;
use serde_json::Value as Json;

use crate::types::{self, CqlType};

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

/// One `SELECT JSON` row: `{"k": 1, "v": "x"}` with Cassandra's spacing, from the
/// (name, type) of each output column and the row's values.
pub fn row_to_json<'a>(
    columns: impl IntoIterator<Item = (&'a str, &'a CqlType)>,
    row: &[Option<Bytes>],
) -> String {
    let fields: Vec<String> = columns
        .into_iter()
        .zip(row)
        .map(|((name, ty), v)| {
            let value = v
                .as_deref()
                .map_or_else(|| "null".to_string(), |v| types::to_json(ty, v));
            format!("{}: {value}", json_string(&json_key(name)))
        })
        .collect();
    format!("{{{}}}", fields.join(", "))
}

pub fn parse_json(text: &[u8]) -> Result<Json, String> {
    if text.len() > MAX_JSON_BYTES {
        return Err(format!("JSON text longer than {MAX_JSON_BYTES} bytes"));
    }
    serde_json::from_slice(text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{CqlType, NativeType};

    #[test]
    fn keys_of_case_sensitive_names_are_quoted() {
        let (int, text) = (
            CqlType::Native(NativeType::Int),
            CqlType::Native(NativeType::Text),
        );
        let columns = [("k", &int), ("Name", &text), ("v", &int)];
        let row = vec![
            Some(Bytes::from_static(&[0, 0, 0, 1])),
            Some(Bytes::from_static(b"x")),
            None,
        ];
        assert_eq!(
            row_to_json(columns, &row),
            r#"{"k": 1, "\"Name\"": "x", "v": null}"#
        );
    }
}
