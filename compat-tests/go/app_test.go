package compat

import (
	"bytes"
	"context"
	"errors"
	"sort"
	"testing"
	"time"

	"github.com/gocql/gocql"
)

// What a typical Go service does besides plain reads and writes: bound LIMIT/IN/TTL, unset
// values, the Scanner API, SliceMap, contexts, compression and protocol negotiation.
func TestBoundClausesAndUnset(t *testing.T) {
	begin(t)
	session := freshKeyspace(t, "go_app")
	run(t, session, "CREATE TABLE t (k int, c int, v text, n int, PRIMARY KEY (k, c))")
	for c := 0; c < 6; c++ {
		run(t, session, "INSERT INTO t (k, c, v, n) VALUES (?, ?, ?, ?) USING TTL ?", 1, c, "x", c, 3600)
	}

	var got []int
	scanner := session.Query("SELECT c FROM t WHERE k = ? AND c IN ? LIMIT ?", 1, []int{5, 1, 3, 4}, 3).Iter().Scanner()
	for scanner.Next() {
		var c int
		if err := scanner.Scan(&c); err != nil {
			t.Fatal(err)
		}
		got = append(got, c)
	}
	if err := scanner.Err(); err != nil {
		t.Fatalf("IN ? LIMIT ?: %v", err)
	}
	check(t, "IN ? LIMIT ?", got, []int{1, 3, 4})

	var ttl int
	if err := session.Query("SELECT TTL(v) FROM t WHERE k = ? AND c = ?", 1, 0).Scan(&ttl); err != nil {
		t.Fatal(err)
	}
	if ttl <= 3500 || ttl > 3600 {
		t.Errorf("TTL(v) = %d, want about 3600", ttl)
	}

	// An unset value leaves the column as it is.
	run(t, session, "UPDATE t SET v = ?, n = ? WHERE k = ? AND c = ?", "y", gocql.UnsetValue, 1, 2)
	var v string
	var n int
	if err := session.Query("SELECT v, n FROM t WHERE k = ? AND c = ?", 1, 2).Scan(&v, &n); err != nil {
		t.Fatal(err)
	}
	check(t, "after unset", []interface{}{v, n}, []interface{}{"y", 2})

	rows, err := session.Query("SELECT c, v FROM t WHERE k = ? AND c < ?", 1, 2).Iter().SliceMap()
	if err != nil {
		t.Fatalf("SliceMap: %v", err)
	}
	check(t, "SliceMap", rows, []map[string]interface{}{{"c": 0, "v": "x"}, {"c": 1, "v": "x"}})

	// WithTimestamp sets the write time; a later delete at an earlier time loses.
	run(t, session, "INSERT INTO t (k, c, v) VALUES (2, 0, 'old')")
	if err := session.Query("UPDATE t SET v = 'stamped' WHERE k = 2 AND c = 0").WithTimestamp(time.Now().UnixMicro() + 60_000_000).Exec(); err != nil {
		t.Fatal(err)
	}
	run(t, session, "DELETE v FROM t WHERE k = 2 AND c = 0")
	if err := session.Query("SELECT v FROM t WHERE k = 2 AND c = 0").Scan(&v); err != nil {
		t.Fatal(err)
	}
	check(t, "timestamped write", v, "stamped")

	// A cancelled context fails fast on the client, the session stays usable.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := session.Query("SELECT v FROM t WHERE k = 1").WithContext(ctx).Exec(); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	if err := session.Query("SELECT v FROM t WHERE k = 1 LIMIT 1").Scan(&v); err != nil {
		t.Errorf("after cancel: %v", err)
	}
}

func TestStaticAndDistinct(t *testing.T) {
	begin(t)
	session := freshKeyspace(t, "go_static")
	run(t, session, "CREATE TABLE t (k int, c int, s text static, v int, PRIMARY KEY (k, c))")
	for k := 0; k < 3; k++ {
		run(t, session, "INSERT INTO t (k, c, s, v) VALUES (?, 0, ?, 0)", k, "s")
		run(t, session, "INSERT INTO t (k, c, v) VALUES (?, 1, 1)", k)
	}
	run(t, session, "UPDATE t SET s = 'new' WHERE k = 1")
	iter := session.Query("SELECT DISTINCT k, s FROM t").Iter()
	statics := map[int]string{}
	var k int
	var s string
	for iter.Scan(&k, &s) {
		statics[k] = s
	}
	if err := iter.Close(); err != nil {
		t.Fatal(err)
	}
	check(t, "DISTINCT statics", statics, map[int]string{0: "s", 1: "new", 2: "s"})
}

func TestLargeValues(t *testing.T) {
	begin(t)
	session := freshKeyspace(t, "go_large")
	run(t, session, "CREATE TABLE blobs (k int PRIMARY KEY, b blob)")
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	run(t, session, "INSERT INTO blobs (k, b) VALUES (?, ?)", 1, big)
	var got []byte
	if err := session.Query("SELECT b FROM blobs WHERE k = ?", 1).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, big) {
		t.Errorf("1 MiB blob: got %d bytes", len(got))
	}
}

