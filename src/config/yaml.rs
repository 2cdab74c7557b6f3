//! Strict reading of `cassandra.yaml`, as Cassandra's `YamlConfigurationLoader` does.
//!
//! Each top-level property is one of:
//! - implemented: a row of [`KEYS`] applies it to the [`Config`];
//! - a Cassandra 5.0 property Strata does not implement ([`CASSANDRA_KEYS`]): accepted and
//!   listed at start as ignored, unless ignoring it would weaken security, in which case its
//!   row in [`KEYS`] refuses any value but the harmless default;
//! - anything else: startup stops with Cassandra's own message.
//!
//! Every problem is reported, each once, naming the property and the form it accepts.
//! To implement a property, add its row to [`KEYS`] (and its field to `Config`).

use std::net::IpAddr;

use serde_yaml_ng::Value;

use super::cassandra_keys::CASSANDRA_KEYS;
use super::encryption::{self, Side};
use super::{
    inline, parse_duration_ms, parse_ip, parse_size, scalar_text, split_list, Config, Snitch,
    SNITCH,
};

/// One implemented property.
struct Key {
    name: &'static str,
    /// The accepted form, quoted when a value does not have it.
    form: &'static str,
    apply: fn(&mut Config, &Value) -> Result<(), Reject>,
}

/// Why a property's value was not applied.
enum Reject {
    /// Not of the key's accepted form.
    Form,
    /// Well-formed, but Strata refuses to start with it; the text says why.
    Refused(String),
}

const SIZE: &str = "a data size with its unit, B, KiB, MiB or GiB (e.g. 64MiB)";
const DURATION: &str = "a duration with its unit, ms, s, m, h or d (e.g. 10000ms)";
const MEBIBYTES: &str = "a whole number of mebibytes";
const MILLIS: &str = "a whole number of milliseconds";
const UPDATE_MILLIS: &str = "a whole number of milliseconds, or -1 for the validity";
const IP: &str = "an IP address or localhost";
const PORT: &str = "a port number from 0 to 65535";
const TEXT: &str = "a string";

