package compat

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/gocql/gocql"
)

// Tracing: the response carries a session id and gocql's TraceWriter reads
// system_traces.sessions and events for it.
func TestTracing(t *testing.T) {
	begin(t)
	session := freshKeyspace(t, "go_trace")
	run(t, session, "CREATE TABLE t (k int PRIMARY KEY, v int)")

	var out bytes.Buffer
	tracer := gocql.NewTraceWriter(session, &out)
	if err := session.Query("INSERT INTO t (k, v) VALUES (?, ?)", 1, 2).Trace(tracer).Exec(); err != nil {
		t.Fatalf("traced insert: %v", err)
	}
	var v int
	if err := session.Query("SELECT v FROM t WHERE k = ?", 1).Trace(tracer).Scan(&v); err != nil {
		t.Fatalf("traced select: %v", err)
	}
	batch := session.NewBatch(gocql.LoggedBatch)
	batch.Query("INSERT INTO t (k, v) VALUES (?, ?)", 2, 3)
	if err := session.ExecuteBatch(batch.Trace(tracer)); err != nil {
		t.Fatalf("traced batch: %v", err)
	}
	text := out.String()
	if strings.Contains(text, "Error:") {
		t.Fatalf("trace writer failed:\n%s", text)
	}
	// gocql traces the PREPARE of a traced statement too: insert and select are prepared and
	// executed, the batch reuses the insert's prepared statement.
	check(t, "traced requests", strings.Count(text, "Tracing session "), 5)
	check(t, "coordinator", strings.Count(text, "(coordinator: 127.0.0.1,"), 5)
	if !strings.Contains(text, "(source: 127.0.0.1, elapsed: ") {
		t.Errorf("no trace events:\n%s", text)
	}

	// The session id is also reachable by hand, as tools do.
	var id []byte
	capture := tracerFunc(func(traceID []byte) { id = append([]byte(nil), traceID...) })
	if err := session.Query("SELECT v FROM t WHERE k = ?", 2).Trace(capture).Scan(&v); err != nil {
		t.Fatal(err)
	}
	if len(id) != 16 {
		t.Fatalf("trace id: %x", id)
	}
	traceID, _ := gocql.UUIDFromBytes(id)
	var request string
	var duration int
	if err := session.Query("SELECT request, duration FROM system_traces.sessions WHERE session_id = ?", traceID).
		Scan(&request, &duration); err != nil {
		t.Fatalf("system_traces.sessions: %v", err)
	}
	check(t, "request", request, "Execute CQL3 query")
	if duration <= 0 {
		t.Errorf("duration %d", duration)
	}
}

type tracerFunc func([]byte)

func (f tracerFunc) Trace(traceID []byte) { f(traceID) }

// Custom payloads are accepted with any request; Cassandra's default query handler ignores
// them and answers none.
func TestCustomPayload(t *testing.T) {
	begin(t)
	session := freshKeyspace(t, "go_payload")
	run(t, session, "CREATE TABLE t (k int PRIMARY KEY, v text)")
	payload := map[string][]byte{"tenant": []byte("acme"), "empty": {}}

	if err := session.Query("INSERT INTO t (k, v) VALUES (?, ?)", 1, "x").CustomPayload(payload).Exec(); err != nil {
		t.Fatalf("insert with payload: %v", err)
	}
	iter := session.Query("SELECT v FROM t WHERE k = ?", 1).CustomPayload(payload).Iter()
	var v string
	if !iter.Scan(&v) {
		t.Fatalf("select with payload: %v", iter.Close())
	}
	check(t, "value", v, "x")
	check(t, "response payload", len(iter.GetCustomPayload()), 0)
	if err := iter.Close(); err != nil {
		t.Fatal(err)
	}
	// Unprepared statements (DDL) with a payload too, and with tracing at the same time.
	if err := session.Query("CREATE TABLE IF NOT EXISTS u (k int PRIMARY KEY)").CustomPayload(payload).
		Trace(tracerFunc(func([]byte) {})).Exec(); err != nil {
		t.Fatalf("DDL with payload: %v", err)
	}
}