// Error codes and messages applications match on.
func TestErrors(t *testing.T) {
	begin(t)
	session := freshKeyspace(t, "go_errors")
	run(t, session, "CREATE TABLE t (k int PRIMARY KEY, v int)")

	err := session.Query("CREATE TABLE t (k int PRIMARY KEY)").Exec()
	var exists *gocql.RequestErrAlreadyExists
	if !errors.As(err, &exists) {
		t.Fatalf("CREATE TABLE of an existing table: %v", err)
	}
	check(t, "already exists", []string{exists.Keyspace, exists.Table}, []string{"go_errors", "t"})
	expectError(t, "already exists", err, gocql.ErrCodeAlreadyExists, "Cannot add already existing table \"t\" to keyspace \"go_errors\"")

	err = session.Query("SELEC * FROM t").Exec()
	if reqErr, ok := err.(gocql.RequestError); !ok || reqErr.Code() != gocql.ErrCodeSyntax {
		t.Errorf("syntax error: %v", err)
	}
	expectError(t, "unknown table", session.Query("SELECT * FROM nope").Exec(), gocql.ErrCodeInvalid,
		"table nope does not exist")
	expectError(t, "filtering", session.Query("SELECT * FROM t WHERE v = 1").Exec(), gocql.ErrCodeInvalid,
		"Cannot execute this query as it might involve data filtering and thus may have unpredictable performance. If you want to execute this query despite the performance unpredictability, use ALLOW FILTERING")
	expectError(t, "wrong type", session.Query("INSERT INTO t (k, v) VALUES (1, 'x')").Exec(), gocql.ErrCodeInvalid,
		"Invalid STRING constant (x) for \"v\" of type int")
	expectError(t, "missing key", session.Query("INSERT INTO t (v) VALUES (?)", 1).Exec(), gocql.ErrCodeInvalid,
		"Some partition key parts are missing: k")

	// The session keeps working after errors.
	run(t, session, "INSERT INTO t (k, v) VALUES (?, ?)", 1, 1)

	c := cluster("no_such_keyspace")
	if s, err := c.CreateSession(); err == nil {
		s.Close()
		t.Error("a session on a missing keyspace connected")
	}
}

func TestCompressionAndProtocolNegotiation(t *testing.T) {
	begin(t)
	freshKeyspace(t, "go_wire")

	c := cluster("go_wire")
	c.Compressor = &gocql.SnappyCompressor{}
	snappy := connectWith(t, c)
	run(t, snappy, "CREATE TABLE t (k int PRIMARY KEY, v text)")
	value := string(bytes.Repeat([]byte("compressible "), 4096))
	run(t, snappy, "INSERT INTO t (k, v) VALUES (?, ?)", 1, value)
	var v string
	if err := snappy.Query("SELECT v FROM t WHERE k = ?", 1).Scan(&v); err != nil {
		t.Fatalf("snappy select: %v", err)
	}
	check(t, "snappy round trip", len(v), len(value))

	// ProtoVersion 0: gocql negotiates the highest version both sides speak (4 for gocql 1.3).
	auto := cluster("go_wire")
	auto.ProtoVersion = 0
	negotiated := connectWith(t, auto)
	if err := negotiated.Query("SELECT v FROM t WHERE k = ?", 1).Scan(&v); err != nil {
		t.Fatalf("negotiated session: %v", err)
	}
}

// gocql refreshes its cached schema on SCHEMA_CHANGE events.
func TestSchemaChangesReachMetadata(t *testing.T) {
	begin(t)
	session := freshKeyspace(t, "go_schema_events")
	run(t, session, "CREATE TABLE t (k int PRIMARY KEY, a int)")
	meta, err := session.KeyspaceMetadata("go_schema_events")
	if err != nil {
		t.Fatal(err)
	}
	check(t, "columns before", keys(meta.Tables["t"].Columns), []string{"a", "k"})

	run(t, session, "ALTER TABLE t ADD b text")
	run(t, session, "CREATE TABLE u (k int PRIMARY KEY)")
	deadline := time.Now().Add(10 * time.Second)
	for {
		meta, err = session.KeyspaceMetadata("go_schema_events")
		if err != nil {
			t.Fatal(err)
		}
		names := []string{}
		for name := range meta.Tables {
			names = append(names, name)
		}
		sort.Strings(names)
		if len(names) == 2 && len(meta.Tables["t"].Columns) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metadata not refreshed: tables %v, t columns %v", names, keys(meta.Tables["t"].Columns))
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Prepared statements see the new column.
	run(t, session, "INSERT INTO t (k, a, b) VALUES (?, ?, ?)", 1, 2, "three")
	var b string
	if err := session.Query("SELECT b FROM t WHERE k = ?", 1).Scan(&b); err != nil {
		t.Fatal(err)
	}
	check(t, "new column", b, "three")
}
