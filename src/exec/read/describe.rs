//! Server-side DESCRIBE, answered in the result shapes cqlsh 6.x prints: listings
//! (`keyspace_name, type, name`), elements (`..., create_statement`) and the cluster
//! summary (`cluster, partitioner, snitch[, range_ownership]`).

use bytes::Bytes;
use strata_protocol::{ColType, ColumnSpec, ResultBody, Rows, RowsMetadata};

use crate::cluster::placement::{range_owners, Strategy};
use crate::cql::ast::{Describe, DescribeTarget, QualifiedName};
use crate::error::{CqlError, CqlResult};
use crate::exec::context::Context;
use crate::schema::system_defs::is_virtual_keyspace;
use crate::schema::{
    ClusteringOrder, ColumnKind, Keyspace, KeyspaceDef, KeyspaceUdts, Table, TableDef, TypeDef,
};
use crate::system::PARTITIONER;
use crate::types::{
    maybe_quote_identifier as quote, serialize_list, serialize_map, CqlType, NativeType, UdtDef,
};

/// The snitch `DESCRIBE CLUSTER` names: Cassandra's default `SimpleSnitch` behind the
/// `DynamicEndpointSnitch` wrapper that `dynamic_snitch: true` (the default) installs,
/// with the package trimmed as DescribeStatement does.
const SNITCH: &str = "DynamicEndpointSnitch";

struct Output {
    columns: &'static [&'static str],
    rows: Vec<Vec<String>>,
}

impl Output {
    fn listing() -> Output {
        Output {
            columns: &["keyspace_name", "type", "name"],
            rows: Vec::new(),
        }
    }

    fn elements() -> Output {
        Output {
            columns: &["keyspace_name", "type", "name", "create_statement"],
            rows: Vec::new(),
        }
    }

    /// A listing row; names are quoted where CQL needs it, as Cassandra lists them.
    fn push_listed(&mut self, keyspace: &str, kind: &str, name: &str) {
        self.rows
            .push(vec![quote(keyspace), kind.to_string(), quote(name)]);
    }

    fn into_result(self) -> ResultBody {
        let columns = self
            .columns
            .iter()
            .map(|name| column(name, ColType::Varchar))
            .collect();
        rows_result(columns, self.rows.into_iter().map(text_row).collect())
    }
}

fn column(name: &str, col_type: ColType) -> ColumnSpec {
    ColumnSpec {
        keyspace: String::new(),
        table: String::new(),
        name: name.to_string(),
        col_type,
    }
}

fn text_row(values: Vec<String>) -> Vec<Option<Bytes>> {
    values.into_iter().map(|v| Some(Bytes::from(v))).collect()
}

/// A complete (unpaged) page of `rows`.
pub fn rows_result(columns: Vec<ColumnSpec>, rows: Vec<Vec<Option<Bytes>>>) -> ResultBody {
    ResultBody::Rows(Rows {
        metadata: RowsMetadata {
            columns,
            paging_state: None,
            no_metadata: false,
            new_metadata_id: None,
        },
        rows,
    })
}

/// `DESCRIBE CLUSTER` as Cassandra's DescribeStatement answers it: cluster name,
/// partitioner and snitch (packages trimmed), plus `range_ownership` when a keyspace other
/// than a system one is in use.
fn describe_cluster(ctx: &Context<'_>) -> CqlResult<ResultBody> {
    let partitioner = PARTITIONER.rsplit('.').next().unwrap_or(PARTITIONER);
    let mut columns: Vec<ColumnSpec> = ["cluster", "partitioner", "snitch"]
        .iter()
        .map(|name| column(name, ColType::Varchar))
        .collect();
    let mut row = text_row(vec![
        ctx.node.config().cluster_name.clone(),
        partitioner.to_string(),
        SNITCH.to_string(),
    ]);
    if let Some(ks) = ctx
        .keyspace
        .and_then(|name| ctx.catalog.keyspace(name))
        .filter(|ks| !ks.system)
    {
        let ownership_type = ColType::Map(
            Box::new(ColType::Varchar),
            Box::new(ColType::List(Box::new(ColType::Varchar))),
        );
        columns.push(column("range_ownership", ownership_type));
        row.push(Some(Bytes::from(range_ownership(ctx, &ks.def)?)));
    }
    Ok(rows_result(columns, vec![row]))
}