/// The implemented properties, in `cassandra.yaml` order where it has one.
const KEYS: &[Key] = &[
    Key {
        name: "cluster_name",
        form: TEXT,
        apply: |c, v| text(v).map(|t| c.cluster_name = t),
    },
    Key {
        name: "num_tokens",
        form: "an integer from 1 to 65536",
        apply: |c, v| {
            c.num_tokens = parse(v)
                .filter(|n| (1..=65536).contains(n))
                .ok_or(Reject::Form)?;
            Ok(())
        },
    },
    Key {
        name: "partitioner",
        form: "org.apache.cassandra.dht.Murmur3Partitioner",
        apply: |_, v| {
            let class = text(v)?;
            match short_class(&class) {
            "Murmur3Partitioner" => Ok(()),
            _ => Err(Reject::Refused(format!("partitioner {class} is not supported: Strata places data with org.apache.cassandra.dht.Murmur3Partitioner only"))),
        }
        },
    },
    Key {
        name: "authenticator",
        form: "a class name, or a map with class_name",
        apply: |c, v| {
            c.password_authenticator = implemented_class(
                v,
                "AllowAllAuthenticator",
                "PasswordAuthenticator",
                "authentication",
                "authenticator",
            )?;
            Ok(())
        },
    },
    Key {
        name: "authorizer",
        form: "a class name, or a map with class_name",
        apply: |c, v| {
            c.cassandra_authorizer = implemented_class(
                v,
                "AllowAllAuthorizer",
                "CassandraAuthorizer",
                "authorization",
                "authorizer",
            )?;
            Ok(())
        },
    },
    Key {
        name: "network_authorizer",
        form: "a class name, or a map with class_name",
        apply: |_, v| {
            only_default(
                v,
                "AllowAllNetworkAuthorizer",
                "network authorization",
                "network_authorizer",
            )
        },
    },
    Key {
        name: "cidr_authorizer",
        form: "a class name, or a map with class_name",
        apply: |_, v| {
            only_default(
                v,
                "AllowAllCIDRAuthorizer",
                "CIDR authorization",
                "cidr_authorizer",
            )
        },
    },
    Key {
        name: "seed_provider",
        form: "a list of {class_name, parameters: [{seeds: \"host,host\"}]}",
        apply: |c, v| {
            let providers: Vec<SeedProvider> =
                serde_yaml_ng::from_value(v.clone()).map_err(|_| Reject::Form)?;
            let seeds = providers
                .into_iter()
                .flat_map(|p| p.parameters)
                .find_map(|p| p.seeds);
            if let Some(list) = seeds {
                c.seeds = split_list(&list);
            }
            Ok(())
        },
    },
    Key {
        name: "data_file_directories",
        form: "a list of one directory",
        apply: |c, v| {
            let dirs: Vec<String> =
                serde_yaml_ng::from_value(v.clone()).map_err(|_| Reject::Form)?;
            match dirs.as_slice() {
                [dir] => {
                    c.data_dir = dir.into();
                    Ok(())
                }
                _ => Err(Reject::Form),
            }
        },
    },
    Key {
        name: "commitlog_sync",
        form: "periodic, batch or group",
        apply: |c, v| c.set_commitlog_sync(&text(v)?).ok_or(Reject::Form),
    },
    Key {
        name: "commitlog_sync_period",
        form: DURATION,
        apply: |c, v| {
            c.set_commitlog_sync_period(duration_ms(v)?)
                .ok_or(Reject::Form)
        },
    },
    Key {
        name: "commitlog_sync_period_in_ms",
        form: MILLIS,
        apply: |c, v| {
            c.set_commitlog_sync_period(parse(v).ok_or(Reject::Form)?)
                .ok_or(Reject::Form)
        },
    },
    Key {
        name: "disk_access_mode",
        form: "auto, mmap, mmap_index_only or standard",
        apply: |c, v| {
            c.disk_access_mode = super::DiskAccessMode::from_name(&text(v)?).ok_or(Reject::Form)?;
            Ok(())
        },
    },
    Key {
        name: "disk_failure_policy",
        form: "stop, stop_paranoid, die, best_effort or ignore",
        apply: |c, v| {
            c.disk_failure_policy =
                super::DiskFailurePolicy::from_name(&text(v)?).ok_or(Reject::Form)?;
            Ok(())
        },
    },
    Key {
        name: "roles_validity",
        form: DURATION,
        apply: |c, v| duration_ms(v).map(|ms| c.roles_validity_ms = ms),
    },
    Key {
        name: "roles_validity_in_ms",
        form: MILLIS,
        apply: |c, v| millis(v).map(|ms| c.roles_validity_ms = ms),
    },
    Key {
        name: "roles_update_interval",
        form: DURATION,
        apply: |c, v| update_interval(v).map(|ms| c.roles_update_interval_ms = ms),
    },
    Key {
        name: "roles_update_interval_in_ms",
        form: UPDATE_MILLIS,
        apply: |c, v| update_interval_ms(v).map(|ms| c.roles_update_interval_ms = ms),
    },
    Key {
        name: "permissions_validity",
        form: DURATION,
        apply: |c, v| duration_ms(v).map(|ms| c.permissions_validity_ms = ms),
    },
    Key {
        name: "permissions_validity_in_ms",
        form: MILLIS,
        apply: |c, v| millis(v).map(|ms| c.permissions_validity_ms = ms),
    },
    Key {
        name: "permissions_update_interval",
        form: DURATION,
        apply: |c, v| update_interval(v).map(|ms| c.permissions_update_interval_ms = ms),
    },
    Key {
        name: "permissions_update_interval_in_ms",
        form: UPDATE_MILLIS,
        apply: |c, v| update_interval_ms(v).map(|ms| c.permissions_update_interval_ms = ms),
    },
    Key {
        name: "credentials_validity",
        form: DURATION,
        apply: |c, v| duration_ms(v).map(|ms| c.credentials_validity_ms = ms),
    },
    Key {
        name: "credentials_validity_in_ms",
        form: MILLIS,
        apply: |c, v| millis(v).map(|ms| c.credentials_validity_ms = ms),
    },
    Key {
        name: "credentials_update_interval",
        form: DURATION,
        apply: |c, v| update_interval(v).map(|ms| c.credentials_update_interval_ms = ms),
    },
    Key {
        name: "credentials_update_interval_in_ms",
        form: UPDATE_MILLIS,
        apply: |c, v| update_interval_ms(v).map(|ms| c.credentials_update_interval_ms = ms),
    },
    Key {
        name: "read_request_timeout",
        form: DURATION,
        apply: |c, v| duration_ms(v).map(|ms| c.read_request_timeout_ms = ms),
    },
    Key {
        name: "read_request_timeout_in_ms",
        form: MILLIS,
        apply: |c, v| millis(v).map(|ms| c.read_request_timeout_ms = ms),
    },
    Key {
        name: "range_request_timeout",
        form: DURATION,
        apply: |c, v| duration_ms(v).map(|ms| c.range_request_timeout_ms = ms),
    },
    Key {
        name: "range_request_timeout_in_ms",
        form: MILLIS,
        apply: |c, v| millis(v).map(|ms| c.range_request_timeout_ms = ms),
    },
    Key {
        name: "cas_contention_timeout",
        form: DURATION,
        apply: |c, v| duration_ms(v).map(|ms| c.cas_contention_timeout_ms = ms),
    },
    Key {
        name: "cas_contention_timeout_in_ms",
        form: MILLIS,
        apply: |c, v| millis(v).map(|ms| c.cas_contention_timeout_ms = ms),
    },
    Key {
        name: "write_request_timeout",
        form: DURATION,
        apply: |c, v| duration_ms(v).map(|ms| c.write_request_timeout_ms = ms),
    },
    Key {
        name: "write_request_timeout_in_ms",
        form: MILLIS,
        apply: |c, v| millis(v).map(|ms| c.write_request_timeout_ms = ms),
    },
    Key {
        name: "memtable_heap_space",
        form: SIZE,
        apply: |c, v| size(v).map(|n| c.memtable_bytes = n),
    },
    Key {
        name: "memtable_heap_space_in_mb",
        form: MEBIBYTES,
        apply: |c, v| mebibytes(v).map(|n| c.memtable_bytes = n),
    },
    Key {
        name: "compaction_large_partition_warning_threshold",
        form: SIZE,
        apply: |c, v| size(v).map(|n| c.large_partition_warning_bytes = n as u64),
    },
    Key {
        name: "compaction_large_partition_warning_threshold_mb",
        form: MEBIBYTES,
        apply: |c, v| mebibytes(v).map(|n| c.large_partition_warning_bytes = n as u64),
    },
    Key {
        name: "file_cache_size",
        form: SIZE,
        apply: |c, v| size(v).map(|n| c.block_cache_bytes = n),
    },
    Key {
        name: "file_cache_size_in_mb",
        form: MEBIBYTES,
        apply: |c, v| mebibytes(v).map(|n| c.block_cache_bytes = n),
    },
    Key {
        name: "listen_address",
        form: IP,
        apply: |c, v| ip(v).map(|a| c.listen_address = a),
    },
    Key {
        name: "broadcast_address",
        form: IP,
        apply: |c, v| ip(v).map(|a| c.broadcast_address = Some(a)),
    },
    Key {
        name: "rpc_address",
        form: IP,
        apply: |c, v| ip(v).map(|a| c.rpc_address = a),
    },
    Key {
        name: "broadcast_rpc_address",
        form: IP,
        apply: |c, v| ip(v).map(|a| c.broadcast_rpc_address = Some(a)),
    },
    Key {
        name: "endpoint_snitch",
        form: SNITCH,
        apply: |c, v| {
            c.endpoint_snitch = Snitch::from_name(&text(v)?).ok_or(Reject::Form)?;
            Ok(())
        },
    },
    Key {
        name: "storage_port",
        form: PORT,
        apply: |c, v| port(v).map(|p| c.storage_port = p),
    },
    Key {
        name: "native_transport_port",
        form: PORT,
        apply: |c, v| port(v).map(|p| c.native_transport_port = p),
    },
    Key {
        name: "native_transport_max_frame_size",
        form: SIZE,
        apply: |c, v| size(v).map(|n| c.max_frame_bytes = n),
    },
    Key {
        name: "native_transport_max_frame_size_in_mb",
        form: MEBIBYTES,
        apply: |c, v| mebibytes(v).map(|n| c.max_frame_bytes = n),
    },
    Key {
        name: "native_transport_max_concurrent_connections",
        form: "-1 (no limit) or a positive integer",
        apply: |c, v| {
            // Cassandra's -1 means unlimited; Strata keeps its own bound then.
            match parse::<i64>(v).ok_or(Reject::Form)? {
                -1 => Ok(()),
                n if n > 0 => {
                    c.max_connections = usize::try_from(n).map_err(|_| Reject::Form)?;
                    Ok(())
                }
                _ => Err(Reject::Form),
            }
        },
    },
    Key {
        name: "native_transport_port_ssl",
        form: PORT,
        apply: |c, v| port(v).map(|p| c.native_transport_port_ssl = Some(p)),
    },
    Key {
        name: "client_encryption_options",
        form: "a map of encryption options",
        apply: |c, v| {
            c.client_encryption =
                encryption_options(c, "client_encryption_options", v, Side::Client)?;
            Ok(())
        },
    },
    Key {
        name: "server_encryption_options",
        form: "a map of encryption options",
        apply: |c, v| {
            c.server_encryption =
                encryption_options(c, "server_encryption_options", v, Side::Server)?;
            Ok(())
        },
    },
    Key {
        name: "transparent_data_encryption_options",
        form: "a map of encryption options",
        apply: |_, v| {
            refuse_enabled(
                v,
                "transparent_data_encryption_options",
                "data would be written to disk unencrypted",
            )
        },
    },
    // Strata's own properties (no cassandra.yaml counterpart).
    Key {
        name: "admin_address",
        form: IP,
        apply: |c, v| ip(v).map(|a| c.admin_address = a),
    },
    Key {
        name: "admin_port",
        form: PORT,
        apply: |c, v| port(v).map(|p| c.admin_port = p),
    },
    Key {
        name: "metrics_address",
        form: IP,
        apply: |c, v| ip(v).map(|a| c.metrics_address = Some(a)),
    },
    Key {
        name: "metrics_port",
        form: PORT,
        apply: |c, v| port(v).map(|p| c.metrics_port = p),
    },
    Key {
        name: "dc",
        form: TEXT,
        apply: |c, v| text(v).map(|t| c.dc = t),
    },
    Key {
        name: "rack",
        form: TEXT,
        apply: |c, v| text(v).map(|t| c.rack = t),
    },
];

