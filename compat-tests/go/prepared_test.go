package compat

import (
	"bytes"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/gocql/gocql"
	"gopkg.in/inf.v0"
)

// gocql prepares every SELECT/INSERT/UPDATE/DELETE and executes it with the skip-metadata
// flag, decoding rows with the metadata cached at PREPARE.
func TestPreparedSelectSkipsMetadata(t *testing.T) {
	begin(t)
	session := freshKeyspace(t, "go_prepared")
	run(t, session, "CREATE TABLE kv (k int, c int, v text, PRIMARY KEY (k, c))")
	for c := 0; c < 10; c++ {
		run(t, session, "INSERT INTO kv (k, c, v) VALUES (?, ?, ?)", 1, c, "v"+string(rune('a'+c)))
	}

	var v string
	if err := session.Query("SELECT v FROM kv WHERE k = ? AND c = ?", 1, 3).Scan(&v); err != nil {
		t.Fatalf("prepared single-row select: %v", err)
	}
	check(t, "v", v, "vd")

	iter := session.Query("SELECT c, v FROM kv WHERE k = ?", 1).Iter()
	var c int
	var got []int
	for iter.Scan(&c, &v) {
		got = append(got, c)
	}
	if err := iter.Close(); err != nil {
		t.Fatalf("prepared multi-row select: %v", err)
	}
	check(t, "clustering order", got, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	check(t, "columns", columnNames(iter.Columns()), []string{"c", "v"})

	// Without bind values the statement is prepared and executed the same way.
	var count int64
	if err := session.Query("SELECT count(*) FROM kv").Scan(&count); err != nil {
		t.Fatalf("count(*): %v", err)
	}
	check(t, "count", count, 10)

	// The same statement with metadata requested.
	if err := session.Query("SELECT v FROM kv WHERE k = ? AND c = ?", 1, 4).NoSkipMetadata().Scan(&v); err != nil {
		t.Fatalf("select without skip-metadata: %v", err)
	}
	check(t, "v", v, "ve")

	// MapScan decodes with the cached metadata too.
	row := map[string]interface{}{}
	if err := session.Query("SELECT k, c, v FROM kv WHERE k = ? AND c = ?", 1, 9).MapScan(row); err != nil {
		t.Fatalf("MapScan: %v", err)
	}
	check(t, "MapScan", row, map[string]interface{}{"k": 1, "c": 9, "v": "vj"})
	if err := session.Query("SELECT v FROM kv WHERE k = ? AND c = ?", 2, 0).Scan(&v); err != gocql.ErrNotFound {
		t.Errorf("no row: got %v, want ErrNotFound", err)
	}
}

func columnNames(columns []gocql.ColumnInfo) []string {
	names := make([]string, len(columns))
	for i, column := range columns {
		names[i] = column.Name
	}
	return names
}

// Every native type through prepared INSERT and SELECT.
func TestNativeTypesRoundTrip(t *testing.T) {
	begin(t)
	session := freshKeyspace(t, "go_types")
	run(t, session, `CREATE TABLE all_types (k int PRIMARY KEY,
		a ascii, b bigint, bl blob, bo boolean, d date, de decimal, db double, du duration,
		f float, i inet, si smallint, te text, ti time, ts timestamp, tu timeuuid, tt tinyint,
		u uuid, vc varchar, vi varint)`)

	day := time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)
	stamp := time.Date(2024, 2, 29, 13, 14, 15, 123000000, time.UTC)
	timeuuid := gocql.UUIDFromTime(stamp)
	random, _ := gocql.RandomUUID()
	varint, _ := new(big.Int).SetString("-123456789012345678901234567890", 10)
	decimal := inf.NewDec(-31415926535, 10)
	duration := gocql.Duration{Months: 14, Days: 3, Nanoseconds: 3_600_000_000_123}
	tod := 13*time.Hour + 14*time.Minute + 15*time.Second + 987654321
	run(t, session, `INSERT INTO all_types (k, a, b, bl, bo, d, de, db, du, f, i, si, te, ti, ts, tu, tt, u, vc, vi)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		1, "ascii", int64(-9007199254740993), []byte{0, 1, 0xfe}, true, day, decimal, 2.5e-300, duration,
		float32(1.5), net.ParseIP("2001:db8::1"), int16(-32768), "text ✓", tod, stamp, timeuuid, int8(-128),
		random, "varchar", varint)

	var (
		a, te, vc string
		b         int64
		bl        []byte
		bo        bool
		d, ts     time.Time
		de        *inf.Dec
		db        float64
		du        gocql.Duration
		f         float32
		i         net.IP
		si        int16
		ti        time.Duration
		tu, u     gocql.UUID
		tt        int8
		vi        *big.Int
	)
	err := session.Query(`SELECT a, b, bl, bo, d, de, db, du, f, i, si, te, ti, ts, tu, tt, u, vc, vi
		FROM all_types WHERE k = ?`, 1).Scan(&a, &b, &bl, &bo, &d, &de, &db, &du, &f, &i, &si, &te, &ti, &ts, &tu, &tt, &u, &vc, &vi)
	if err != nil {
		t.Fatalf("select: %v", err)
	}
	check(t, "ascii", a, "ascii")
	check(t, "bigint", b, int64(-9007199254740993))
	if !bytes.Equal(bl, []byte{0, 1, 0xfe}) {
		t.Errorf("blob: got %x", bl)
	}
	check(t, "boolean", bo, true)
	check(t, "date", d.UTC(), day)
	check(t, "decimal", de.String(), decimal.String())
	check(t, "double", db, 2.5e-300)
	check(t, "duration", du, duration)
	check(t, "float", f, float32(1.5))
	check(t, "inet", i.String(), "2001:db8::1")
	check(t, "smallint", si, int16(-32768))
	check(t, "text", te, "text ✓")
	check(t, "time", ti, tod)
	check(t, "timestamp", ts.UTC(), stamp)
	check(t, "timeuuid", tu, timeuuid)
	check(t, "tinyint", tt, int8(-128))
	check(t, "uuid", u, random)
	check(t, "varchar", vc, "varchar")
	check(t, "varint", vi.String(), varint.String())

	// Nulls scan as zero values; a pointer destination tells them apart.
	run(t, session, "INSERT INTO all_types (k) VALUES (?)", 2)
	var missing *string
	if err := session.Query("SELECT te FROM all_types WHERE k = ?", 2).Scan(&missing); err != nil {
		t.Fatalf("select null: %v", err)
	}
	if missing != nil {
		t.Errorf("null text: got %q", *missing)
	}
}

func TestCollections(t *testing.T) {
	begin(t)
	session := freshKeyspace(t, "go_collections")
	run(t, session, `CREATE TABLE c (k int PRIMARY KEY, l list<int>, s set<text>, m map<text, int>,
		fm frozen<map<int, list<text>>>)`)
	run(t, session, "INSERT INTO c (k, l, s, m, fm) VALUES (?, ?, ?, ?, ?)",
		1, []int{3, 1, 2}, []string{"b", "a"}, map[string]int{"x": 1, "y": 2},
		map[int][]string{1: {"p", "q"}})
	run(t, session, "UPDATE c SET l = l + ?, s = s - ?, m[?] = ? WHERE k = ?", []int{9}, []string{"a"}, "z", 26, 1)

	var (
		l  []int
		s  []string
		m  map[string]int
		fm map[int][]string
	)
	if err := session.Query("SELECT l, s, m, fm FROM c WHERE k = ?", 1).Scan(&l, &s, &m, &fm); err != nil {
		t.Fatalf("select: %v", err)
	}
	check(t, "list", l, []int{3, 1, 2, 9})
	check(t, "set", s, []string{"b"})
	check(t, "map", m, map[string]int{"x": 1, "y": 2, "z": 26})
	check(t, "frozen map", fm, map[int][]string{1: {"p", "q"}})

	// An empty non-frozen collection reads as null.
	run(t, session, "UPDATE c SET l = ? WHERE k = ?", []int{}, 1)
	l = nil
	if err := session.Query("SELECT l FROM c WHERE k = ?", 1).Scan(&l); err != nil {
		t.Fatalf("select: %v", err)
	}
	if len(l) != 0 {
		t.Errorf("emptied list: got %v", l)
	}
}

func TestCounters(t *testing.T) {
	begin(t)
	session := freshKeyspace(t, "go_counters")
	run(t, session, "CREATE TABLE hits (page text PRIMARY KEY, n counter)")
	for i := 0; i < 5; i++ {
		run(t, session, "UPDATE hits SET n = n + ? WHERE page = ?", int64(i), "home")
	}
	run(t, session, "UPDATE hits SET n = n - 3 WHERE page = ?", "home")
	var n int64
	if err := session.Query("SELECT n FROM hits WHERE page = ?", "home").Scan(&n); err != nil {
		t.Fatalf("select counter: %v", err)
	}
	check(t, "counter", n, 7)
}

// Lightweight transactions through ScanCAS and MapScanCAS.
func TestLightweightTransactions(t *testing.T) {
	begin(t)
	session := freshKeyspace(t, "go_lwt")
	run(t, session, "CREATE TABLE accounts (id int PRIMARY KEY, owner text, balance int)")

	var id, balance int
	var owner string
	applied, err := session.Query("INSERT INTO accounts (id, owner, balance) VALUES (?, ?, ?) IF NOT EXISTS",
		1, "ann", 100).ScanCAS(&id, &owner, &balance)
	if err != nil || !applied {
		t.Fatalf("first insert: applied=%v err=%v", applied, err)
	}
	// Not applied: the existing row, in SELECT * order (key, then regular columns by name).
	applied, err = session.Query("INSERT INTO accounts (id, owner, balance) VALUES (?, ?, ?) IF NOT EXISTS",
		1, "bob", 5).ScanCAS(&id, &balance, &owner)
	if err != nil || applied {
		t.Fatalf("second insert: applied=%v err=%v", applied, err)
	}
	check(t, "existing row", []interface{}{id, owner, balance}, []interface{}{1, "ann", 100})

	applied, err = session.Query("UPDATE accounts SET balance = ? WHERE id = ? IF balance = ?", 50, 1, 100).ScanCAS(&balance)
	if err != nil || !applied {
		t.Fatalf("conditional update: applied=%v err=%v", applied, err)
	}
	previous := map[string]interface{}{}
	applied, err = session.Query("UPDATE accounts SET balance = ? WHERE id = ? IF balance = ?", 0, 1, 100).MapScanCAS(previous)
	if err != nil || applied {
		t.Fatalf("failed update: applied=%v err=%v", applied, err)
	}
	check(t, "current balance", previous["balance"], 50)

	applied, err = session.Query("DELETE FROM accounts WHERE id = ? IF EXISTS", 1).ScanCAS()
	if err != nil || !applied {
		t.Fatalf("delete if exists: applied=%v err=%v", applied, err)
	}
	applied, err = session.Query("UPDATE accounts SET balance = 1 WHERE id = ? IF EXISTS", 1).
		SerialConsistency(gocql.LocalSerial).ScanCAS()
	if err != nil || applied {
		t.Fatalf("update if exists on a deleted row: applied=%v err=%v", applied, err)
	}
}
