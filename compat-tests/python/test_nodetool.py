"""`strata nodetool VERB` against a private node's admin port."""

import subprocess

import pytest

from driver_helpers import connect


@pytest.fixture
def node(strata_factory):
    return strata_factory.start()


def nodetool_ok(server, *verb):
    run = server.nodetool(*verb)
    assert run.returncode == 0, f"nodetool {' '.join(verb)}: {run.stdout}\n{run.stderr}"
    return run.stdout


def test_status_shows_the_node_up_and_normal(node):
    lines = nodetool_ok(node, "status").splitlines()
    assert any(line.startswith("UN") and node.host in line for line in lines), lines


def test_info_flush_compact(node):
    assert nodetool_ok(node, "info").strip()
    nodetool_ok(node, "flush")
    nodetool_ok(node, "compact")


def test_snapshots(node):
    nodetool_ok(node, "snapshot")
    assert nodetool_ok(node, "listsnapshots").strip()
    nodetool_ok(node, "clearsnapshot", "--all")


def test_unknown_verb_fails(node):
    run = node.nodetool("no-such-verb")
    assert run.returncode != 0


def test_drain_then_restart_keeps_data(node):
    session = connect(node)
    try:
        session.execute("CREATE KEYSPACE compat_drain WITH replication = "
                        "{'class': 'SimpleStrategy', 'replication_factor': 1}")
        session.execute("CREATE TABLE compat_drain.t (k int PRIMARY KEY)")
        session.execute("INSERT INTO compat_drain.t (k) VALUES (1)")
    finally:
        session.cluster.shutdown()
    nodetool_ok(node, "drain")
    node.restart()
    session = connect(node)
    try:
        assert session.execute("SELECT k FROM compat_drain.t").one().k == 1
    finally:
        session.cluster.shutdown()


def run_nodetool(node, *args):
    """`strata nodetool ARGS` with no implicit options."""
    return subprocess.run([node.binary, "nodetool", *args], capture_output=True, text=True,
                          timeout=60, check=False)


def test_options_as_cassandras_nodetool(node):
    for args in (["-h", node.host, "-p", str(node.admin_port), "-u", "cassandra", "-pw", "cassandra", "info"],
                 ["info", "--host", node.host, f"--port={node.admin_port}"]):
        run = run_nodetool(node, *args)
        assert run.returncode == 0 and "Load" in run.stdout, (args, run.stdout, run.stderr)
    run = run_nodetool(node, "-h", node.host, "-p", "not-a-port", "info")
    assert run.returncode != 0 and "invalid port" in run.stderr


@pytest.fixture
def table_node(node):
    session = connect(node)
    session.execute("CREATE KEYSPACE tool WITH replication = "
                    "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    session.execute("CREATE TABLE tool.t (k int PRIMARY KEY, v text)")
    for k in range(50):
        session.execute("INSERT INTO tool.t (k, v) VALUES (%s, %s)", (k, "x" * 100))
    for k in range(10):
        session.execute("SELECT v FROM tool.t WHERE k = %s", (k,))
    nodetool_ok(node, "flush")
    yield node, session
    session.cluster.shutdown()


def test_tablestats_sizes_and_human_readable_flag(table_node):
    node, _ = table_node
    for verb in ("tablestats", "cfstats"):
        out = nodetool_ok(node, verb, "tool.t")
        assert "Keyspace : tool" in out and "\t\tTable: t" in out, out
        live = next(int(line.rsplit(":", 1)[1]) for line in out.splitlines()
                    if "Space used (live):" in line)
        assert live >= 50 * 100, out
        assert "Local write count: 50" in out and "Local read count: 10" in out, out
    out = nodetool_ok(node, "tablestats", "-H", "tool")
    assert "Keyspace : tool" in out and "KiB" in out, out
    run = node.nodetool("tablestats", "-Z")
    assert run.returncode != 0 and "unsupported option -Z" in run.stderr


def test_histograms(table_node):
    node, _ = table_node
    for args in (("tablehistograms", "tool", "t"), ("tablehistograms", "tool.t"), ("cfhistograms", "tool.t")):
        out = nodetool_ok(node, *args)
        assert out.startswith("tool/t histograms"), out
        rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[3:] if line.strip()}
        assert set(rows) == {"50%", "75%", "95%", "98%", "99%", "Min", "Max"}, out
        read, write = float(rows["Max"][0]), float(rows["Max"][1])
        assert read > 0 and write > 0, out
    assert node.nodetool("tablehistograms", "tool").returncode != 0
    out = nodetool_ok(node, "proxyhistograms")
    assert out.startswith("proxy histograms") and "CAS Write Latency" in out, out


def test_tpstats_compactionstats_version_info(table_node):
    node, _ = table_node
    tp = nodetool_ok(node, "tpstats")
    assert "Pool Name" in tp and "ReadStage" in tp and "MutationStage" in tp, tp
    mutations = next(line for line in tp.splitlines() if line.startswith("MutationStage"))
    assert int(mutations.split()[3]) >= 50, tp
    assert "pending tasks:" in nodetool_ok(node, "compactionstats")
    assert nodetool_ok(node, "version").startswith("ReleaseVersion: 5.0")
    assert "Uptime (seconds)" in nodetool_ok(node, "info")