// Token-aware routing: gocql computes each statement's routing key from the PREPARED partition
// key indexes and the ring from system.local tokens.
func TestTokenAwareRouting(t *testing.T) {
	begin(t)
	admin := freshKeyspace(t, "go_token")
	run(t, admin, "CREATE TABLE t (a int, b text, c int, v int, PRIMARY KEY ((a, b), c))")

	c := cluster("go_token")
	c.PoolConfig.HostSelectionPolicy = gocql.TokenAwareHostPolicy(gocql.RoundRobinHostPolicy())
	observer := &hostObserver{}
	c.QueryObserver = observer
	c.HostFilter = gocql.HostFilterFunc(observer.filter)
	session := connectWith(t, c)

	// The routing key of a composite partition key: each component length-prefixed, then 0.
	query := session.Query("INSERT INTO t (c, b, a, v) VALUES (?, ?, ?, ?)", 1, "xy", 7, 0)
	key, err := query.GetRoutingKey()
	if err != nil {
		t.Fatalf("routing key: %v", err)
	}
	want := []byte{0, 4, 0, 0, 0, 7, 0, 0, 2, 'x', 'y', 0}
	if !bytes.Equal(key, want) {
		t.Errorf("routing key: got %x, want %x", key, want)
	}
	for i := 0; i < 20; i++ {
		if err := session.Query("INSERT INTO t (a, b, c, v) VALUES (?, ?, ?, ?)", i, "k", i, i).Exec(); err != nil {
			t.Fatalf("insert %d: %v", i, err)
		}
	}
	single := session.Query("SELECT v FROM t WHERE a = ? AND b = ?", 3, "k")
	if key, err := single.GetRoutingKey(); err != nil || len(key) == 0 {
		t.Errorf("select routing key: %x %v", key, err)
	}
	var v int
	if err := single.Scan(&v); err != nil {
		t.Fatal(err)
	}
	check(t, "v", v, 3)

	var tokens []string
	if err := session.Query("SELECT tokens FROM system.local WHERE key = 'local'").Scan(&tokens); err != nil {
		t.Fatal(err)
	}
	if len(tokens) == 0 {
		t.Error("system.local has no tokens: token-aware routing has no ring")
	}
	for _, host := range observer.hostsSeen() {
		check(t, "routed host", host, "127.0.0.1")
	}
	if len(observer.hostsSeen()) == 0 {
		t.Error("no query was observed")
	}
	ring := observer.ring()
	if len(ring) != 1 {
		t.Fatalf("ring: %d hosts, want 1", len(ring))
	}
	host := ring[0]
	check(t, "host tokens", len(host.Tokens()), len(tokens))
	check(t, "host version", host.Version().Major, 5)
	check(t, "host partitioner", host.Partitioner(), "org.apache.cassandra.dht.Murmur3Partitioner")
	check(t, "host data center", host.DataCenter(), "datacenter1")
}

// hostObserver records the hosts gocql learns (HostFilter) and the host of each query.
type hostObserver struct {
	mu    sync.Mutex
	known map[string]*gocql.HostInfo
	hosts []string
}

func (o *hostObserver) filter(host *gocql.HostInfo) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.known == nil {
		o.known = map[string]*gocql.HostInfo{}
	}
	o.known[host.HostID()] = host
	return true
}

func (o *hostObserver) ring() []*gocql.HostInfo {
	o.mu.Lock()
	defer o.mu.Unlock()
	hosts := make([]*gocql.HostInfo, 0, len(o.known))
	for _, host := range o.known {
		hosts = append(hosts, host)
	}
	return hosts
}

func (o *hostObserver) ObserveQuery(_ context.Context, q gocql.ObservedQuery) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if q.Host != nil {
		o.hosts = append(o.hosts, q.Host.ConnectAddress().String())
	}
}

func (o *hostObserver) hostsSeen() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.hosts...)
}
