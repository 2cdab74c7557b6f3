package compat

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gocql/gocql"
)

// The multi-node test's nodes: loopback addresses of their own (Linux routes all of
// 127.0.0.0/8 to lo), so every node uses the same ports, as in a real cluster.
var clusterHosts = []string{"127.0.13.11", "127.0.13.12", "127.0.13.13"}

const (
	// From the seed's start to every node up in `nodetool status`.
	formTimeout = 30 * time.Second
	// What a read at ONE waits for a QUORUM write to reach its last replica.
	convergeTimeout = 5 * time.Second
)

// sharedPort is a TCP and UDP port free on every host (a small race is accepted): the
// storage port carries gossip (UDP) and messaging (TCP).
func sharedPort(hosts []string) (int, error) {
	for attempt := 0; attempt < 50; attempt++ {
		port, err := freePort(hosts[0])
		if err != nil {
			return 0, err
		}
		if portFree(hosts, port) {
			return port, nil
		}
	}
	return 0, fmt.Errorf("no port free on %v", hosts)
}

func portFree(hosts []string, port int) bool {
	for _, host := range hosts {
		address := net.JoinHostPort(host, strconv.Itoa(port))
		tcp, err := net.Listen("tcp", address)
		if err != nil {
			return false
		}
		tcp.Close()
		udp, err := net.ListenPacket("udp", address)
		if err != nil {
			return false
		}
		udp.Close()
	}
	return true
}

// startCluster starts one node per host, the first being the seed, stopped when the test
// ends; it returns once every node lists all of them up in `nodetool status`.
func startCluster(t *testing.T, hosts []string) []*strataNode {
	t.Helper()
	var ports [3]int
	for i := range ports {
		port, err := sharedPort(hosts)
		if err != nil {
			t.Fatal(err)
		}
		ports[i] = port
	}
	nodes := make([]*strataNode, 0, len(hosts))
	t.Cleanup(func() {
		for _, n := range nodes {
			if t.Failed() {
				fmt.Println(n.logTail())
			}
			n.stop()
		}
	})
	started := time.Now()
	for _, host := range hosts {
		dataDir, err := os.MkdirTemp("", "strata-go-cluster-")
		if err != nil {
			t.Fatal(err)
		}
		n, err := launchNode(strataBinary(), dataDir, host, ports, "--seeds", hosts[0])
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, n)
	}
	for _, n := range nodes {
		if err := n.waitUntilListening(); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range nodes {
		waitFor(t, n.host+" sees every node UN", formTimeout, func() bool {
			states := n.statuses(t)
			for _, host := range hosts {
				if states[host] != "UN" {
					return false
				}
			}
			return true
		})
	}
	t.Logf("%d nodes up on every node after %.2f s", len(hosts), time.Since(started).Seconds())
	return nodes
}

// nodetool runs `strata nodetool` against the node's admin endpoint.
func (n *strataNode) nodetool(t *testing.T, args ...string) string {
	t.Helper()
	command := append([]string{"nodetool", "--host", n.host, "--port", strconv.Itoa(n.adminPort)}, args...)
	out, err := exec.Command(strataBinary(), command...).CombinedOutput()
	if err != nil {
		t.Fatalf("nodetool %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// statuses maps each address in `nodetool status` to its state (UN, DN...).
func (n *strataNode) statuses(t *testing.T) map[string]string {
	t.Helper()
	states := map[string]string{}
	for _, line := range strings.Split(n.nodetool(t, "status"), "\n") {
		fields := strings.Fields(line)
		if len(fields) > 1 && len(fields[0]) == 2 && strings.ContainsAny(fields[0][:1], "UD") {
			states[fields[1]] = fields[0]
		}
	}
	return states
}

func waitFor(t *testing.T, what string, timeout time.Duration, condition func() bool) {
	t.Helper()
	started := time.Now()
	for time.Since(started) < timeout {
		if condition() {
			t.Logf("%s: %.2f s", what, time.Since(started).Seconds())
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("%s: not within %v", what, timeout)
}

// coordinators records the host that served each query (gocql's QueryObserver).
type coordinators struct {
	mu    sync.Mutex
	hosts []string
}

func (c *coordinators) ObserveQuery(_ context.Context, q gocql.ObservedQuery) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hosts = append(c.hosts, q.Host.ConnectAddress().String())
}

func (c *coordinators) last() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hosts[len(c.hosts)-1]
}

// since is the hosts of the queries after the first `from`.
func (c *coordinators) since(from int) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.hosts[from:]...)
}

func (c *coordinators) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.hosts)
}

// discovered records every host gocql learned from system.local and system.peers.
type discovered struct {
	mu    sync.Mutex
	hosts map[string]*gocql.HostInfo
}

func (d *discovered) Accept(host *gocql.HostInfo) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.hosts[host.ConnectAddress().String()] = host
	return true
}

