"""Client TLS (`client_encryption_options`, PEM keystores as Cassandra 5.0's
PEMBasedSslContextFactory reads them): cqlsh --ssl and the Python driver connect and query,
a plain-text client on a TLS-only port is refused while the node stays up, mutual TLS accepts
only certificates signed by the truststore's CA, optional mode serves both.

Certificates are made here with the openssl command line: a CA, a node certificate signed by
it (its key also encrypted as PKCS#8 for `keystore_password`), a client certificate signed by
it and a self-signed client certificate the node must refuse."""

import os
import pathlib
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile

import pytest
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, NoHostAvailable
from cassandra.policies import WhiteListRoundRobinPolicy

from driver_helpers import process_harness

harness = process_harness()

HOST = harness.LOOPBACK
OPENSSL_TIMEOUT_S = 60
CQLSH_TIMEOUT_S = 120
KEY_PASSWORD = "strata-secret"

def openssl(*args, cwd):
    # A failure, not a skip: TLS must not go untested because a machine lacks the tool
    # (scripts/test.sh installs it).
    if shutil.which("openssl") is None:
        pytest.fail("test_tls.py needs the openssl command line (apt-get install openssl)")
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True,
                   timeout=OPENSSL_TIMEOUT_S)


def new_key(name, cwd):
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-out", f"{name}.key", cwd=cwd)


def signed_cert(name, subject, cwd, ca="ca", san=None):
    new_key(name, cwd)
    openssl("req", "-new", "-key", f"{name}.key", "-subj", f"/CN={subject}", "-out", f"{name}.csr",
            cwd=cwd)
    ext = pathlib.Path(cwd) / f"{name}.ext"
    ext.write_text(f"subjectAltName=IP:{san}\n" if san else "basicConstraints=CA:FALSE\n")
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.crt", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", f"{name}.crt", cwd=cwd)


@pytest.fixture(scope="module")
def certs():
    """{name: path}: ca.crt, node.pem (key + chain), node-encrypted.pem, client.crt/.key,
    rogue.crt/.key (self-signed)."""
    cwd = tempfile.mkdtemp(prefix="strata-tls-")
    new_key("ca", cwd)
    openssl("req", "-x509", "-new", "-key", "ca.key", "-subj", "/CN=Strata Test CA", "-days", "2",
            "-out", "ca.crt", cwd=cwd)
    signed_cert("node", HOST, cwd, san=HOST)
    signed_cert("client", "strata-client", cwd)
    new_key("rogue", cwd)
    openssl("req", "-x509", "-new", "-key", "rogue.key", "-subj", "/CN=rogue", "-days", "2",
            "-out", "rogue.crt", cwd=cwd)
    openssl("pkcs8", "-topk8", "-v2", "aes-256-cbc", "-in", "node.key", "-passout",
            f"pass:{KEY_PASSWORD}", "-out", "node-encrypted.key", cwd=cwd)
    base = pathlib.Path(cwd)
    chain = (base / "node.crt").read_text() + (base / "ca.crt").read_text()
    (base / "node.pem").write_text((base / "node.key").read_text() + chain)
    (base / "node-encrypted.pem").write_text((base / "node-encrypted.key").read_text() + chain)
    yield {name: str(base / name) for name in (
        "ca.crt", "node.pem", "node-encrypted.pem", "client.crt", "client.key", "rogue.crt",
        "rogue.key")}
    shutil.rmtree(cwd, ignore_errors=True)


@pytest.fixture
def tls_node(tmp_path):
    """start(yaml) -> a node on the loopback address configured with that client_encryption_options text;
    every node started is stopped at the end."""
    started = []

    def start(options):
        data_dir = tempfile.mkdtemp(prefix="strata-tls-node-")
        config = pathlib.Path(data_dir) / "cassandra.yaml"
        config.write_text("client_encryption_options:\n" + options)
        server = harness.StrataServer(harness.strata_binary(), data_dir, ["--config", str(config)])
        started.append(server)
        server.start()
        return server

    yield start
    for server in started:
        died = server.process is not None and server.process.poll() is not None
        log = server.log_tail()
        server.stop()
        shutil.rmtree(server.data_dir, ignore_errors=True)
        assert not died, f"the node died during the test\n{log}"


def client_context(certs, cert=None):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(certs["ca.crt"])
    context.check_hostname = False
    if cert:
        context.load_cert_chain(certs[f"{cert}.crt"], certs[f"{cert}.key"])
    return context


