// The Go compat suite: gocql (the Debian package, built offline in GOPATH mode) against a
// strata node this harness starts itself, as compat-tests/conftest.py does for the Python
// suites: fresh temp data dir, free loopback ports, stopped at the end.
//
// Environment:
//
//	STRATA_BIN        path of the server binary (default: <repo>/target/release/strata)
//	STRATA_KEEP_DATA  if set, keep the temp data dir (its path is printed)
//
// Known server gaps are listed in compat-tests/known_gaps.txt as
// `go/<file>::<TestName>  # reason`; such a test is skipped with that reason (see begin).
package compat

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gocql/gocql"
)

const (
	loopback       = "127.0.0.1"
	clusterName    = "Strata Go Compat"
	startupTimeout = 30 * time.Second
	stopTimeout    = 15 * time.Second
	// Every request of the suite is bounded: a hung server fails a test, never the CI.
	requestTimeout = 20 * time.Second
)

// node is the one strata process shared by every test of the package.
var node *strataNode

type strataNode struct {
	host       string
	cmd        *exec.Cmd
	dataDir    string
	logPath    string
	nativePort int
	adminPort  int
	// exited is closed once the process is gone; exitErr is its exit status then.
	exited  chan struct{}
	exitErr error
}

// freePorts returns three distinct free ports. The listeners stay open until all are
// chosen: released one by one, the OS may hand the same port out twice in a row.
func freePorts(host string) ([3]int, error) {
	var ports [3]int
	for i := range ports {
		listener, err := net.Listen("tcp", host+":0")
		if err != nil {
			return ports, err
		}
		defer listener.Close()
		ports[i] = listener.Addr().(*net.TCPAddr).Port
	}
	return ports, nil
}

func freePort(host string) (int, error) {
	listener, err := net.Listen("tcp", host+":0")
	if err != nil {
		return 0, err
	}
	defer listener.Close()
	return listener.Addr().(*net.TCPAddr).Port, nil
}

func strataBinary() string {
	if bin := os.Getenv("STRATA_BIN"); bin != "" {
		return bin
	}
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "target", "release", "strata")
}

func startNode() (*strataNode, error) {
	return startNodeAt(loopback)
}

// startNodeAt starts a node of its own on loopback address `host`; `extra` flags follow
// the harness's (e.g. `--config file.yaml`).
func startNodeAt(host string, extra ...string) (*strataNode, error) {
	binary := strataBinary()
	if _, err := os.Stat(binary); err != nil {
		return nil, fmt.Errorf("strata binary not found at %s (build it with `cargo build --release --bin strata` or set STRATA_BIN)", binary)
	}
	dataDir, err := os.MkdirTemp("", "strata-go-compat-")
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(host)
	if err != nil {
		return nil, err
	}
	n, err := launchNode(binary, dataDir, host, ports, extra...)
	if err != nil {
		return nil, err
	}
	if err := n.waitUntilListening(); err != nil {
		return nil, err
	}
	return n, nil
}

