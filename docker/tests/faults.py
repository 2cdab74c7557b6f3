"""Fault tests: writers insert unique values while a node is killed, stopped, paused or cut off,
then every acknowledged write must read back (workload.py says what each count means).

    python docker/tests/faults.py --topology single             # one container, RF=1
    python docker/tests/faults.py --topology cluster            # docker/compose.yml, RF=3
    python docker/tests/faults.py --topology cluster --scenarios kill,split

Writes and reads are at QUORUM. After each scenario the topology must recover without manual
steps (every container healthy; in a cluster every node reports 3 UN in nodetool status), the
writers must get acknowledgements again after the fault healed, and, in a cluster:
- a node that stayed up must have pushed STATUS_CHANGE DOWN for each faulted node, then UP
  (raw EVENT frames on a connection of the test's own per node, pushed.py: kill, stop, drain,
  pause, disconnect, rolling; in the split, each side about the other);
- the driver must have seen DOWN and UP for the faulted nodes where it can (kill, stop, drain,
  rolling, full restart: see run_scenario for why not after a pause or a disconnect);
- a drained node (`nodetool drain`) stays up, its HEALTHCHECK failing and Docker reporting it
  unhealthy, until `docker restart`.
After the kill (SIGKILL: no shutdown announced, only failure detectors notice) it prints how
long each surviving node took to mark the node DOWN, and the driver's control connection to
receive STATUS_CHANGE DOWN (down_delays).

Exit codes: 0 all scenarios passed, 1 a scenario failed, 77 the cluster scenarios could not run
because the nodes did not form a cluster (a server without gossip: each node alone) and
--require-cluster was not given; the reason is printed. A scenario that did not run is never
reported as passed.
"""

import argparse
import os
import signal
import sys
import time

from cassandra.cluster import Cluster, ExecutionProfile, EXEC_PROFILE_DEFAULT
from cassandra.policies import ConstantReconnectionPolicy, RoundRobinPolicy, WhiteListRoundRobinPolicy

import dockerctl
import pushed
from dockerctl import DockerError, docker
from workload import QUORUM, Events, Writer, check, create_table

NOT_RUN = 77
KEYSPACE = "faults"
# Seconds a fault lasts: past the failure detector's conviction of a silent node (phi 8 at a 1 s
# gossip interval convicts within ~10 s), so the DOWN and the UP are both exercised.
FAULT_SECONDS = 12
# Seconds the writers run before the fault and, at least, after the recovery.
WARM_UP_SECONDS = 3
AFTER_SECONDS = 3
RECOVERY_TIMEOUT = 120


class Single:
    """One container on its own network with a pinned address, data on a named volume."""

    name = "single"
    replication_factor = 1
    subnet, ip = "172.29.43.0/24", "172.29.43.11"

    def __init__(self):
        self.network = f"{dockerctl.RUN_ID}-net"
        self.nodes = [f"{dockerctl.RUN_ID}-node1"]
        self.ips = {self.nodes[0]: self.ip}
        self.names = {self.ip: "node1"}

    label = f"{dockerctl.LABEL}={dockerctl.RUN_ID}"

    def start(self):
        """Creates the network, the volume and the container; returns the seconds to healthy."""
        docker("network", "create", "--label", self.label, "--subnet", self.subnet, self.network)
        docker("volume", "create", "--label", self.label, f"{dockerctl.RUN_ID}-data")
        self.start_container()
        return dockerctl.wait_healthy(self.nodes[0])

    # The official image's variables that compose.yml leaves at their defaults, set explicitly
    # (smoke.py checks system.local against them).
    environment = {
        "CASSANDRA_CLUSTER_NAME": "smoke",
        "CASSANDRA_LISTEN_ADDRESS": "auto",
        "CASSANDRA_BROADCAST_ADDRESS": ip,
        "CASSANDRA_RPC_ADDRESS": ip,
        "CASSANDRA_SEEDS": ip,
    }

    def start_container(self):
        env = [arg for name, value in self.environment.items() for arg in ("-e", f"{name}={value}")]
        docker(
            "run", "-d", "--name", self.nodes[0], "--label", self.label, "--network", self.network, "--ip", self.ip,
            *env, "-v", f"{dockerctl.RUN_ID}-data:/var/lib/cassandra", dockerctl.IMAGE,
        )

    def cleanup(self):
        dockerctl.cleanup()

    def cluster_formed(self):
        return None

    def wait_recovered(self, timeout=RECOVERY_TIMEOUT):
        deadline = time.monotonic() + timeout
        for node in self.nodes:
            dockerctl.wait_healthy(node, timeout=max(1, deadline - time.monotonic()))


