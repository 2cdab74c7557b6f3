"""Many clients at once: separate connections writing and reading concurrently, and a crowd of
idle connections that must all still be served."""

import threading

import rawcql
from driver_helpers import connect, create_keyspace

CLIENTS = 6
KEYS_PER_CLIENT = 400
IDLE_CONNECTIONS = 200


def test_concurrent_clients_see_their_own_writes(strata, session):
    create_keyspace(session, "compat_conc")
    session.execute("CREATE TABLE compat_conc.t (client int, k int, v text, "
                    "PRIMARY KEY (client, k))")
    errors = []

    def client(number):
        own = connect(strata)
        try:
            insert = own.prepare("INSERT INTO compat_conc.t (client, k, v) VALUES (?, ?, ?)")
            futures = [own.execute_async(insert, (number, k, f"{number}/{k}"))
                       for k in range(KEYS_PER_CLIENT)]
            for future in futures:
                future.result()
            got = {r.k: r.v for r in own.execute(
                "SELECT k, v FROM compat_conc.t WHERE client = %s", (number,))}
            if got != {k: f"{number}/{k}" for k in range(KEYS_PER_CLIENT)}:
                errors.append(f"client {number} read back {len(got)} rows, some wrong")
        except Exception as error:  # reported below with the client number
            errors.append(f"client {number}: {error!r}")
        finally:
            own.cluster.shutdown()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    try:
        assert not errors, errors
        assert not any(t.is_alive() for t in threads), "a client hung"
        total = session.execute("SELECT COUNT(*) FROM compat_conc.t").one().count
        assert total == CLIENTS * KEYS_PER_CLIENT
    finally:
        session.execute("DROP KEYSPACE IF EXISTS compat_conc")


def test_crowd_of_idle_connections_is_served(strata):
    connections = []
    try:
        for _ in range(IDLE_CONNECTIONS):
            conn = rawcql.RawConnection(strata.host, strata.native_port)
            connections.append(conn)
            conn.startup()
        for stream, conn in enumerate(connections):
            reply = conn.request(rawcql.OPCODE_OPTIONS, stream=stream)
            assert reply.opcode == 0x06 and reply.stream == stream, reply
    finally:
        for conn in connections:
            conn.close()
