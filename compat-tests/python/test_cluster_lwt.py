"""Lightweight transactions at RF=3 on a real 3-node cluster on 127.0.12.1/.2/.3 (admin
ports 17121-17123): Paxos across the replicas (`cluster::paxos`).

IF NOT EXISTS from two coordinators at once applies exactly once; concurrent
read-then-`UPDATE .. SET v = n + 1 IF v = n` through different coordinators end with the
value equal to the number of applied updates; SELECT at SERIAL sees the latest commit;
LOCAL_SERIAL works; with one node `kill -9`ed LWT still succeeds at SERIAL, with two down it
is Unavailable (consistency SERIAL, required 2, alive 1) before anything is sent. Every wait
is bounded."""

import threading
import uuid

import pytest
from cassandra import ConsistencyLevel, ReadTimeout, Unavailable, WriteTimeout
from cassandra.policies import FallthroughRetryPolicy
from cassandra.query import SimpleStatement

import test_cluster_membership as membership
from cluster_harness import cluster_with_table, wait_for
from test_cluster_replication import session

ADDRESSES = ["127.0.12.1", "127.0.12.2", "127.0.12.3"]
ADMIN_PORTS = [17121, 17122, 17123]
DOWN_TIMEOUT_S = 15.0
TABLE_ID = str(uuid.uuid4())
THREADS = 6
INCREMENTS_PER_THREAD = 15


def serial(cql, level=ConsistencyLevel.SERIAL, consistency=ConsistencyLevel.QUORUM):
    return SimpleStatement(cql, consistency_level=consistency, serial_consistency_level=level)


def serial_read(cql, level=ConsistencyLevel.SERIAL):
    return SimpleStatement(cql, consistency_level=level)


@pytest.fixture(scope="module")
def cluster():
    with cluster_with_table(ADDRESSES, "k int PRIMARY KEY, v int, who text", TABLE_ID,
                            ADMIN_PORTS) as nodes:
        yield nodes


def test_if_not_exists_from_two_coordinators_applies_once(cluster):
    first, second = session([cluster[0]]), session([cluster[1]])
    timed_out = 0
    try:
        for k in range(20):
            results = {}

            def insert(name, s, k=k):
                try:
                    results[name] = s.execute(serial(
                        f"INSERT INTO ks.t (k, v, who) VALUES ({k}, 0, '{name}') IF NOT EXISTS"
                    )).one()
                except WriteTimeout:
                    # Accepted by a minority before the other's ballot overtook it: its
                    # outcome is unknown (Cassandra answers it the same way).
                    results[name] = None

            threads = [threading.Thread(target=insert, args=(name, s))
                       for name, s in (("first", first), ("second", second))]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            assert len(results) == 2, (k, results)
            applied = [name for name, row in results.items() if row is not None and row[0]]
            unknown = [name for name, row in results.items() if row is None]
            timed_out += len(unknown)
            assert len(applied) <= 1, (k, results)
            seen = first.execute(serial_read(f"SELECT who FROM ks.t WHERE k = {k}")).one()
            assert seen is not None and seen.who in applied + unknown, (k, results, seen)
            if applied:
                assert seen.who == applied[0]
            for row in results.values():
                if row is not None and not row[0]:
                    # The loser sees the winner's row, as the single-node path answers.
                    assert row.who == seen.who, (k, results)
    finally:
        first.cluster.shutdown()
        second.cluster.shutdown()
    print(f"20 contended IF NOT EXISTS pairs, {timed_out} answers timed out")
    assert timed_out <= 10