class ComposeCluster(Single):
    """docker/compose.yml as a user starts it (its own project name, CQL published on a free port)."""

    name = "cluster"
    replication_factor = 3
    services = ("node1", "node2", "node3")
    ips_by_service = {"node1": "172.29.42.11", "node2": "172.29.42.12", "node3": "172.29.42.13"}

    def __init__(self):
        self.compose = dockerctl.Compose(host_cql_port=int(os.environ.get("STRATA_FAULTS_CQL_PORT", "19042")))
        self.nodes, self.ips = [], {}
        self.names = {ip: service for service, ip in self.ips_by_service.items()}

    def start(self):
        self.compose("up", "-d", timeout=600)
        for service in self.services:
            container = self.compose.container(service)
            self.nodes.append(container)
            self.ips[container] = self.ips_by_service[service]
        self.network = f"{self.compose.project}_default"
        self.wait_healthy_all()

    def wait_healthy_all(self, timeout=RECOVERY_TIMEOUT):
        deadline = time.monotonic() + timeout
        for node in self.nodes:
            dockerctl.wait_healthy(node, timeout=max(1, deadline - time.monotonic()))

    def cleanup(self):
        dockerctl.cleanup(self.compose)

    def status_rows(self, node):
        """(state, address) of each node in `nodetool status` as `node` sees it."""
        out = dockerctl.exec_(node, "nodetool", "status", timeout=30, check=False)
        rows = []
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 2 and len(parts[0]) == 2 and parts[0][0] in "UD" and parts[0][1] in "NLJM":
                rows.append((parts[0], parts[1]))
        return rows

    def cluster_formed(self):
        """None when node1 sees all three nodes, else why the cluster scenarios cannot run."""
        deadline = time.monotonic() + 60
        rows = []
        while time.monotonic() < deadline:
            rows = self.status_rows(self.nodes[0])
            if len(rows) == len(self.nodes):
                return None
            if len(rows) > 1:
                # Some membership exists: give gossip its time, then fail rather than skip.
                time.sleep(1)
                continue
            break
        if len(rows) <= 1:
            return (
                f"node1's `nodetool status` lists {len(rows)} node(s), not {len(self.nodes)}: the server does "
                "not form a cluster yet (no gossip); the three containers each run alone"
            )
        raise AssertionError(f"cluster partly formed after 60 s: {rows}")

    def official_environment(self):
        """None when every node runs as compose.yml's CASSANDRA_* variables say (the official
        image's names), else what differs: cluster name, snitch, DC, rack, token count, and
        CASSANDRA_LISTEN_ADDRESS=auto as the container's pinned address."""
        problems = []
        for node in self.nodes:
            described = dockerctl.exec_(node, "nodetool", "describecluster", timeout=30)
            for wanted in ("Name: strata", "Snitch: org.apache.cassandra.locator.GossipingPropertyFileSnitch"):
                if wanted not in described:
                    problems.append(f"{node}: no {wanted!r} in nodetool describecluster")
            status = dockerctl.exec_(node, "nodetool", "status", timeout=30)
            # UN, address, load (two words), tokens, owns, host id, rack
            rows = {p[1]: (p[4], p[-1]) for p in map(str.split, status.splitlines()) if p[:1] == ["UN"]}
            want = {ip: ("16", "rack1") for ip in self.ips.values()}
            if "Datacenter: dc1" not in status or rows != want:
                problems.append(f"{node}: nodetool status is not dc1 with {want}:\n{status}")
        return "; ".join(problems) or None

    def wait_recovered(self, timeout=RECOVERY_TIMEOUT):
        deadline = time.monotonic() + timeout
        self.wait_healthy_all(timeout)
        want = sorted(self.ips.values())
        for node in self.nodes:
            while True:
                rows = self.status_rows(node)
                if sorted(address for state, address in rows if state == "UN") == want:
                    break
                if time.monotonic() > deadline:
                    raise AssertionError(f"{node} does not see 3 UN nodes after {timeout} s: {rows}")
                time.sleep(1)