#[derive(serde::Deserialize)]
struct SeedProvider {
    #[serde(default)]
    parameters: Vec<SeedParameters>,
}

#[derive(serde::Deserialize)]
struct SeedParameters {
    seeds: Option<String>,
}

/// Applies the YAML document `text` to `config`. On failure returns every problem, each
/// once: unknown properties first (in Cassandra's words), then bad values.
pub(super) fn apply(config: &mut Config, text: &str) -> Result<(), Vec<String>> {
    let document: Value =
        serde_yaml_ng::from_str(text).map_err(|e| vec![format!("Invalid yaml: {e}")])?;
    let properties = match document {
        Value::Null => return Ok(()),
        Value::Mapping(m) => m,
        _ => {
            return Err(vec![
                "Invalid yaml: expected a map of properties at the top level".into(),
            ])
        }
    };
    let mut unknown = Vec::new();
    let mut problems = Vec::new();
    for (name, value) in &properties {
        let Some(name) = name.as_str() else {
            problems.push(format!(
                "Invalid yaml: property names must be strings, found {}",
                inline(name)
            ));
            continue;
        };
        if let Some(key) = KEYS.iter().find(|k| k.name == name) {
            // An empty value leaves the default, as Cassandra does for nullable properties.
            if value.is_null() {
                continue;
            }
            match (key.apply)(config, value) {
                Ok(()) => {}
                Err(Reject::Form) => problems.push(format!(
                    "Invalid value for {name}: {}; expected {}",
                    inline(value),
                    key.form
                )),
                Err(Reject::Refused(why)) => problems.push(why),
            }
        } else if CASSANDRA_KEYS.binary_search(&name).is_ok() {
            config.ignored_properties.push(name.to_string());
        } else {
            unknown.push(name);
        }
    }
    if !unknown.is_empty() {
        problems.insert(
            0,
            format!(
                "Invalid yaml. Please remove properties [{}] from your cassandra.yaml",
                unknown.join(", ")
            ),
        );
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// The text of a scalar (YAML reads `8` as a number, `8MiB` as a string; both are text here).
fn text(value: &Value) -> Result<String, Reject> {
    scalar_text(value).ok_or(Reject::Form)
}

fn parse<T: std::str::FromStr>(value: &Value) -> Option<T> {
    text(value).ok()?.trim().parse().ok()
}

fn port(value: &Value) -> Result<u16, Reject> {
    parse(value).ok_or(Reject::Form)
}

fn ip(value: &Value) -> Result<IpAddr, Reject> {
    parse_ip(&text(value)?).ok_or(Reject::Form)
}

fn size(value: &Value) -> Result<usize, Reject> {
    parse_size(&text(value)?).ok_or(Reject::Form)
}

fn mebibytes(value: &Value) -> Result<usize, Reject> {
    parse::<usize>(value)
        .and_then(|mb| mb.checked_mul(1 << 20))
        .ok_or(Reject::Form)
}

fn duration_ms(value: &Value) -> Result<u64, Reject> {
    parse_duration_ms(&text(value)?).ok_or(Reject::Form)
}

fn millis(value: &Value) -> Result<u64, Reject> {
    parse(value).ok_or(Reject::Form)
}

/// A cache's `*_update_interval` (`-1`, as the `_in_ms` form allows: the validity).
fn update_interval(value: &Value) -> Result<Option<u64>, Reject> {
    if text(value)?.trim() == "-1" {
        return Ok(None);
    }
    duration_ms(value).map(Some)
}

fn update_interval_ms(value: &Value) -> Result<Option<u64>, Reject> {
    match parse::<i64>(value) {
        Some(-1) => Ok(None),
        Some(ms) => u64::try_from(ms).map(Some).map_err(|_| Reject::Form),
        None => Err(Reject::Form),
    }
}

/// A `*_encryption_options` map; its accepted-but-ignored options join the ignored list.
fn encryption_options(
    c: &mut Config,
    key: &str,
    v: &Value,
    side: Side,
) -> Result<encryption::EncryptionOptions, Reject> {
    let options = encryption::parse(key, v, side).map_err(Reject::Refused)?;
    c.ignored_properties.extend(options.ignored.iter().cloned());
    Ok(options)
}

/// `org.apache.cassandra.auth.PasswordAuthenticator` -> `PasswordAuthenticator`.
fn short_class(class: &str) -> &str {
    class.trim().rsplit('.').next().unwrap_or(class)
}

/// The class of a pluggable property (Cassandra 5.0 takes a name or `{class_name,
/// parameters}`), short or with its package.
fn class_name(value: &Value) -> Result<String, Reject> {
    match value {
        Value::Mapping(m) => m.get("class_name").ok_or(Reject::Form).and_then(text),
        other => text(other),
    }
}

/// The refusal of a class Strata does not implement: running without it would open the node.
fn not_implemented(class: &str, default: &str, what: &str, key: &str) -> Reject {
    Reject::Refused(format!(
        "{key}: {class} is not implemented by Strata yet; refusing to start without {what} \
         (set {key} to {default} or remove it to run without {what})"
    ))
}

/// A pluggable class that Strata implements only in its allow-everything form.
fn only_default(value: &Value, default: &str, what: &str, key: &str) -> Result<(), Reject> {
    let class = class_name(value)?;
    if short_class(&class) == default {
        return Ok(());
    }
    Err(not_implemented(&class, default, what, key))
}

/// A pluggable class with one implemented alternative to its allow-everything default:
/// whether `implemented` was chosen; any other class is refused.
fn implemented_class(
    value: &Value,
    default: &str,
    implemented: &str,
    what: &str,
    key: &str,
) -> Result<bool, Reject> {
    let class = class_name(value)?;
    match short_class(&class) {
        short if short == default => Ok(false),
        short if short == implemented => Ok(true),
        _ => Err(not_implemented(&class, default, what, key)),
    }
}

/// Transparent data encryption: Strata does not encrypt its files, so a map that turns it
/// on (`enabled` true) is refused.
fn refuse_enabled(value: &Value, key: &str, consequence: &str) -> Result<(), Reject> {
    let Value::Mapping(options) = value else {
        return Err(Reject::Form);
    };
    match options.get("enabled").map(text).transpose()?.as_deref() {
        None | Some("false") => Ok(()),
        Some("true") => Err(Reject::Refused(format!(
            "{key}: enabled: true is not implemented by Strata yet; refusing to start because {consequence} \
             (set enabled: false to run without encryption)"
        ))),
        Some(_) => Err(Reject::Form),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(yaml: &str) -> Result<Config, Vec<String>> {
        let mut config = Config::default();
        apply(&mut config, yaml).map(|()| config)
    }

    #[test]
    fn cassandra_key_list_is_sorted_for_binary_search() {
        assert!(CASSANDRA_KEYS.windows(2).all(|w| w[0] < w[1]));
        for key in KEYS.iter().filter(|k| {
            !matches!(
                k.name,
                "admin_address" | "admin_port" | "metrics_address" | "metrics_port" | "dc" | "rack"
            )
        }) {
            assert!(
                CASSANDRA_KEYS.binary_search(&key.name).is_ok(),
                "{} is not a Cassandra property",
                key.name
            );
        }
    }

    #[test]
    fn auth_cache_times_default_to_cassandras_and_are_honoured() {
        let ms = std::time::Duration::from_millis;
        let times = Config::default().auth_cache_times();
        for t in [times.roles, times.permissions, times.credentials] {
            assert_eq!((t.validity, t.refresh), (ms(2000), ms(2000)));
        }
        let c = load(
            "roles_validity: 5s\nroles_update_interval: 1000ms\npermissions_validity_in_ms: 0\n\
             credentials_validity: 3000ms\ncredentials_update_interval_in_ms: -1\n\
             permissions_update_interval: -1\n",
        )
        .expect("valid");
        let times = c.auth_cache_times();
        assert_eq!(
            (times.roles.validity, times.roles.refresh),
            (ms(5000), ms(1000))
        );
        assert!(!times.permissions.enabled());
        assert_eq!(
            (times.credentials.validity, times.credentials.refresh),
            (ms(3000), ms(3000))
        );
        let settings = c.settings();
        let setting = |name: &str| {
            settings
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(setting("roles_validity").as_deref(), Some("5000ms"));
        assert_eq!(setting("roles_update_interval").as_deref(), Some("1000ms"));
        assert_eq!(setting("permissions_validity").as_deref(), Some("0ms"));
        let problems = load("roles_validity: 2\n").expect_err("no unit");
        assert!(
            problems.iter().any(|p| p.contains("roles_validity")),
            "{problems:?}"
        );
    }

    #[test]
    fn unknown_keys_stop_startup_with_cassandras_message() {
        let problems = load("num_token: 8\ncluster_name: x\nfoo: 1\n").expect_err("unknown keys");
        assert_eq!(
            problems,
            vec![
                "Invalid yaml. Please remove properties [num_token, foo] from your cassandra.yaml"
            ]
        );
    }

    #[test]
    fn known_but_unimplemented_keys_are_listed() {
        let c = load("concurrent_reads: 64\nhinted_handoff_enabled: true\nnum_tokens: 4\n")
            .expect("valid");
        assert_eq!(
            c.ignored_properties,
            vec!["concurrent_reads", "hinted_handoff_enabled"]
        );
        assert_eq!(c.num_tokens, 4);
    }

    #[test]
    fn disk_access_mode_takes_cassandras_values_and_maps_data_unless_told_not_to() {
        use crate::config::DiskAccessMode;
        assert_eq!(Config::default().disk_access_mode, DiskAccessMode::Auto);
        assert!(DiskAccessMode::Auto.maps_data());
        for (name, maps) in [
            ("auto", true),
            ("mmap", true),
            ("mmap_index_only", false),
            ("standard", false),
        ] {
            let c = load(&format!("disk_access_mode: {name}\n")).expect(name);
            assert_eq!(
                (c.disk_access_mode.name(), c.disk_access_mode.maps_data()),
                (name, maps)
            );
            assert!(c.ignored_properties.is_empty());
        }
        assert_eq!(
            load("disk_access_mode: direct\n").expect_err("not a 5.0 value"),
            vec!["Invalid value for disk_access_mode: \"direct\"; expected auto, mmap, mmap_index_only or standard"]
        );
    }

    #[test]
    fn every_bad_value_is_reported_once_with_its_form() {
        let problems = load("num_tokens: many\nmemtable_heap_space: 64\nlisten_address: nowhere\ncommitlog_sync: sometimes\n")
            .expect_err("bad values");
        assert_eq!(
            problems,
            vec![
                "Invalid value for num_tokens: \"many\"; expected an integer from 1 to 65536",
                "Invalid value for memtable_heap_space: 64; expected a data size with its unit, B, KiB, MiB or GiB (e.g. 64MiB)",
                "Invalid value for listen_address: \"nowhere\"; expected an IP address or localhost",
                "Invalid value for commitlog_sync: \"sometimes\"; expected periodic, batch or group",
            ]
        );
    }

    #[test]
    fn security_settings_are_refused_unless_harmless() {
        load("authenticator: AllowAllAuthenticator\nauthorizer: org.apache.cassandra.auth.AllowAllAuthorizer\n\
              client_encryption_options:\n  enabled: false\n  keystore: conf/.keystore\n\
              server_encryption_options:\n  internode_encryption: none\n")
        .expect("defaults are fine");
        load("authenticator:\n  class_name: org.apache.cassandra.auth.AllowAllAuthenticator\n")
            .expect("5.0 map form");
        let c = load("authenticator:\n  class_name: org.apache.cassandra.auth.PasswordAuthenticator\nauthorizer: CassandraAuthorizer\n")
            .expect("implemented");
        assert!(c.password_authenticator && c.cassandra_authorizer);
        for yaml in [
            "authenticator: com.example.LdapAuthenticator\n",
            "authenticator:\n  class_name: org.apache.cassandra.auth.MutualTlsAuthenticator\n",
            "authorizer: com.example.CustomAuthorizer\n",
            "server_encryption_options:\n  internode_encryption: all\n  keystore: k.pem\n",
            "transparent_data_encryption_options:\n  enabled: true\n",
        ] {
            let problems = load(yaml).expect_err(yaml);
            assert!(
                problems.len() == 1 && problems[0].contains("refusing to start"),
                "{yaml}: {problems:?}"
            );
        }
    }

    #[test]
    fn request_timeouts_in_both_forms() {
        let c = load("").expect("valid");
        assert_eq!(
            (c.write_request_timeout_ms, c.read_request_timeout_ms),
            (2_000, 5_000)
        );
        let c = load("write_request_timeout: 500ms\nread_request_timeout_in_ms: 7000\n")
            .expect("valid");
        assert_eq!(
            (c.write_request_timeout_ms, c.read_request_timeout_ms),
            (500, 7_000)
        );
        assert_eq!(c.cas_contention_timeout_ms, 1_000);
        assert_eq!(c.range_request_timeout_ms, 10_000);
        let c = load("range_request_timeout: 20s\n").expect("valid");
        assert_eq!(c.range_request_timeout_ms, 20_000);
        let c = load("range_request_timeout_in_ms: 1500\n").expect("valid");
        assert_eq!(c.range_request_timeout_ms, 1_500);
        let c = load("cas_contention_timeout: 3s\n").expect("valid");
        assert_eq!(c.cas_contention_timeout_ms, 3_000);
        let c = load("cas_contention_timeout_in_ms: 250\n").expect("valid");
        assert_eq!(c.cas_contention_timeout_ms, 250);
        let c =
            load("write_request_timeout_in_ms: 100\nread_request_timeout: 1s\n").expect("valid");
        assert_eq!(
            (c.write_request_timeout_ms, c.read_request_timeout_ms),
            (100, 1_000)
        );
        assert!(
            load("write_request_timeout: 2\n").is_err(),
            "a duration needs its unit"
        );
    }

    #[test]
    fn commitlog_sync_period_is_honoured_on_its_own_and_in_any_order() {
        use super::super::CommitlogSync;
        let c = load("commitlog_sync_period: 2s\n").expect("valid");
        assert_eq!(
            c.commitlog_sync,
            CommitlogSync::Periodic { period_ms: 2000 }
        );
        let c =
            load("commitlog_sync_period_in_ms: 500\ncommitlog_sync: periodic\n").expect("valid");
        assert_eq!(c.commitlog_sync, CommitlogSync::Periodic { period_ms: 500 });
        let c = load("commitlog_sync: batch\ncommitlog_sync_period: 3s\n").expect("valid");
        assert_eq!(c.commitlog_sync, CommitlogSync::Batch);
        assert_eq!(c.commitlog_sync_period_ms, 3000);
        assert!(
            load("commitlog_sync_period: 0ms\n").is_err(),
            "a zero period never syncs"
        );
    }

    #[test]
    fn empty_and_null_documents_keep_defaults() {
        assert!(load("").is_ok());
        assert!(load("# only a comment\n").is_ok());
        assert_eq!(
            load("cluster_name:\n").expect("null").cluster_name,
            "Test Cluster"
        );
        assert!(load("- a\n- b\n").is_err());
    }
}