// A 3-node cluster: gocql, given one contact point, discovers all three nodes with their
// tokens, routes each statement token-aware to a replica (RF=1: the only one, as nodetool
// getendpoints names it), QUORUM writes are seen by reads at ONE through every node, and the
// session keeps working at QUORUM when one node is stopped.
func TestClusterDiscoveryTokenAwareRoutingAndANodeStopped(t *testing.T) {
	begin(t)
	started := time.Now()
	nodes := startCluster(t, clusterHosts)

	found := &discovered{hosts: map[string]*gocql.HostInfo{}}
	observed := &coordinators{}
	c := gocql.NewCluster(clusterHosts[0])
	c.Port = nodes[0].nativePort
	c.ProtoVersion = 4
	c.Timeout = requestTimeout
	c.ConnectTimeout = requestTimeout
	c.Consistency = gocql.Quorum
	c.HostFilter = found
	c.QueryObserver = observed
	c.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(gocql.RoundRobinHostPolicy())
	// The server's answers as they are: a retry would hide a failed request.
	c.RetryPolicy = &gocql.SimpleRetryPolicy{NumRetries: 0}
	session := connectWith(t, c)

	found.mu.Lock()
	var hosts []string
	for address, host := range found.hosts {
		hosts = append(hosts, address)
		check(t, address+" tokens", len(host.Tokens()), 16)
		check(t, address+" data center", host.DataCenter(), "datacenter1")
		if host.HostID() == "" {
			t.Errorf("%s: no host id", address)
		}
	}
	found.mu.Unlock()
	sort.Strings(hosts)
	check(t, "hosts discovered from one contact point", hosts, clusterHosts)

	run(t, session, "CREATE KEYSPACE go_rf1 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
	run(t, session, "CREATE TABLE go_rf1.t (k int PRIMARY KEY, v int)")
	run(t, session, "CREATE KEYSPACE go_rf3 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}")
	run(t, session, "CREATE TABLE go_rf3.t (k int PRIMARY KEY, v int)")

	// RF=1: token-aware routing must pick each key's one replica as coordinator.
	perOwner := map[string]int{}
	for k := 0; k < 30; k++ {
		run(t, session, "INSERT INTO go_rf1.t (k, v) VALUES (?, ?)", k, k)
		owner := strings.TrimSpace(nodes[k%3].nodetool(t, "getendpoints", "go_rf1", "t", strconv.Itoa(k)))
		check(t, fmt.Sprintf("coordinator of key %d", k), observed.last(), owner)
		perOwner[owner]++
	}
	t.Logf("RF=1 keys per owner: %v", perOwner)
	if len(perOwner) != 3 {
		t.Errorf("30 keys should land on all 3 nodes: %v", perOwner)
	}

	// RF=3 at QUORUM: a read at ONE through every node sees every write.
	for k := 0; k < 50; k++ {
		run(t, session, "INSERT INTO go_rf3.t (k, v) VALUES (?, ?)", k, k)
	}
	for _, n := range nodes {
		only := gocql.NewCluster(n.host)
		only.Port = n.nativePort
		only.ProtoVersion = 4
		only.Timeout = requestTimeout
		only.ConnectTimeout = requestTimeout
		only.Consistency = gocql.One
		only.HostFilter = gocql.WhiteListHostFilter(n.host)
		only.RetryPolicy = &gocql.SimpleRetryPolicy{NumRetries: 0}
		local := connectWith(t, only)
		waitFor(t, "reads at ONE through "+n.host+" see all 50 QUORUM writes", convergeTimeout, func() bool {
			for k := 0; k < 50; k++ {
				var v int
				if err := local.Query("SELECT v FROM go_rf3.t WHERE k = ?", k).Scan(&v); err != nil || v != k {
					return false
				}
			}
			return true
		})
		local.Close()
	}

	// One node stopped gracefully: QUORUM (2 of 3) still works through the same session.
	stopped := nodes[2]
	stopped.halt()
	stoppedAt := time.Now()
	before := observed.count()
	for k := 100; k < 150; k++ {
		run(t, session, "INSERT INTO go_rf3.t (k, v) VALUES (?, ?)", k, k)
	}
	for k := 100; k < 150; k++ {
		var v int
		if err := session.Query("SELECT v FROM go_rf3.t WHERE k = ?", k).Scan(&v); err != nil {
			t.Fatalf("QUORUM read of key %d with %s stopped: %v", k, stopped.host, err)
		}
		check(t, fmt.Sprintf("key %d", k), v, k)
	}
	for _, host := range observed.since(before) {
		if host == stopped.host {
			t.Errorf("a request went to the stopped node %s", host)
		}
	}
	t.Logf("100 QUORUM requests with %s stopped in %.2f s; whole test %.2f s",
		stopped.host, time.Since(stoppedAt).Seconds(), time.Since(started).Seconds())
}
