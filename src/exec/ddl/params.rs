//! The `compression` table option, validated and normalised as Cassandra 5.0's
//! `CompressionParams.fromMap` does: what `system_schema.tables` shows is Cassandra's `asMap`
//! of the parsed parameters, not the map as written (`compaction` is `super::compaction`).

use std::collections::BTreeMap;

use crate::error::{CqlError, CqlResult};

const COMPRESSION_PACKAGE: &str = "org.apache.cassandra.io.compress.";

/// The compressors of Cassandra 5.0.
const COMPRESSION_CLASSES: [&str; 5] = [
    "LZ4Compressor",
    "SnappyCompressor",
    "DeflateCompressor",
    "ZstdCompressor",
    "NoopCompressor",
];

/// Chunk length when none is given, in KiB.
const DEFAULT_CHUNK_LENGTH_KB: i32 = 16;

fn config(message: String) -> CqlError {
    CqlError::Config(message)
}

/// The class named by `name` (short names are in `package`), if it is one of `known`.
fn class_name(name: &str, package: &str, known: &[&str], readable: &str) -> CqlResult<String> {
    let full = if name.contains('.') {
        name.to_string()
    } else {
        format!("{package}{name}")
    };
    let short = full.strip_prefix(package).unwrap_or_default();
    if known.contains(&short) {
        Ok(full)
    } else {
        Err(config(format!("Unable to find {readable} class '{full}'")))
    }
}

/// `WITH compression = {...}`: `class` (or the legacy `sstable_compression`), the chunk
/// length (`chunk_length_in_kb`, or the legacy `chunk_length_kb`), or `enabled: false`.
pub fn compression(mut options: BTreeMap<String, String>) -> CqlResult<BTreeMap<String, String>> {
    let enabled = options
        .remove("enabled")
        .is_none_or(|v| v.eq_ignore_ascii_case("true"));
    let has_class = options.contains_key("class") || options.contains_key("sstable_compression");
    if enabled && !options.is_empty() && !has_class {
        return Err(config(
            "Missing sub-option 'class' for the 'compression' option.".into(),
        ));
    }
    if !enabled {
        if !options.is_empty() {
            return Err(config(
                "If the 'enabled' option is set to false no other options must be specified".into(),
            ));
        }
        return Ok(disabled());
    }
    let class = match (options.remove("class"), options.remove("sstable_compression")) {
        (Some(_), Some(_)) => return Err(config("The 'sstable_compression' option must not be used if the compression algorithm is already specified by the 'class' option".into())),
        (Some(class), None) if class.is_empty() => return Err(config("The 'class' option must not be empty. To disable compression use 'enabled' : false".into())),
        (Some(class), None) | (None, Some(class)) => class,
        (None, None) => String::new(),
    };
    let chunk = match (
        options.remove("chunk_length_in_kb"),
        options.remove("chunk_length_kb"),
    ) {
        (Some(_), Some(_)) => return Err(config("The 'chunk_length_kb' option must not be used if the chunk length is already specified by the 'chunk_length_in_kb' option".into())),
        (Some(kb), None) | (None, Some(kb)) => chunk_length(&kb)?,
        (None, None) => DEFAULT_CHUNK_LENGTH_KB,
    };
    // An empty legacy class disables compression (Cassandra parses it to no compressor).
    if class.is_empty() {
        return Ok(disabled());
    }
    let class = class_name(
        &class,
        COMPRESSION_PACKAGE,
        &COMPRESSION_CLASSES,
        "compression",
    )?;
    options.insert("class".into(), class);
    options.insert("chunk_length_in_kb".into(), chunk.to_string());
    Ok(options)
}

fn disabled() -> BTreeMap<String, String> {
    BTreeMap::from([("enabled".to_string(), "false".to_string())])
}

/// A chunk length in KiB: a positive power of two (`CompressionParams.validate`).
fn chunk_length(text: &str) -> CqlResult<i32> {
    let kb: i32 = text
        .parse()
        .map_err(|_| config("Invalid value for chunk_length_in_kb".into()))?;
    if kb > i32::MAX / 1024 {
        return Err(config(format!(
            "Value of chunk_length_in_kb is too large ({kb})"
        )));
    }
    if kb <= 0 {
        return Err(config("Invalid negative or null chunk_length_in_kb".into()));
    }
    if kb.count_ones() != 1 {
        return Err(config("chunk_length_in_kb must be a power of 2".into()));
    }
    Ok(kb)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
        entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn compression_follows_cassandra() {
        assert_eq!(
            compression(map(&[
                ("sstable_compression", "LZ4Compressor"),
                ("chunk_length_kb", "64")
            ]))
            .unwrap(),
            map(&[
                ("class", "org.apache.cassandra.io.compress.LZ4Compressor"),
                ("chunk_length_in_kb", "64")
            ])
        );
        assert_eq!(
            compression(map(&[
                ("sstable_compression", ""),
                ("chunk_length_kb", "32")
            ]))
            .unwrap(),
            map(&[("enabled", "false")])
        );
        assert_eq!(
            compression(map(&[("class", "SnappyCompressor")])).unwrap()["chunk_length_in_kb"],
            "16"
        );
        assert!(compression(map(&[("chunk_length_in_kb", "32")])).is_err());
        assert!(compression(map(&[
            ("class", "SnappyCompressor"),
            ("chunk_length_in_kb", "3")
        ]))
        .is_err());
        assert!(compression(map(&[("class", "NoSuchCompressor")])).is_err());
    }
}
