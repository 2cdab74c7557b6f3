"""`/metrics` on the admin endpoint: Prometheus text format, parsed by the reference
parser (prometheus_client), with Cassandra-equivalent latency histograms."""

import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from driver_helpers import connect, create_keyspace, process_harness

free_port = process_harness().free_port


@pytest.fixture
def node(strata_factory):
    return strata_factory.start()


def scrape(node):
    url = f"http://{node.host}:{node.admin_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        text = response.read().decode("utf-8")
    return {family.name: family for family in text_string_to_metric_families(text)}


def samples(family, name, **labels):
    return [s for s in family.samples
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())]


def test_metrics_parse_and_hold_latency_histograms(node):
    session = connect(node)
    try:
        create_keyspace(session, "metrics_ks")
        session.execute("CREATE TABLE metrics_ks.t (k int PRIMARY KEY, v int)")
        for i in range(20):
            session.execute("INSERT INTO metrics_ks.t (k, v) VALUES (%s, %s)", (i, i))
        for i in range(10):
            session.execute("SELECT v FROM metrics_ks.t WHERE k = %s", (i,)).one()
        list(session.execute("SELECT * FROM metrics_ks.t"))
        session.execute("INSERT INTO metrics_ks.t (k, v) VALUES (100, 1) IF NOT EXISTS")
        with pytest.raises(Exception):
            session.execute("SELECT * FROM metrics_ks.no_such_table")
        families = scrape(node)
    finally:
        session.cluster.shutdown()

    client = families["strata_client_request_latency_seconds"]
    assert client.type == "histogram"
    count = {scope: samples(client, "strata_client_request_latency_seconds_count", scope=scope)[0].value
             for scope in ("Read", "Write", "RangeSlice", "CASWrite", "CASRead")}
    assert count["Read"] >= 10 and count["Write"] >= 20, count
    assert count["RangeSlice"] >= 1 and count["CASWrite"] >= 1, count
    buckets = samples(client, "strata_client_request_latency_seconds_bucket", scope="Write")
    assert buckets[-1].labels["le"] == "+Inf" and buckets[-1].value == count["Write"]

    table = dict(keyspace="metrics_ks", table="t")
    writes = families["strata_table_write_latency_seconds"]
    assert samples(writes, "strata_table_write_latency_seconds_count", **table)[0].value >= 20
    reads = families["strata_table_read_latency_seconds"]
    assert samples(reads, "strata_table_read_latency_seconds_count", **table)[0].value >= 10

    for name in ("strata_requests", "strata_connections_opened", "strata_memtable_flushes",
                 "strata_compactions_completed"):
        assert families[name].type == "counter", name
    for name in ("strata_live_arrays", "strata_memtable_live_data_size_bytes",
                 "strata_connected_native_clients", "strata_commitlog_total_size_bytes"):
        assert families[name].type == "gauge", name
    errors = families["strata_cql_errors"]
    assert samples(errors, "strata_cql_errors_total", code="0x2200")[0].value >= 1
    assert "process_resident_memory_bytes" in families


def test_read_only_metrics_listener(strata_factory):
    """`--metrics-port` serves GET /metrics and nothing else (the admin verbs stay on the
    admin endpoint)."""
    port = free_port()
    node = strata_factory.start(["--metrics-address", "127.0.0.1", "--metrics-port", str(port)])
    url = f"http://127.0.0.1:{port}"
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        assert response.status == 200
        families = {f.name for f in text_string_to_metric_families(response.read().decode())}
    assert "strata_client_request_latency_seconds" in families, families
    for method, path in (("GET", "/health"), ("GET", "/nodetool/info"), ("POST", "/nodetool/drain")):
        request = urllib.request.Request(f"{url}{path}", method=method)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 404, (method, path)
    assert node.is_running()
    assert f"Metrics (read-only) on {url}/metrics" in node.log_tail(200)
