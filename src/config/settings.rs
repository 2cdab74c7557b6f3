//! The configuration in force as `system_views.settings` shows it: one (name, value) per
//! property, under its `cassandra.yaml` name (Cassandra 5.0's, with units in the value),
//! plus Strata's own properties.

use super::{CommitlogSync, Config, Snitch};

impl Config {
    /// Every property Strata implements with its effective value, sorted by name (the
    /// fixed `partitioner` is the system tables' to add).
    pub fn settings(&self) -> Vec<(&'static str, String)> {
        let sync = match self.commitlog_sync {
            CommitlogSync::Batch => "batch",
            CommitlogSync::Periodic { .. } => "periodic",
        };
        let snitch = match self.endpoint_snitch {
            Snitch::Simple => "SimpleSnitch",
            Snitch::GossipingPropertyFile => "GossipingPropertyFileSnitch",
        };
        let seeds = self.seeds.join(",");
        let interval = |ms: Option<u64>, validity: u64| format!("{}ms", ms.unwrap_or(validity));
        let mut settings = vec![
            (
                "credentials_update_interval",
                interval(
                    self.credentials_update_interval_ms,
                    self.credentials_validity_ms,
                ),
            ),
            (
                "credentials_validity",
                format!("{}ms", self.credentials_validity_ms),
            ),
            (
                "permissions_update_interval",
                interval(
                    self.permissions_update_interval_ms,
                    self.permissions_validity_ms,
                ),
            ),
            (
                "permissions_validity",
                format!("{}ms", self.permissions_validity_ms),
            ),
            (
                "roles_update_interval",
                interval(self.roles_update_interval_ms, self.roles_validity_ms),
            ),
            ("roles_validity", format!("{}ms", self.roles_validity_ms)),
            ("admin_address", self.admin_address.to_string()),
            ("admin_port", self.admin_port.to_string()),
            ("broadcast_address", self.broadcast_address().to_string()),
            (
                "broadcast_rpc_address",
                self.broadcast_rpc_address().to_string(),
            ),
            ("cluster_name", self.cluster_name.clone()),
            ("commitlog_sync", sync.to_string()),
            (
                "commitlog_sync_period",
                format!("{}ms", self.commitlog_sync_period_ms),
            ),
            (
                "data_file_directories",
                format!("[{}]", self.data_dir.display()),
            ),
            (
                "compaction_large_partition_warning_threshold",
                format!("{}KiB", self.large_partition_warning_bytes >> 10),
            ),
            ("dc", self.dc.clone()),
            ("disk_access_mode", self.disk_access_mode.name().to_string()),
            (
                "endpoint_snitch",
                format!("org.apache.cassandra.locator.{snitch}"),
            ),
            ("file_cache_size", mebibytes(self.block_cache_bytes)),
            ("listen_address", self.listen_address.to_string()),
            ("memtable_heap_space", mebibytes(self.memtable_bytes)),
            (
                "metrics_address",
                self.metrics_address
                    .unwrap_or(self.listen_address)
                    .to_string(),
            ),
            ("metrics_port", self.metrics_port.to_string()),
            (
                "native_transport_max_concurrent_connections",
                self.max_connections.to_string(),
            ),
            (
                "native_transport_max_frame_size",
                mebibytes(self.max_frame_bytes),
            ),
            (
                "native_transport_port",
                self.native_transport_port.to_string(),
            ),
            ("num_tokens", self.num_tokens.to_string()),
            ("rack", self.rack.clone()),
            (
                "range_request_timeout",
                format!("{}ms", self.range_request_timeout_ms),
            ),
            (
                "read_request_timeout",
                format!("{}ms", self.read_request_timeout_ms),
            ),
            ("rpc_address", self.rpc_address.to_string()),
            (
                "cas_contention_timeout",
                format!("{}ms", self.cas_contention_timeout_ms),
            ),
            (
                "seed_provider.class_name",
                "org.apache.cassandra.locator.SimpleSeedProvider".to_string(),
            ),
            ("seed_provider.parameters", format!("{{seeds={seeds}}}")),
            ("storage_port", self.storage_port.to_string()),
            (
                "write_request_timeout",
                format!("{}ms", self.write_request_timeout_ms),
            ),
        ];
        settings.sort_by_key(|(name, _)| *name);
        settings
    }
}

fn mebibytes(bytes: usize) -> String {
    format!("{}MiB", bytes >> 20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_sorted_and_name_cassandra_properties_with_units() {
        let config = Config {
            seeds: vec!["127.0.0.1".into()],
            ..Config::default()
        };
        let settings = config.settings();
        assert!(settings.windows(2).all(|w| w[0].0 < w[1].0), "{settings:?}");
        let value = |name: &str| {
            settings
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(value("commitlog_sync").as_deref(), Some("periodic"));
        assert_eq!(value("commitlog_sync_period").as_deref(), Some("10000ms"));
        assert_eq!(value("memtable_heap_space").as_deref(), Some("64MiB"));
        assert_eq!(value("write_request_timeout").as_deref(), Some("2000ms"));
        assert_eq!(
            value("seed_provider.parameters").as_deref(),
            Some("{seeds=127.0.0.1}")
        );
        assert_eq!(value("metrics_port").as_deref(), Some("0"));
        assert_eq!(value("disk_access_mode").as_deref(), Some("auto"));
    }
}