def test_settraceprobability_traces_unflagged_requests(table_node):
    node, session = table_node
    nodetool_ok(node, "settraceprobability", "1")
    for k in range(5):
        session.execute("SELECT v FROM tool.t WHERE k = %s", (k,))
    nodetool_ok(node, "settraceprobability", "0")
    sessions = list(session.execute("SELECT session_id FROM system_traces.sessions"))
    assert len(sessions) >= 5, sessions
    assert node.nodetool("settraceprobability", "2").returncode != 0


def test_setlogginglevel_changes_the_level_at_run_time(node):
    nodetool_ok(node, "setlogginglevel", "ROOT", "DEBUG")
    assert "DEBUG" in nodetool_ok(node, "getlogginglevels")  # admin requests log at debug
    assert " DEBUG " in node.log_tail(400), node.log_tail(400)
    nodetool_ok(node, "setlogginglevel")
    assert "INFO" in nodetool_ok(node, "getlogginglevels")
    run = node.nodetool("setlogginglevel", "strata", "LOUD")
    assert run.returncode != 0 and "Invalid log level" in run.stderr


def test_log_lines_for_start_flush_merge_snapshot_and_schema_changes(table_node):
    node, session = table_node
    for k in range(50, 80):
        session.execute("INSERT INTO tool.t (k, v) VALUES (%s, %s)", (k, "y" * 100))
    nodetool_ok(node, "flush")
    nodetool_ok(node, "compact")
    nodetool_ok(node, "snapshot", "-t", "logged", "tool")
    session.execute("CREATE TABLE tool.c CLONE tool.t AT SNAPSHOT 'logged'")
    nodetool_ok(node, "clearsnapshot", "-t", "logged")
    log = node.log_tail(400)
    for expected in (
            "Strata ", "cluster 'Strata Compat Cluster', data directory ",
            "Configuration: listen_address: 127.0.0.1", "Flushed memtable to array ",
            " entries, ", "Merged ", " bytes) at level ", "Snapshot logged taken of 1 tables",
            "Schema change: CREATE TABLE tool.t", "Schema change: CREATE TABLE tool.c CLONE",
            "Cleared 1 table snapshots (logged)"):
        assert expected in log, f"{expected!r} not logged:\n{log}"


def test_describecluster_and_netstats(table_node):
    node, _ = table_node
    out = nodetool_ok(node, "describecluster")
    assert out.startswith("Cluster Information:\n\tName: Strata Compat Cluster\n"), out
    assert "\tPartitioner: org.apache.cassandra.dht.Murmur3Partitioner" in out, out
    schema = out.split("Schema versions:\n", 1)[1].splitlines()[0]
    assert schema.strip().endswith(f"[{node.host}]"), out
    assert "\tLive: 1\n" in out and "\tUnreachable: 0\n" in out, out
    assert f"\t5.0.0: [{node.host}:{node.storage_port}]" in out, out
    assert "\ttool -> Replication class: SimpleStrategy {replication_factor=1}" in out, out
    out = nodetool_ok(node, "netstats")
    assert out.startswith("Mode: NORMAL\nNot sending any streams.\n"), out
    assert "Small messages" in out, out


def test_compactionstats_shape(table_node):
    node, _ = table_node
    out = nodetool_ok(node, "compactionstats")
    assert out.startswith("pending tasks: "), out
    assert int(out.split()[2]) >= 0, out
    assert nodetool_ok(node, "compactionstats", "-H").startswith("pending tasks: ")
    run = node.nodetool("compactionstats", "--bogus")
    assert run.returncode != 0 and "unsupported" in run.stderr, run


def test_large_partition_warning_at_merge(strata_factory, tmp_path):
    """Cassandra's compaction_large_partition_warning_threshold: a merge writing more than
    that for one partition logs a warning naming it."""
    config = tmp_path / "cassandra.yaml"
    config.write_text("compaction_large_partition_warning_threshold: 4KiB\n")
    node = strata_factory.start(["--config", str(config)])
    session = connect(node)
    try:
        session.execute("CREATE KEYSPACE big WITH replication = "
                        "{'class': 'SimpleStrategy', 'replication_factor': 1}")
        session.execute("CREATE TABLE big.t (k int, c int, v text, PRIMARY KEY (k, c))")
        insert = session.prepare("INSERT INTO big.t (k, c, v) VALUES (?, ?, ?)")
        for c in range(200):
            session.execute(insert, (1, c, "x" * 100))
        session.execute(insert, (2, 0, "small"))
    finally:
        session.cluster.shutdown()
    nodetool_ok(node, "flush")
    nodetool_ok(node, "compact")
    log = node.log_tail(400)
    warnings = [line for line in log.splitlines() if "Writing large partition" in line]
    assert warnings and all(" WARN " in w and "large partition big/t:0x00000001 " in w
                            for w in warnings), log
