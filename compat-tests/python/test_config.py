"""Strict configuration, as Cassandra: the binary is started with cassandra.yaml files."""

import socket
import subprocess

import pytest

from driver_helpers import process_harness

START_TIMEOUT_S = 30
free_ports = process_harness().free_ports


def write_yaml(tmp_path, text):
    path = tmp_path / "cassandra.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def run_refused(binary, tmp_path, yaml_text):
    """Starts the node with the yaml; it must exit by itself with an error. Returns stderr."""
    config = write_yaml(tmp_path, yaml_text)
    native, admin, storage = free_ports(3)
    run = subprocess.run(
        [binary, "--config", config, "--data-dir", str(tmp_path / "data"),
         "--native-port", str(native), "--admin-port", str(admin),
         "--storage-port", str(storage)],
        capture_output=True, text=True, timeout=START_TIMEOUT_S, check=False)
    assert run.returncode != 0, f"node started with a yaml it must refuse:\n{run.stderr}"
    assert not (tmp_path / "data").exists(), "refused before touching the data directory"
    return run.stderr


def test_unknown_key_stops_startup_with_cassandras_message(strata, tmp_path):
    stderr = run_refused(strata.binary, tmp_path, "cluster_name: c\nnum_token: 8\nfoo_bar: 1\n")
    assert ("Invalid yaml. Please remove properties [num_token, foo_bar] from your cassandra.yaml"
            in stderr), stderr


def test_production_security_settings_are_refused_not_ignored(strata, tmp_path):
    stderr = run_refused(strata.binary, tmp_path, (
        "authenticator: com.example.LdapAuthenticator\n"
        "authorizer: com.example.CustomAuthorizer\n"
        "server_encryption_options:\n  internode_encryption: all\n  keystore: conf/.keystore\n"))
    for key in ("authenticator: com.example.LdapAuthenticator",
                "authorizer: com.example.CustomAuthorizer",
                "server_encryption_options: internode_encryption: all"):
        assert key in stderr, f"{key!r} not refused:\n{stderr}"
    assert stderr.count("refusing to start") == 3, stderr


def test_every_bad_value_is_reported_once_with_its_key_and_form(strata, tmp_path):
    stderr = run_refused(strata.binary, tmp_path, (
        "num_tokens: lots\nnative_transport_port: 99999\nmemtable_heap_space: 64\n"
        "commitlog_sync_period: soon\n"))
    for line in (
            'Invalid value for num_tokens: "lots"; expected an integer from 1 to 65536',
            "Invalid value for native_transport_port: 99999; expected a port number from 0 to 65535",
            "Invalid value for memtable_heap_space: 64; expected a data size with its unit",
            'Invalid value for commitlog_sync_period: "soon"; expected a duration with its unit'):
        assert stderr.count(line) == 1, f"{line!r}:\n{stderr}"


def test_unimplemented_keys_are_listed_and_the_period_alone_is_honoured(tmp_path, strata_factory):
    config = write_yaml(tmp_path, (
        "concurrent_reads: 64\nhinted_handoff_enabled: true\ncommitlog_sync_period: 2500ms\n"
        "authenticator: AllowAllAuthenticator\n"
        "client_encryption_options:\n  enabled: false\n  keystore: conf/.keystore\n"))
    node = strata_factory.start(["--config", config])
    log = node.log_tail(200)
    assert ("properties Strata does not implement, ignored: [concurrent_reads, "
            "hinted_handoff_enabled]") in log, log
    assert "commitlog_sync: periodic, commitlog_sync_period: 2500ms" in log, log


def test_admin_endpoint_binds_its_own_address_and_logs_its_url(strata_factory):
    admin = "127.0.0.3"
    node = strata_factory.start(["--admin-address", admin])
    assert f"on http://{admin}:{node.admin_port}/" in node.log_tail(200)
    run = subprocess.run(
        [node.binary, "nodetool", "-h", admin, "-p", str(node.admin_port), "info"],
        capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 0, run.stderr
    # Not reachable on the CQL/listen address.
    with pytest.raises(OSError):
        socket.create_connection((node.host, node.admin_port), timeout=2).close()