// launchNode starts a node on `host` with its native, storage and admin `ports` and data in
// `dataDir`, without waiting for it to listen.
func launchNode(binary, dataDir, host string, ports [3]int, extra ...string) (*strataNode, error) {
	n := &strataNode{host: host, dataDir: dataDir, logPath: filepath.Join(dataDir, "strata-stderr.log"), nativePort: ports[0], adminPort: ports[2]}
	logFile, err := os.Create(n.logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child keeps its own descriptor
	args := []string{
		"--data-dir", filepath.Join(dataDir, "data"),
		"--rpc-address", host,
		"--listen-address", host,
		"--admin-address", host,
		"--native-port", strconv.Itoa(ports[0]),
		"--storage-port", strconv.Itoa(ports[1]),
		"--admin-port", strconv.Itoa(ports[2]),
		"--cluster-name", clusterName}
	n.cmd = exec.Command(binary, append(args, extra...)...)
	n.cmd.Dir = dataDir
	n.cmd.Stdout = logFile
	n.cmd.Stderr = logFile
	if err := n.cmd.Start(); err != nil {
		return nil, err
	}
	n.exited = make(chan struct{})
	go func() {
		n.exitErr = n.cmd.Wait()
		close(n.exited)
	}()
	return n, nil
}

// waitUntilListening waits for the CQL port; a node that exits or does not listen in time is
// killed and its log tail returned in the error.
func (n *strataNode) waitUntilListening() error {
	deadline := time.Now().Add(startupTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-n.exited:
			return fmt.Errorf("strata exited before listening (%v)\n%s", n.exitErr, n.logTail())
		default:
		}
		conn, err := net.DialTimeout("tcp", n.address(), 500*time.Millisecond)
		if err == nil {
			conn.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = n.cmd.Process.Kill()
	<-n.exited
	return fmt.Errorf("strata did not listen on %s within %v\n%s", n.address(), startupTimeout, n.logTail())
}

func (n *strataNode) address() string {
	return net.JoinHostPort(n.host, strconv.Itoa(n.nativePort))
}

// stop halts the node and removes the data dir unless asked to keep it.
func (n *strataNode) stop() {
	n.halt()
	if os.Getenv("STRATA_KEEP_DATA") != "" {
		fmt.Printf("strata data kept in %s\n", n.dataDir)
		return
	}
	_ = os.RemoveAll(n.dataDir)
}

// halt sends SIGTERM, escalating to SIGKILL, and waits for the process to exit; a node
// already gone is left as it is.
func (n *strataNode) halt() {
	_ = n.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-n.exited:
	case <-time.After(stopTimeout):
		_ = n.cmd.Process.Kill()
		<-n.exited
	}
}

func (n *strataNode) logTail() string {
	data, err := os.ReadFile(n.logPath)
	if err != nil {
		return fmt.Sprintf("(no strata log: %v)", err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > 40 {
		lines = lines[len(lines)-40:]
	}
	return "--- tail of " + n.logPath + " ---\n" + strings.Join(lines, "\n")
}

func TestMain(m *testing.M) {
	var err error
	if knownGaps, err = readKnownGaps(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if node, err = startNode(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	code := m.Run()
	if code != 0 {
		fmt.Println(node.logTail())
	}
	node.stop()
	os.Exit(code)
}

// knownGaps maps `go/<file>::<TestName>` to the reason given in known_gaps.txt.
var knownGaps map[string]string

func readKnownGaps() (map[string]string, error) {
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "..", "known_gaps.txt")
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gaps := map[string]string{}
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		entry, reason, _ := strings.Cut(scanner.Text(), "#")
		if entry = strings.TrimSpace(entry); strings.HasPrefix(entry, "go/") {
			gaps[entry] = strings.TrimSpace(reason)
		}
	}
	return gaps, scanner.Err()
}

// begin starts a test: it is skipped, with its reason, when known_gaps.txt lists it.
func begin(t *testing.T) {
	t.Helper()
	_, file, _, _ := runtime.Caller(1)
	id := "go/" + filepath.Base(file) + "::" + t.Name()
	if reason, listed := knownGaps[id]; listed {
		t.Skipf("known gap (compat-tests/known_gaps.txt): %s", reason)
	}
}

// cluster is a gocql configuration for the shared node; tests adjust it before connecting.
func cluster(keyspace string) *gocql.ClusterConfig {
	c := gocql.NewCluster(loopback)
	c.Port = node.nativePort
	c.ProtoVersion = 4
	c.Keyspace = keyspace
	c.Timeout = requestTimeout
	c.ConnectTimeout = requestTimeout
	c.Consistency = gocql.One
	// A single node: no retries that would hide a server error behind a timeout.
	c.RetryPolicy = &gocql.SimpleRetryPolicy{NumRetries: 0}
	return c
}

// connect opens a session (closed when the test ends) on `keyspace` ("" for none).
func connect(t *testing.T, keyspace string) *gocql.Session {
	t.Helper()
	return connectWith(t, cluster(keyspace))
}

func connectWith(t *testing.T, c *gocql.ClusterConfig) *gocql.Session {
	t.Helper()
	session, err := c.CreateSession()
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(session.Close)
	return session
}

// freshKeyspace creates keyspace `name` (dropping an old one) and returns a session using it.
func freshKeyspace(t *testing.T, name string) *gocql.Session {
	t.Helper()
	admin := connect(t, "")
	run(t, admin, "DROP KEYSPACE IF EXISTS "+name)
	run(t, admin, "CREATE KEYSPACE "+name+
		" WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
	return connect(t, name)
}

// run executes a statement that must succeed.
func run(t *testing.T, session *gocql.Session, statement string, values ...interface{}) {
	t.Helper()
	if err := session.Query(statement, values...).Exec(); err != nil {
		t.Fatalf("%s: %v", statement, err)
	}
}

func check(t *testing.T, what string, got, want interface{}) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}

// expectError checks a request failed with Cassandra's error code and message.
func expectError(t *testing.T, what string, err error, code int, message string) {
	t.Helper()
	reqErr, ok := err.(gocql.RequestError)
	if !ok {
		t.Errorf("%s: got %v, want error code %#x %q", what, err, code, message)
		return
	}
	if reqErr.Code() != code || reqErr.Message() != message {
		t.Errorf("%s: got code %#x %q, want %#x %q", what, reqErr.Code(), reqErr.Message(), code, message)
	}
}