def driver_query(node, context):
    profile = ExecutionProfile(load_balancing_policy=WhiteListRoundRobinPolicy([node.host]))
    cluster = Cluster([node.host], port=node.native_port, ssl_context=context,
                      execution_profiles={EXEC_PROFILE_DEFAULT: profile}, protocol_version=5,
                      connect_timeout=10, control_connection_timeout=10)
    try:
        session = cluster.connect()
        return session.execute("SELECT release_version FROM system.local").one()[0]
    finally:
        cluster.shutdown()


def plain_driver_query(node):
    return driver_query(node, None)


def raw_options_frame():
    """A v4 OPTIONS frame, as a plain-text client opens a connection."""
    return bytes([0x04, 0, 0, 1, 0x05, 0, 0, 0, 0])


def enabled(certs, extra=""):
    return f"  enabled: true\n  keystore: {certs['node.pem']}\n" + extra


def test_driver_and_cqlsh_connect_over_tls(certs, tls_node, tmp_path):
    node = tls_node(enabled(certs, "  protocol: TLS\n  accepted_protocols: [TLSv1.2, TLSv1.3]\n"))
    assert "(encrypted)" in node.log_tail(200)
    assert driver_query(node, client_context(certs)).startswith("5.")

    env = dict(os.environ, HOME=str(tmp_path), SSL_CERTFILE=certs["ca.crt"])
    env.pop("CQLSH_HOST", None)
    env.pop("CQLSH_PORT", None)
    run = subprocess.run(
        [str(pathlib.Path(sys.executable).parent / "cqlsh"), "--ssl", node.host,
         str(node.native_port), "-e", "SELECT cluster_name FROM system.local"],
        capture_output=True, text=True, env=env, timeout=CQLSH_TIMEOUT_S, check=False)
    assert run.returncode == 0, run.stderr
    assert node.cluster_name in run.stdout, run.stdout

    # cqlshrc's [ssl] section, as operators configure it.
    (tmp_path / ".cassandra").mkdir(exist_ok=True)
    (tmp_path / ".cassandra" / "cqlshrc").write_text(
        f"[connection]\nssl = true\n[ssl]\ncertfile = {certs['ca.crt']}\nvalidate = true\n")
    env.pop("SSL_CERTFILE")
    run = subprocess.run(
        [str(pathlib.Path(sys.executable).parent / "cqlsh"), node.host, str(node.native_port),
         "-e", "SELECT release_version FROM system.local"],
        capture_output=True, text=True, env=env, timeout=CQLSH_TIMEOUT_S, check=False)
    assert run.returncode == 0, run.stderr


def test_plain_text_client_is_refused_and_the_node_stays_up(certs, tls_node):
    node = tls_node(enabled(certs))
    with socket.create_connection((node.host, node.native_port), timeout=10) as sock:
        sock.sendall(raw_options_frame())
        sock.settimeout(10)
        # The server closes the connection (at most a TLS alert first); never a CQL answer.
        received = b""
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            received += chunk
        assert not received.startswith(b"\x84"), received
    with pytest.raises(NoHostAvailable):
        plain_driver_query(node)
    assert node.is_running()
    assert driver_query(node, client_context(certs)).startswith("5.")


def test_encrypted_pkcs8_key_with_keystore_password(certs, tls_node):
    node = tls_node(f"  enabled: true\n  keystore: {certs['node-encrypted.pem']}\n"
                    f"  keystore_password: {KEY_PASSWORD}\n")
    assert driver_query(node, client_context(certs)).startswith("5.")


def health(node):
    """`strata health` configured like the node (its YAML and flags), as the image runs it."""
    return subprocess.run(
        [node.binary, *node.extra_args, "--rpc-address", node.host,
         "--native-port", str(node.native_port), "--admin-port", str(node.admin_port),
         "health", "--timeout", "5"],
        capture_output=True, text=True, timeout=60, check=False)


def test_mutual_tls_accepts_only_certificates_of_the_truststore(certs, tls_node):
    node = tls_node(enabled(certs, f"  require_client_auth: true\n  truststore: {certs['ca.crt']}\n"))
    with pytest.raises(NoHostAvailable):
        driver_query(node, client_context(certs))
    with pytest.raises(NoHostAvailable):
        driver_query(node, client_context(certs, cert="rogue"))
    assert driver_query(node, client_context(certs, cert="client")).startswith("5.")
    # The health probe speaks TLS and presents the node's own certificate.
    run = health(node)
    assert run.returncode == 0 and run.stdout.strip() == "healthy", run.stderr


def test_optional_mode_serves_tls_and_plain_text_on_one_port(certs, tls_node):
    node = tls_node(f"  optional: true\n  keystore: {certs['node.pem']}\n")
    assert driver_query(node, client_context(certs)).startswith("5.")
    assert plain_driver_query(node).startswith("5.")