/// `map<text, list<text>>` from each token range's end token to its replicas' endpoints,
/// written as Cassandra 5.0 prints an `InetAddressAndPort` (`/127.0.0.1:7000`); the map
/// serialization sorts the keys as text, as Cassandra's does.
fn range_ownership(ctx: &Context<'_>, keyspace: &KeyspaceDef) -> CqlResult<Vec<u8>> {
    let port = ctx.node.config().storage_port;
    let strategy = Strategy::from_options(&keyspace.replication)
        .map_err(|e| CqlError::Config(e.to_string()))?;
    let mut entries = Vec::new();
    for (token, owners) in range_owners(&ctx.node.coordinator().ring(), &strategy) {
        let endpoints: Vec<_> = owners
            .iter()
            .map(|&a| Some(format!("/{}", std::net::SocketAddr::new(a, port)).into_bytes()))
            .collect();
        entries.push((
            Some(token.to_string().into_bytes()),
            Some(serialize_list(&endpoints)?),
        ));
    }
    Ok(serialize_map(&CqlType::Native(NativeType::Text), &entries)?)
}

pub fn execute(ctx: &Context<'_>, describe: &Describe) -> CqlResult<ResultBody> {
    let out = match &describe.target {
        DescribeTarget::Cluster => return describe_cluster(ctx),
        DescribeTarget::Keyspaces => {
            let mut out = Output::listing();
            for ks in by_name(ctx.catalog.keyspaces.values(), |k| &k.def.name) {
                out.push_listed(&ks.def.name, "keyspace", &ks.def.name);
            }
            out
        }
        DescribeTarget::Tables => {
            let mut out = Output::listing();
            for ks in listed_keyspaces(ctx) {
                for table in by_name(ks.tables.values(), |t| &t.def.name) {
                    out.push_listed(&ks.def.name, "table", &table.def.name);
                }
            }
            out
        }
        DescribeTarget::Keyspace { only, name } => {
            let name = name
                .clone()
                .or_else(|| ctx.keyspace.map(str::to_string))
                .ok_or_else(no_keyspace)?;
            let ks = keyspace(ctx, &name)?;
            let mut out = Output::elements();
            describe_keyspace(ks, !*only, &mut out);
            out
        }
        DescribeTarget::Schema { full } => {
            let mut out = Output::elements();
            for ks in ctx
                .catalog
                .keyspaces
                .values()
                .filter(|k| *full || !k.system)
            {
                describe_keyspace(ks, true, &mut out);
            }
            out
        }
        DescribeTarget::Table(name) => {
            let (ks, element) = (element_keyspace(ctx, name)?, &name.name);
            table_element(ks, element).ok_or_else(|| {
                CqlError::invalid(format!(
                    "Table '{element}' not found in keyspace '{}'",
                    ks.def.name
                ))
            })?
        }
        DescribeTarget::Index(name) => {
            let (ks, element) = (element_keyspace(ctx, name)?, &name.name);
            index_element(ks, element).ok_or_else(|| {
                CqlError::invalid(format!(
                    "Table for existing index '{element}' not found in '{}'",
                    ks.def.name
                ))
            })?
        }
        DescribeTarget::MaterializedView(name) => {
            let (ks, element) = (element_keyspace(ctx, name)?, &name.name);
            table_element(ks, element)
                .filter(|_| ks.tables.get(element).is_some_and(|t| t.view.is_some()))
                .ok_or_else(|| {
                    CqlError::invalid(format!(
                        "Materialized view '{element}' not found in '{}'",
                        ks.def.name
                    ))
                })?
        }
        DescribeTarget::Generic(name) => match (&name.keyspace, ctx.catalog.keyspace(&name.name)) {
            (None, Some(ks)) => {
                let mut out = Output::elements();
                describe_keyspace(ks, true, &mut out);
                out
            }
            _ => {
                let (ks, element) = (element_keyspace(ctx, name)?, &name.name);
                table_element(ks, element)
                    .or_else(|| index_element(ks, element))
                    .ok_or_else(|| {
                        CqlError::invalid(format!(
                            "'{element}' not found in keyspace '{}'",
                            ks.def.name
                        ))
                    })?
            }
        },
        DescribeTarget::Types => {
            let mut out = Output::listing();
            for ks in listed_keyspaces(ctx) {
                for name in by_name(ks.types.keys(), |n| n) {
                    out.push_listed(&ks.def.name, "type", name);
                }
            }
            out
        }
        DescribeTarget::Type(name) => {
            let (ks, element) = (element_keyspace(ctx, name)?, &name.name);
            type_element(ks, element).ok_or_else(|| {
                CqlError::invalid(format!(
                    "User defined type '{element}' not found in '{}'",
                    ks.def.name
                ))
            })?
        }
        DescribeTarget::Functions | DescribeTarget::Aggregates => Output::listing(),
        _ => {
            return Err(CqlError::invalid(
                "This DESCRIBE form is not supported by this node yet",
            ))
        }
    };
    Ok(out.into_result())
}