def connect(topology, only=None):
    """A driver session (QUORUM reads and writes), optionally held to the nodes in `only`."""
    contacts = only or list(topology.ips.values())
    policy = WhiteListRoundRobinPolicy(contacts) if only else RoundRobinPolicy()
    profile = ExecutionProfile(load_balancing_policy=policy, consistency_level=QUORUM, request_timeout=10)
    cluster = Cluster(
        contacts,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        # Tests want a healed node used again within a second, not after an exponential back-off.
        reconnection_policy=ConstantReconnectionPolicy(0.5, max_attempts=None),
        connect_timeout=5,
        control_connection_timeout=5,
    )
    events = Events()
    cluster.register_listener(events)
    events.record_received(cluster)
    return cluster.connect(), events


def replication_gap(topology, timeout=30):
    """None when the nodes replicate, else why RF=3 QUORUM scenarios cannot mean anything yet.

    Three UN nodes are not enough: a table created through node 1 must reach every node (schema
    agreement), and a row written at ALL through node 1 must be readable at ONE on every node.
    Without both, every scenario would report acknowledged writes as lost because of a missing
    feature, not because of the fault under test.
    """
    from cassandra import ConsistencyLevel
    from cassandra.query import SimpleStatement

    first, *others = [topology.ips[node] for node in topology.nodes]
    if not others:
        return None
    session, _ = connect(topology, only=[first])
    try:
        try:
            create_table(session, KEYSPACE, "probe", topology.replication_factor)
        except Exception as e:  # noqa: BLE001 - reported as the reason, never as a pass
            return f"creating an RF={topology.replication_factor} table through node 1 failed ({type(e).__name__}: {e})"
        write = SimpleStatement(
            f"INSERT INTO {KEYSPACE}.probe (id, v) VALUES ('probe', 'x')", consistency_level=ConsistencyLevel.ALL
        )
        try:
            session.execute(write)
        except Exception as e:  # noqa: BLE001 - any refusal means the cluster does not replicate yet
            return f"a write at ALL through node 1 failed ({type(e).__name__}: {e})"
    finally:
        session.cluster.shutdown()
    for address in others:
        session, _ = connect(topology, only=[address])
        try:
            deadline = time.monotonic() + timeout
            while True:
                found = session.execute(
                    "SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s AND table_name = 'probe'",
                    (KEYSPACE,),
                ).one()
                if found:
                    break
                if time.monotonic() > deadline:
                    return (
                        f"a table created through node 1 is not visible on {address} after {timeout} s: "
                        "schema is not replicated between nodes yet"
                    )
                time.sleep(1)
            read = SimpleStatement(
                f"SELECT v FROM {KEYSPACE}.probe WHERE id = 'probe'", consistency_level=ConsistencyLevel.ONE
            )
            if session.execute(read).one() is None:
                return f"a row written at ALL through node 1 is not readable at ONE on {address}: writes are not replicated yet"
        finally:
            session.cluster.shutdown()
    return None