def test_bad_tls_settings_stop_startup_naming_them(certs, tmp_path):
    cases = [
        (f"  enabled: true\n  keystore: {tmp_path}/missing.pem\n", "cannot read keystore"),
        (f"  enabled: true\n  keystore: {certs['node-encrypted.pem']}\n  keystore_password: wrong\n",
         "cannot decrypt with keystore_password"),
        (enabled(certs, "  cipher_suites: [TLS_RSA_WITH_RC4_128_MD5]\n"),
         "TLS_RSA_WITH_RC4_128_MD5 is not supported"),
        (enabled(certs, "  require_client_auth: true\n"), "require_client_auth needs a truststore"),
    ]
    for index, (options, needle) in enumerate(cases):
        case_dir = tmp_path / str(index)
        case_dir.mkdir()
        config = case_dir / "cassandra.yaml"
        config.write_text("client_encryption_options:\n" + options)
        run = subprocess.run(
            [harness.strata_binary(), "--config", str(config), "--data-dir", str(case_dir / "data"),
             "--rpc-address", HOST, "--listen-address", HOST, "--native-port", "0",
             "--admin-port", "0", "--storage-port", "0"],
            capture_output=True, text=True, timeout=60, check=False)
        assert run.returncode != 0, f"started with {options!r}"
        assert needle in run.stderr and "client_encryption_options" in run.stderr, run.stderr
        assert not (case_dir / "data").exists(), "refused before touching the data directory"


def raw_startup_over_tls(node, context):
    """A TLS connection that sent STARTUP and got AUTHENTICATE, left before its login."""
    sock = context.wrap_socket(socket.create_connection((node.host, node.native_port),
                                                        timeout=10))
    body = (b"\x00\x01" + len(b"CQL_VERSION").to_bytes(2, "big") + b"CQL_VERSION"
            + len(b"3.0.0").to_bytes(2, "big") + b"3.0.0")
    sock.sendall(bytes([0x04, 0, 0, 1, 0x01]) + len(body).to_bytes(4, "big") + body)
    header = sock.recv(9)
    assert header[4] == 0x03, f"expected AUTHENTICATE, got opcode {header[4]:#x}"
    return sock


def test_clients_view_shows_login_and_tls_session(certs, tls_node):
    """system_views.clients as Cassandra 5.0's ClientsTable fills it: the role a connection
    logged in as (none while it authenticates), its TLS protocol and cipher suite, the
    driver's STARTUP options, protocol version, request count and keyspace."""
    import cassandra
    from cassandra.auth import PlainTextAuthProvider

    node = tls_node(enabled(certs) + "authenticator: PasswordAuthenticator\n")
    context = client_context(certs)
    pending = raw_startup_over_tls(node, context)
    pending_port = pending.getsockname()[1]
    profile = ExecutionProfile(load_balancing_policy=WhiteListRoundRobinPolicy([node.host]))
    cluster = Cluster([node.host], port=node.native_port, ssl_context=context,
                      execution_profiles={EXEC_PROFILE_DEFAULT: profile}, protocol_version=5,
                      connect_timeout=10, control_connection_timeout=10,
                      auth_provider=PlainTextAuthProvider("cassandra", "cassandra"))
    try:
        session = cluster.connect()
        session.execute("USE system")
        rows = list(session.execute("SELECT * FROM system_views.clients"))
    finally:
        cluster.shutdown()
        pending.close()
    mine = [r for r in rows if r.driver_name]
    assert mine, rows
    for r in mine:
        assert r.username == "cassandra", r
        assert r.authentication_mode == "Password", r
        assert r.connection_stage == "ready", r
        assert r.ssl_enabled is True, r
        assert r.ssl_protocol == "TLSv1.3", r
        assert r.ssl_cipher_suite in ("TLS_AES_256_GCM_SHA384", "TLS_AES_128_GCM_SHA256",
                                      "TLS_CHACHA20_POLY1305_SHA256"), r
        assert r.driver_name == "DataStax Python Driver", r
        assert r.driver_version == cassandra.__version__, r
        assert r.protocol_version == 5 and r.request_count >= 1, r
        assert r.client_options["CQL_VERSION"] and \
            r.client_options["DRIVER_NAME"] == r.driver_name, r
        assert str(r.address) == node.host and r.hostname == node.host and r.port > 0, r
    assert any(r.keyspace_name == "system" for r in mine), mine
    waiting = [r for r in rows if r.port == pending_port]
    assert len(waiting) == 1, rows
    assert waiting[0].connection_stage == "authenticating", waiting
    assert waiting[0].username is None and waiting[0].ssl_enabled is True, waiting
    assert waiting[0].authentication_mode == "Unauthenticated", waiting
    assert waiting[0].protocol_version == 4 and waiting[0].driver_name is None, waiting