/// `items` in Cassandra's DESCRIBE order (`SchemaElement.NAME_COMPARATOR`): by name, ignoring case.
fn by_name<'a, T: 'a>(items: impl Iterator<Item = T>, name: impl Fn(&T) -> &str) -> Vec<T> {
    let mut items: Vec<T> = items.collect();
    items.sort_by_cached_key(|item| name(item).to_lowercase());
    items
}

/// The keyspaces a listing covers: the current one, else all of them by name.
fn listed_keyspaces<'c>(ctx: &'c Context<'_>) -> Vec<&'c Keyspace> {
    let keyspaces = ctx
        .catalog
        .keyspaces
        .values()
        .filter(|k| ctx.keyspace.is_none_or(|s| s == k.def.name));
    by_name(keyspaces, |k| &k.def.name)
}

fn no_keyspace() -> CqlError {
    CqlError::invalid("No keyspace specified and no current keyspace")
}

fn keyspace<'c>(ctx: &'c Context<'_>, name: &str) -> CqlResult<&'c Keyspace> {
    ctx.catalog
        .keyspace(name)
        .ok_or_else(|| CqlError::invalid(format!("'{name}' not found in keyspaces")))
}

/// The keyspace a named element is looked up in: its own, else the current one.
fn element_keyspace<'c>(ctx: &'c Context<'_>, name: &QualifiedName) -> CqlResult<&'c Keyspace> {
    let keyspace_name = name
        .keyspace
        .as_deref()
        .or(ctx.keyspace)
        .ok_or_else(no_keyspace)?;
    keyspace(ctx, keyspace_name)
}

fn table_element(ks: &Keyspace, name: &str) -> Option<Output> {
    let table = ks.tables.get(name)?;
    let mut out = Output::elements();
    push_table(&mut out, table);
    Some(out)
}

/// A table's CREATE TABLE row followed by one CREATE INDEX row per index.
fn push_table(out: &mut Output, table: &Table) {
    let keyspace = &table.def.keyspace;
    if let Some(info) = &table.view {
        let statement = create_table(&table.def);
        let options = statement
            .split_once(") WITH ")
            .map_or("", |(_, o)| o.trim_end_matches(';'));
        let view = crate::exec::derived::view::create_statement(table, info, options);
        out.rows.push(vec![
            keyspace.clone(),
            "materialized_view".into(),
            table.def.name.clone(),
            view,
        ]);
        return;
    }
    let statement = if is_virtual_keyspace(keyspace) {
        table_cql(&table.def, true)
    } else {
        create_table(&table.def)
    };
    out.rows.push(vec![
        keyspace.clone(),
        "table".into(),
        table.def.name.clone(),
        statement,
    ]);
    for index in &table.indexes {
        out.rows.push(vec![
            keyspace.clone(),
            "index".into(),
            index.name.clone(),
            crate::exec::derived::index::create_statement(index),
        ]);
    }
}