def wait_for_ack_after(writer, moment, timeout=60):
    """Seconds until the writers got an acknowledgement after `moment`; raises if none came."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with writer.lock:
            if any(t > moment for t in writer.outcomes.ack_times):
                return
        time.sleep(0.2)
    raise AssertionError(f"no write acknowledged within {timeout} s after the fault healed")


# --- faults: each takes the topology and a victim container, injects, heals and returns ---


def fault_kill(topology, victim):
    # The process dies while `docker kill` runs: the DOWN delays count from its start, and the
    # call's own duration bounds the error.
    topology.kill_started = time.monotonic()
    docker("kill", "-s", "KILL", victim)
    topology.kill_returned = time.monotonic()
    time.sleep(FAULT_SECONDS)
    docker("start", victim)


def fault_stop(topology, victim):
    started = time.monotonic()
    docker("stop", "-t", "10", victim, timeout=60)
    took = time.monotonic() - started
    code = dockerctl.inspect(victim)["State"]["ExitCode"]
    assert code == 0, f"docker stop: exit code {code}, expected 0 (SIGTERM drains then exits)\n{dockerctl.logs(victim)}"
    assert took < 10, f"docker stop took {took:.1f} s: the node did not exit on SIGTERM before the 10 s SIGKILL"
    log = dockerctl.logs(victim, tail=20)
    assert "Drained; exiting" in log, f"docker stop: the node exited without draining:\n{log}"
    print(f"    docker stop: drained, exit 0 after {took:.1f} s")
    time.sleep(FAULT_SECONDS)
    docker("start", victim)


def fault_drain(topology, victim):
    """`nodetool drain`, then `docker restart`: the drained container stays up, DRAINED, and
    its HEALTHCHECK reports it unhealthy until the restart (as Cassandra's drained node stays up)."""
    started = time.monotonic()
    dockerctl.exec_(victim, "nodetool", "drain", timeout=120)
    drained = time.monotonic()
    check = dockerctl.run(["docker", "exec", victim, "strata", "health"], timeout=30, check=False)
    assert check.returncode != 0 and "DRAINED" in check.stderr, f"strata health on a drained node: {check}"
    while (status := dockerctl.health(victim)) != "unhealthy":
        assert status == "healthy", f"a drained container is {status}, not running unhealthy"
        assert time.monotonic() - drained < 60, "Docker does not report the drained container unhealthy after 60 s"
        time.sleep(0.5)
    print(f"    nodetool drain answered after {drained - started:.1f} s; strata health exit {check.returncode}; "
          f"Docker unhealthy {time.monotonic() - drained:.1f} s after the drain")
    time.sleep(max(0.0, FAULT_SECONDS - (time.monotonic() - started)))
    docker("restart", "-t", "10", victim, timeout=60)


def fault_pause(topology, victim):
    docker("pause", victim)
    time.sleep(FAULT_SECONDS)
    docker("unpause", victim)


def fault_disconnect(topology, victim):
    docker("network", "disconnect", topology.network, victim)
    time.sleep(FAULT_SECONDS)
    docker("network", "connect", "--ip", topology.ips[victim], topology.network, victim)


def fault_rolling(topology, victim):
    for node in topology.nodes:
        docker("stop", "-t", "10", node, timeout=60)
        docker("start", node)
        topology.wait_recovered()


def fault_full_restart(topology, victim):
    docker("kill", "-s", "KILL", *topology.nodes)
    time.sleep(2)
    for node in topology.nodes:
        docker("start", node)


def iptables_partition(topology, isolated, others, action):
    """Adds (-A) or deletes (-D) DROP rules in `isolated`'s network namespace for traffic to and
    from `others` (the image has no shell or iptables: nsenter from the host)."""
    pid = str(dockerctl.inspect(isolated)["State"]["Pid"])
    for other in others:
        ip = topology.ips[other]
        for chain, flag in (("INPUT", "-s"), ("OUTPUT", "-d")):
            dockerctl.run(["nsenter", "-t", pid, "-n", "iptables", action, chain, flag, ip, "-j", "DROP"], timeout=30)


# name: (fault, index of the victim in topology.nodes, topologies it applies to)
SCENARIOS = {
    "kill": (fault_kill, 2, ("single", "cluster")),
    "stop": (fault_stop, 1, ("single", "cluster")),
    "drain": (fault_drain, 1, ("cluster",)),
    "pause": (fault_pause, 2, ("single", "cluster")),
    "disconnect": (fault_disconnect, 1, ("single", "cluster")),
    "split": (None, 0, ("cluster",)),
    "rolling": (fault_rolling, 0, ("cluster",)),
    "full_restart": (fault_full_restart, 0, ("cluster",)),
}


def run_scenario(topology, name, session, events, server_events):
    fault, victim_index, _ = SCENARIOS[name]
    victim = topology.nodes[min(victim_index, len(topology.nodes) - 1)]
    table = f"t_{name}"
    create_table(session, KEYSPACE, table, topology.replication_factor)
    started = time.monotonic()
    if name == "split":
        counts, errors, problems = run_split(topology, session, table)
        isolated = topology.nodes[0]
        # Each side of the partition saw the other go down and come back.
        for about, by in [(isolated, topology.nodes[1:])] + [(n, [isolated]) for n in topology.nodes[1:]]:
            problems += pushed_down_then_up(topology, server_events, started, about, by)
        return counts, errors, [], problems
    with Writer(session, KEYSPACE, table, QUORUM, tag=name) as writer:
        time.sleep(WARM_UP_SECONDS)
        fault(topology, victim)
        topology.wait_recovered()
        healed = time.monotonic()
        wait_for_ack_after(writer, healed)
        time.sleep(AFTER_SECONDS)
    outcomes = writer.outcomes
    counts = check(session, KEYSPACE, table, outcomes, QUORUM)
    problems = [] if counts.ok() else [f"counts: {counts.line()}"]
    seen = events.since(started)
    victims = topology.nodes if name in ("rolling", "full_restart") else [victim]
    if topology.name != "cluster":
        return counts, outcomes.errors, seen, problems
    # After a full restart no node stayed up to push anything.
    if name != "full_restart":
        for node in victims:
            others = [n for n in topology.nodes if n != node]
            problems += pushed_down_then_up(topology, server_events, started, node, others)
    if name == "kill":
        print(f"    {down_delays(topology, victim, server_events, events)}")
    # A paused or cut-off node keeps its clients' TCP connections open (nothing resets them),
    # and the Python driver discounts a DOWN event pushed for a host it still holds connections
    # to (`Cluster._discount_down_events`), against Cassandra as against Strata: there the
    # servers' pushed events above are the evidence, elsewhere the driver's too.
    if name not in ("pause", "disconnect"):
        for node in victims:
            address = topology.ips[node]
            for event in ("DOWN", "UP"):
                if (event, address) not in seen:
                    problems.append(f"the driver saw no {event} event for {address}")
    return counts, outcomes.errors, seen, problems


def down_delays(topology, victim, server_events, events):
    """How long after the SIGKILL (no shutdown announced: only failure detectors notice) each
    surviving node marked the victim DOWN (it pushes STATUS_CHANGE DOWN to its registered clients
    then: pushed.py's connection to it received it), and when the driver's control connection
    received STATUS_CHANGE DOWN, and the driver marked the host down by itself (its connections
    to the killed node closed)."""
    killed = topology.kill_started
    address = topology.ips[victim]
    name = topology.names[address]
    survivors = [topology.ips[n] for n in topology.nodes if n != victim]
    marks = []
    for survivor in survivors:
        pushed_at = next((t for t, pusher, kind, change, about in server_events.since(killed)
                          if pusher == survivor and kind == "STATUS_CHANGE" and change == "DOWN" and about == address),
                         None)
        marks.append((topology.names[survivor], pushed_at))
    described = ", ".join(f"{n} {seconds(t, killed)}" for n, t in marks)
    every = None if any(t is None for _, t in marks) else max(t for _, t in marks)
    received = events.first_received("DOWN", address, killed)
    on_down = events.first("DOWN", address, killed)
    return (f"SIGKILL of {name} (docker kill took {topology.kill_returned - killed:.2f} s) to DOWN: marked DOWN by "
            f"{described} (every survivor: {seconds(every, killed)}); "
            f"driver's control connection received STATUS_CHANGE DOWN after {seconds(received, killed)}; "
            f"driver marked it down after {seconds(on_down, killed)}")


def seconds(moment, since):
    return "never" if moment is None else f"{moment - since:.1f} s"


def pushed_down_then_up(topology, server_events, started, about, by):
    """[] when one of the nodes `by` pushed STATUS_CHANGE DOWN for `about`, then UP, since
    `started`; else the problem. Prints what it found."""
    address = topology.ips[about]
    pushers = {topology.ips[n] for n in by}
    relevant = [e for e in server_events.since(started) if e[1] in pushers]
    found = pushed.down_then_up(relevant, address, started)
    name = topology.names[address]
    if found is None:
        return [f"no node among {sorted(topology.names[p] for p in pushers)} pushed DOWN then UP for {name} ({address})"]
    pusher, down, up = found
    print(f"    {topology.names[pusher]} pushed {name} DOWN at +{down:.1f} s, UP at +{up:.1f} s")
    return []


def run_split(topology, session, table):
    """Cluster 1|2: node1 cut off from nodes 2 and 3 while a writer on each side writes."""
    isolated, majority = topology.nodes[0], topology.nodes[1:]
    minority_session, _ = connect(topology, only=[topology.ips[isolated]])
    majority_session, _ = connect(topology, only=[topology.ips[n] for n in majority])
    try:
        with Writer(minority_session, KEYSPACE, table, QUORUM, threads=2, tag="minority") as side1, \
                Writer(majority_session, KEYSPACE, table, QUORUM, threads=2, tag="majority") as side2:
            time.sleep(WARM_UP_SECONDS)
            iptables_partition(topology, isolated, majority, "-A")
            try:
                time.sleep(FAULT_SECONDS)
            finally:
                iptables_partition(topology, isolated, majority, "-D")
            topology.wait_recovered()
            healed = time.monotonic()
            wait_for_ack_after(side1, healed)
            wait_for_ack_after(side2, healed)
            time.sleep(AFTER_SECONDS)
    finally:
        minority_session.cluster.shutdown()
        majority_session.cluster.shutdown()
    print(f"    minority side acknowledged {len(side1.outcomes.acknowledged)}, majority side {len(side2.outcomes.acknowledged)}")
    outcomes = side1.outcomes
    for field in ("acknowledged", "rejected", "timed_out"):
        getattr(outcomes, field).update(getattr(side2.outcomes, field))
    for kind, n in side2.outcomes.errors.items():
        outcomes.errors[kind] = outcomes.errors.get(kind, 0) + n
    counts = check(session, KEYSPACE, table, outcomes, QUORUM)
    problems = [] if counts.ok() else [f"counts: {counts.line()}"]
    return counts, outcomes.errors, problems


def run_scenarios(topology, wanted, session, events, server_events=None):
    """Runs each scenario in turn, printing its counts; returns {name: passed}."""
    results = {}
    for name in wanted:
        scenario_started = time.monotonic()
        print(f"-- {name}")
        try:
            counts, errors, seen, problems = run_scenario(topology, name, session, events, server_events)
        except (AssertionError, DockerError) as e:
            counts, errors, seen, problems = None, {}, [], [str(e)]
        if counts:
            print(f"    {counts.line()}")
        if errors:
            print(f"    client errors: {errors}")
        if seen:
            print(f"    driver events: {sorted(set(seen))}")
        if server_events is not None:
            for line in pushed.describe(server_events.since(scenario_started), scenario_started, topology.names):
                print(f"    {line}")
        for problem in problems:
            print(f"    FAILED: {problem}")
        results[name] = not problems
        print(f"    {'passed' if not problems else 'FAILED'} in {time.monotonic() - scenario_started:.0f} s")
    return results


def summary(what, wanted, results):
    """Prints the counts of passed, failed and not run; True if everything wanted passed."""
    failed = [name for name, ok in results.items() if not ok]
    not_run = [name for name in wanted if name not in results]
    print(f"== {what}: {len(results) - len(failed)} passed, {len(failed)} failed{listing(failed)}, "
          f"{len(not_run)} not run{listing(not_run)}")
    return not failed and not not_run


def listing(names):
    return f" ({', '.join(names)})" if names else ""


def exit_on_sigterm():
    """A SIGTERM (a CI timeout) must still run the `finally` that cleans up."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--topology", choices=("single", "cluster"), default="cluster")
    parser.add_argument("--scenarios", default="all", help="comma-separated: " + ",".join(SCENARIOS))
    parser.add_argument("--require-cluster", action="store_true", help="fail (not skip) if no cluster forms")
    args = parser.parse_args()
    topology = Single() if args.topology == "single" else ComposeCluster()
    applicable = [name for name, (_, _, where) in SCENARIOS.items() if topology.name in where]
    wanted = applicable if args.scenarios == "all" else args.scenarios.split(",")
    for name in wanted:
        if name not in applicable:
            parser.error(f"scenario {name!r} does not apply to the {topology.name} topology ({', '.join(applicable)})")
    exit_on_sigterm()
    results = {}
    # The cluster is also checked against compose.yml's CASSANDRA_* variables, first.
    checks = (["environment"] if topology.name == "cluster" else []) + wanted
    try:
        print(f"== fault tests, {topology.name} topology ({dockerctl.IMAGE}), scenarios: {', '.join(wanted)}")
        topology.start()
        reason = topology.cluster_formed() or replication_gap(topology)
        if reason is not None:
            print(f"NOT RUN: the {topology.name} scenarios ({', '.join(wanted)}): {reason}")
            return 1 if args.require_cluster else NOT_RUN
        if topology.name == "cluster":
            problem = topology.official_environment()
            print(f"-- environment (CASSANDRA_* variables): {problem or 'as compose.yml sets them'}")
            results["environment"] = problem is None
        session, events = connect(topology)
        try:
            with pushed.PushedEvents(topology.ips.values()) as server_events:
                results.update(run_scenarios(topology, wanted, session, events, server_events))
        finally:
            session.cluster.shutdown()
    finally:
        topology.cleanup()
    return 0 if summary(f"fault tests, {topology.name}", checks, results) else 1


if __name__ == "__main__":
    sys.exit(main())