def test_concurrent_compare_and_set_counts_every_applied_update(cluster):
    setup = session([cluster[0]])
    setup.execute(serial("INSERT INTO ks.t (k, v) VALUES (1000, 0) IF NOT EXISTS"))
    setup.cluster.shutdown()
    applied, timeouts, read_timeouts, errors = [], [], [], []

    def worker(index):
        s = session([cluster[index % len(cluster)]])
        try:
            for _ in range(INCREMENTS_PER_THREAD):
                try:
                    n = s.execute(serial_read("SELECT v FROM ks.t WHERE k = 1000")).one().v
                except ReadTimeout:
                    # Contention past cas_contention_timeout, as Cassandra answers it.
                    read_timeouts.append(1)
                    continue
                try:
                    row = s.execute(serial(
                        f"UPDATE ks.t SET v = {n + 1} WHERE k = 1000 IF v = {n}")).one()
                except WriteTimeout:
                    timeouts.append(n)
                    continue
                if row[0]:
                    applied.append(n)
                else:
                    assert row.v != n
        except Exception as e:  # reported below, with the thread's failure
            errors.append(repr(e))
        finally:
            s.cluster.shutdown()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    s = session([cluster[2]])
    try:
        final = s.execute(serial_read("SELECT v FROM ks.t WHERE k = 1000")).one().v
    finally:
        s.cluster.shutdown()
    print(f"{len(applied)} applied, {len(timeouts)} timed out ({len(read_timeouts)} SERIAL "
          f"reads timed out), final value {final}")
    assert len(set(applied)) == len(applied), "two updates applied from one value"
    assert len(applied) <= final <= len(applied) + len(timeouts)
    assert len(applied) > 0


def test_serial_read_sees_the_latest_commit_and_local_serial_works(cluster):
    writer, reader = session([cluster[0]]), session([cluster[2]])
    try:
        writer.execute(serial("INSERT INTO ks.t (k, v) VALUES (2000, 1) IF NOT EXISTS",
                              ConsistencyLevel.LOCAL_SERIAL))
        for n in range(1, 6):
            row = writer.execute(serial(f"UPDATE ks.t SET v = {n + 1} WHERE k = 2000 IF v = {n}",
                                        ConsistencyLevel.LOCAL_SERIAL,
                                        ConsistencyLevel.ONE)).one()
            assert row[0]
            for level in (ConsistencyLevel.SERIAL, ConsistencyLevel.LOCAL_SERIAL):
                seen = reader.execute(serial_read("SELECT v FROM ks.t WHERE k = 2000",
                                                  level)).one()
                assert seen.v == n + 1
        row = reader.execute(serial("UPDATE ks.t SET v = 0 WHERE k = 2000 IF v = 1")).one()
        assert not row[0] and row.v == 6
    finally:
        writer.cluster.shutdown()
        reader.cluster.shutdown()


def test_lwt_survives_one_kill9_and_is_unavailable_with_two_down(cluster):
    first, second, third = cluster
    third.kill9()
    s = session([first], retry_policy=FallthroughRetryPolicy())
    try:
        # Right after the crash, before the failure detector notices: the dead replica's
        # answers are missing, a quorum of the others decides.
        s.execute(serial("INSERT INTO ks.t (k, v) VALUES (3000, 0) IF NOT EXISTS"))
        for n in range(5):
            row = s.execute(serial(f"UPDATE ks.t SET v = {n + 1} WHERE k = 3000 IF v = {n}")).one()
            assert row[0]
        assert s.execute(serial_read("SELECT v FROM ks.t WHERE k = 3000")).one().v == 5
        second.kill9()
        wait_for("node 1 sees nodes 2 and 3 DN",
                 lambda: membership.state_of(first, second.host) == "DN"
                 and membership.state_of(first, third.host) == "DN", DOWN_TIMEOUT_S)
        with pytest.raises(Unavailable) as failure:
            s.execute(serial("UPDATE ks.t SET v = 100 WHERE k = 3000 IF v = 5"))
        print(failure.value)
        assert failure.value.consistency == ConsistencyLevel.SERIAL
        assert (failure.value.required_replicas, failure.value.alive_replicas) == (2, 1)
        with pytest.raises(Unavailable):
            s.execute(serial_read("SELECT v FROM ks.t WHERE k = 3000"))
        row = s.execute(SimpleStatement("SELECT v FROM ks.t WHERE k = 3000",
                                        consistency_level=ConsistencyLevel.ONE)).one()
        assert row.v == 5, "an unavailable LWT applies nowhere"
    finally:
        s.cluster.shutdown()