fn index_element(ks: &Keyspace, name: &str) -> Option<Output> {
    let index = ks
        .tables
        .values()
        .find_map(|t| t.indexes.iter().find(|i| i.name == name))?;
    let mut out = Output::elements();
    out.rows.push(vec![
        ks.def.name.clone(),
        "index".into(),
        index.name.clone(),
        crate::exec::derived::index::create_statement(index),
    ]);
    Some(out)
}

fn describe_keyspace(ks: &Keyspace, with_tables: bool, out: &mut Output) {
    out.rows.push(vec![
        ks.def.name.clone(),
        "keyspace".into(),
        ks.def.name.clone(),
        create_keyspace(&ks.def),
    ]);
    if with_tables {
        for ty in types_in_dependency_order(ks) {
            out.rows.push(vec![
                ks.def.name.clone(),
                "type".into(),
                ty.name.clone(),
                create_type(ty),
            ]);
        }
        for table in by_name(ks.tables.values(), |t| &t.def.name) {
            push_table(out, table);
        }
    }
}

/// The keyspace's types in Cassandra's order (`Types.sortedStream`): by name, except that a
/// type comes after every type its fields use, so the statements replay in order.
fn types_in_dependency_order(ks: &Keyspace) -> Vec<&TypeDef> {
    let resolver = KeyspaceUdts::new(&ks.def.name, &ks.types);
    let mut order: Vec<String> = Vec::new();
    for name in ks.types.keys() {
        if let Some(def) = resolver.resolve(name) {
            push_user_type(&def, &mut order);
        }
    }
    order.iter().filter_map(|name| ks.types.get(name)).collect()
}

/// Appends the user types `def`'s fields use (each after the ones it uses), then `def`.
fn push_user_type(def: &UdtDef, order: &mut Vec<String>) {
    for (_, field) in &def.fields {
        push_user_types(field, order);
    }
    if !order.contains(&def.name) {
        order.push(def.name.clone());
    }
}

fn push_user_types(ty: &CqlType, order: &mut Vec<String>) {
    match ty {
        CqlType::Udt { def, .. } => push_user_type(def, order),
        CqlType::List { element, .. }
        | CqlType::Set { element, .. }
        | CqlType::Vector { element, .. } => push_user_types(element, order),
        CqlType::Map { key, value, .. } => {
            push_user_types(key, order);
            push_user_types(value, order);
        }
        CqlType::Tuple(items) => items.iter().for_each(|item| push_user_types(item, order)),
        CqlType::Native(_) | CqlType::Custom(_) => {}
    }
}

fn type_element(ks: &Keyspace, name: &str) -> Option<Output> {
    let ty = ks.types.get(name)?;
    let mut out = Output::elements();
    out.rows.push(vec![
        ks.def.name.clone(),
        "type".into(),
        ty.name.clone(),
        create_type(ty),
    ]);
    Some(out)
}

/// `CREATE TYPE ks.name (\n    field type,\n ...\n);` as Cassandra describes a type.
fn create_type(ty: &TypeDef) -> String {
    let fields: Vec<String> = ty
        .field_names
        .iter()
        .zip(&ty.field_types)
        .map(|(n, t)| format!("    {} {t}", quote(n)))
        .collect();
    format!(
        "CREATE TYPE {}.{} (\n{}\n);",
        quote(&ty.keyspace),
        quote(&ty.name),
        fields.join(",\n")
    )
}

fn string_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn map_literal(map: &std::collections::BTreeMap<String, String>) -> String {
    let entries: Vec<String> = map
        .iter()
        .map(|(k, v)| format!("{}: {}", string_literal(k), string_literal(v)))
        .collect();
    format!("{{{}}}", entries.join(", "))
}

/// Replication with `class` first, as Cassandra prints it: built-in strategies by their
/// simple name, others by their full class name.
fn replication_literal(def: &KeyspaceDef) -> String {
    let class = def
        .replication
        .get("class")
        .map(String::as_str)
        .unwrap_or_default();
    let class = class
        .strip_prefix("org.apache.cassandra.locator.")
        .unwrap_or(class);
    let mut entries = vec![format!("'class': {}", string_literal(class))];
    entries.extend(
        def.replication
            .iter()
            .filter(|(k, _)| *k != "class")
            .map(|(k, v)| format!("{}: {}", string_literal(k), string_literal(v))),
    );
    format!("{{{}}}", entries.join(", "))
}

pub fn create_keyspace(def: &KeyspaceDef) -> String {
    format!(
        "CREATE KEYSPACE {} WITH replication = {}  AND durable_writes = {};",
        quote(&def.name),
        replication_literal(def),
        def.durable_writes
    )
}

fn format_double(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.1}")
    } else {
        v.to_string()
    }
}

pub fn create_table(def: &TableDef) -> String {
    table_cql(def, false)
}

/// `CREATE TABLE`, or for a virtual table Cassandra's commented `VIRTUAL TABLE` structure
/// (only the clustering order and the comment as options).
fn table_cql(def: &TableDef, virtual_table: bool) -> String {
    let single_key = def.partition_key.len() == 1 && def.clustering.is_empty();
    let mut lines: Vec<String> = def
        .columns
        .iter()
        .map(|c| {
            let mut line = format!("    {} {}", quote(&c.name), c.type_text);
            if c.kind == ColumnKind::Static {
                line.push_str(" static");
            }
            if single_key && c.kind == ColumnKind::PartitionKey {
                line.push_str(" PRIMARY KEY");
            }
            line
        })
        .collect();
    if !single_key {
        let pk: Vec<String> = def.partition_key.iter().map(|n| quote(n)).collect();
        let pk = match pk.as_slice() {
            [single] => single.clone(),
            _ => format!("({})", pk.join(", ")),
        };
        let clustering: Vec<String> = def.clustering.iter().map(|n| quote(n)).collect();
        let key = std::iter::once(pk)
            .chain(clustering)
            .collect::<Vec<_>>()
            .join(", ");
        lines.push(format!("    PRIMARY KEY ({key})"));
    }
    let o = &def.options;
    let mut options = Vec::new();
    if !def.clustering.is_empty() {
        let order: Vec<String> = def
            .clustering
            .iter()
            .filter_map(|n| def.column(n))
            .map(|c| {
                format!(
                    "{} {}",
                    quote(&c.name),
                    if c.order == ClusteringOrder::Desc {
                        "DESC"
                    } else {
                        "ASC"
                    }
                )
            })
            .collect();
        options.push(format!("CLUSTERING ORDER BY ({})", order.join(", ")));
    }
    if virtual_table {
        options.push(format!(
            "comment = {}",
            string_literal(&def.options.comment)
        ));
        return format!(
            "/*\nWarning: Table {ks}.{name} is a virtual table and cannot be recreated with CQL.\n\
             Structure, for reference:\nVIRTUAL TABLE {ks}.{name} (\n{}\n) WITH {};\n*/",
            lines.join(",\n"),
            options.join("\n    AND "),
            ks = quote(&def.keyspace),
            name = quote(&def.name),
        );
    }
    options.extend([
        format!(
            "additional_write_policy = {}",
            string_literal(&o.additional_write_policy)
        ),
        format!("allow_auto_snapshot = {}", o.allow_auto_snapshot),
        format!(
            "bloom_filter_fp_chance = {}",
            format_double(o.bloom_filter_fp_chance)
        ),
        format!("caching = {}", map_literal(&o.caching)),
        format!("cdc = {}", o.cdc),
        format!("comment = {}", string_literal(&o.comment)),
        format!("compaction = {}", map_literal(&o.compaction)),
        format!("compression = {}", map_literal(&o.compression)),
        format!("memtable = {}", string_literal(&o.memtable)),
        format!("crc_check_chance = {}", format_double(o.crc_check_chance)),
        format!("default_time_to_live = {}", o.default_time_to_live),
        "extensions = {}".to_string(),
        format!("gc_grace_seconds = {}", o.gc_grace_seconds),
        format!("incremental_backups = {}", o.incremental_backups),
        format!("max_index_interval = {}", o.max_index_interval),
        format!(
            "memtable_flush_period_in_ms = {}",
            o.memtable_flush_period_in_ms
        ),
        format!("min_index_interval = {}", o.min_index_interval),
        format!("read_repair = {}", string_literal(&o.read_repair)),
        format!(
            "speculative_retry = {}",
            string_literal(&o.speculative_retry)
        ),
    ]);
    format!(
        "CREATE TABLE {}.{} (\n{}\n) WITH {};",
        quote(&def.keyspace),
        quote(&def.name),
        lines.join(",\n"),
        options.join("\n    AND ")
    )
}

#[cfg(test)]
mod tests {

    /// Cassandra 5.0's `DescribeStatementTest.testDescribeVirtualTables`.
    #[test]
    fn virtual_tables_are_described_as_cassandra_does() {
        let columns = crate::schema::system_defs::system_keyspaces()
            .into_iter()
            .flat_map(|(_, tables)| tables)
            .find(|t| t.keyspace == "system_virtual_schema" && t.name == "columns")
            .expect("system_virtual_schema.columns");
        assert_eq!(
            table_cql(&columns, true),
            "/*\n\
             Warning: Table system_virtual_schema.columns is a virtual table and cannot be recreated with CQL.\n\
             Structure, for reference:\n\
             VIRTUAL TABLE system_virtual_schema.columns (\n    \
             keyspace_name text,\n    \
             table_name text,\n    \
             column_name text,\n    \
             clustering_order text,\n    \
             column_name_bytes blob,\n    \
             kind text,\n    \
             position int,\n    \
             type text,\n    \
             PRIMARY KEY (keyspace_name, table_name, column_name)\n\
             ) WITH CLUSTERING ORDER BY (table_name ASC, column_name ASC)\n    \
             AND comment = 'virtual column definitions';\n\
             */"
        );
    }

    use super::*;

    fn keyspace_with_types(types: &[(&str, &[&str])]) -> Keyspace {
        let def = |(name, field_types): &(&str, &[&str])| TypeDef {
            keyspace: "ks".into(),
            name: name.to_string(),
            field_names: (0..field_types.len()).map(|i| format!("f{i}")).collect(),
            field_types: field_types.iter().map(|t| t.to_string()).collect(),
        };
        Keyspace {
            def: KeyspaceDef {
                name: "ks".into(),
                replication: Default::default(),
                durable_writes: true,
            },
            tables: Default::default(),
            types: types.iter().map(|t| (t.0.to_string(), def(t))).collect(),
            system: false,
        }
    }

    #[test]
    fn types_are_described_by_name_each_after_the_types_it_uses() {
        let ks = keyspace_with_types(&[
            ("address", &["text", "frozen<list<frozen<phone>>>"]),
            ("Caps", &["int"]),
            ("phone", &["frozen<tuple<int, frozen<zone>>>"]),
            ("zone", &["text"]),
            ("alone", &["int"]),
        ]);
        let order: Vec<&str> = types_in_dependency_order(&ks)
            .iter()
            .map(|t| t.name.as_str())
            .collect();
        assert_eq!(order, ["Caps", "zone", "phone", "address", "alone"]);
    }

    #[test]
    fn listings_sort_names_ignoring_case() {
        let names = ["b", "C", "a", "D"];
        assert_eq!(by_name(names.iter(), |n| n), [&"a", &"b", &"C", &"D"]);
    }
}
