package compat

import (
	"encoding/json"
	"sort"
	"testing"
	"time"

	"github.com/gocql/gocql"
)

// Query shapes services use beyond key lookups: token ranges (full scans split by token),
// secondary indexes, materialized views, GROUP BY, PER PARTITION LIMIT, SELECT JSON, bound
// USING TIMESTAMP, serial reads.
func TestTokenRangeScan(t *testing.T) {
	begin(t)
	session := freshKeyspace(t, "go_token_scan")
	run(t, session, "CREATE TABLE t (k int PRIMARY KEY, v int)")
	for k := 0; k < 100; k++ {
		run(t, session, "INSERT INTO t (k, v) VALUES (?, ?)", k, k)
	}
	// Split the ring in 4 and scan each range, as Spark-like jobs do.
	bounds := []int64{-1 << 63, -1 << 62, 0, 1 << 62}
	seen := map[int]bool{}
	for i, low := range bounds {
		var iter *gocql.Iter
		if i == len(bounds)-1 {
			iter = session.Query("SELECT k, token(k) FROM t WHERE token(k) > ?", low).PageSize(10).Iter()
		} else {
			iter = session.Query("SELECT k, token(k) FROM t WHERE token(k) > ? AND token(k) <= ?", low, bounds[i+1]).PageSize(10).Iter()
		}
		var k int
		var token int64
		previous := low
		for iter.Scan(&k, &token) {
			if token <= previous && !(token == previous && token == low) {
				t.Errorf("range %d: token %d after %d", i, token, previous)
			}
			previous = token
			seen[k] = true
		}
		if err := iter.Close(); err != nil {
			t.Fatalf("range %d: %v", i, err)
		}
	}
	check(t, "keys over all ranges", len(seen), 100)
}

func TestIndexesAndViews(t *testing.T) {
	begin(t)
	session := freshKeyspace(t, "go_index")
	run(t, session, "CREATE TABLE users (id int PRIMARY KEY, email text, country text, tags set<text>)")
	run(t, session, "CREATE INDEX ON users (country)")
	run(t, session, "CREATE INDEX ON users (tags)")
	run(t, session, `CREATE MATERIALIZED VIEW users_by_email AS SELECT id, email FROM users
		WHERE email IS NOT NULL AND id IS NOT NULL PRIMARY KEY (email, id)`)
	for id := 0; id < 30; id++ {
		country := []string{"fr", "de", "it"}[id%3]
		run(t, session, "INSERT INTO users (id, email, country, tags) VALUES (?, ?, ?, ?)",
			id, "u"+string(rune('a'+id%26))+"@x.org", country, []string{"t" + country})
	}

	iter := session.Query("SELECT id FROM users WHERE country = ?", "de").PageSize(4).Iter()
	var ids []int
	var id int
	for iter.Scan(&id) {
		ids = append(ids, id)
	}
	if err := iter.Close(); err != nil {
		t.Fatalf("indexed select: %v", err)
	}
	sort.Ints(ids)
	check(t, "indexed rows", ids, []int{1, 4, 7, 10, 13, 16, 19, 22, 25, 28})

	var n int64
	if err := session.Query("SELECT count(*) FROM users WHERE tags CONTAINS ?", "tit").Scan(&n); err != nil {
		t.Fatalf("CONTAINS on an indexed set: %v", err)
	}
	check(t, "CONTAINS", n, 10)

	if err := session.Query("SELECT id FROM users_by_email WHERE email = ?", "ub@x.org").Scan(&id); err != nil {
		t.Fatalf("view select: %v", err)
	}
	check(t, "view row", id, 1)
}

func TestAggregationAndJSON(t *testing.T) {
	begin(t)
	session := freshKeyspace(t, "go_group")
	run(t, session, "CREATE TABLE events (day text, hour int, seq int, amount int, PRIMARY KEY (day, hour, seq))")
	for hour := 0; hour < 3; hour++ {
		for seq := 0; seq < 4; seq++ {
			run(t, session, "INSERT INTO events (day, hour, seq, amount) VALUES (?, ?, ?, ?)", "mon", hour, seq, hour*10+seq)
		}
	}
	iter := session.Query("SELECT hour, sum(amount), count(*) FROM events WHERE day = ? GROUP BY hour", "mon").Iter()
	var hour int
	var sum int
	var count int64
	var sums []int
	for iter.Scan(&hour, &sum, &count) {
		sums = append(sums, sum)
		check(t, "count per hour", count, 4)
	}
	if err := iter.Close(); err != nil {
		t.Fatalf("GROUP BY: %v", err)
	}
	check(t, "sums", sums, []int{6, 46, 86})

	iter = session.Query("SELECT seq FROM events WHERE day = ? PER PARTITION LIMIT ?", "mon", 2).Iter()
	var seqs []int
	var seq int
	for iter.Scan(&seq) {
		seqs = append(seqs, seq)
	}
	if err := iter.Close(); err != nil {
		t.Fatalf("PER PARTITION LIMIT ?: %v", err)
	}
	check(t, "per partition limit", seqs, []int{0, 1})

	var doc string
	if err := session.Query("SELECT JSON hour, seq, amount FROM events WHERE day = ? AND hour = ? AND seq = ?", "mon", 2, 3).Scan(&doc); err != nil {
		t.Fatalf("SELECT JSON: %v", err)
	}
	var decoded map[string]int
	if err := json.Unmarshal([]byte(doc), &decoded); err != nil {
		t.Fatalf("JSON %q: %v", doc, err)
	}
	check(t, "json", decoded, map[string]int{"hour": 2, "seq": 3, "amount": 23})
	run(t, session, `INSERT INTO events JSON ?`, `{"day": "tue", "hour": 1, "seq": 1, "amount": 5}`)
	var amount int
	if err := session.Query("SELECT amount FROM events WHERE day = 'tue' AND hour = 1 AND seq = 1").Scan(&amount); err != nil {
		t.Fatal(err)
	}
	check(t, "INSERT JSON", amount, 5)
}

func TestBoundTimestampAndSerialRead(t *testing.T) {
	begin(t)
	session := freshKeyspace(t, "go_serial")
	run(t, session, "CREATE TABLE t (k int PRIMARY KEY, v text)")
	stamp := time.Now().UnixMicro()
	run(t, session, "INSERT INTO t (k, v) VALUES (?, ?) USING TIMESTAMP ? AND TTL ?", 1, "a", stamp, 600)
	run(t, session, "INSERT INTO t (k, v) VALUES (?, ?) USING TIMESTAMP ?", 1, "older", stamp-1)
	var v string
	var writetime int64
	if err := session.Query("SELECT v, writetime(v) FROM t WHERE k = ?", 1).Consistency(gocql.Quorum).Scan(&v, &writetime); err != nil {
		t.Fatal(err)
	}
	check(t, "newest write wins", v, "a")
	check(t, "writetime", writetime, stamp)

	if _, err := session.Query("UPDATE t SET v = 'b' WHERE k = ? IF v = 'a'", 1).ScanCAS(); err != nil {
		t.Fatal(err)
	}
	if err := session.Query("SELECT v FROM t WHERE k = ?", 1).Consistency(gocql.Consistency(gocql.Serial)).Scan(&v); err != nil {
		t.Fatalf("SERIAL read: %v", err)
	}
	check(t, "serial read", v, "b")
	if err := session.Query("SELECT v FROM t WHERE k = ?", 1).Consistency(gocql.LocalQuorum).Scan(&v); err != nil {
		t.Fatalf("LOCAL_QUORUM read: %v", err)
	}
}

// UDTs inside collections and nested UDTs, bound from Go structs.
type phone struct {
	Kind   string `cql:"kind"`
	Number string `cql:"number"`
}

type contact struct {
	Name   string  `cql:"name"`
	Phones []phone `cql:"phones"`
}

func TestNestedUserTypes(t *testing.T) {
	begin(t)
	session := freshKeyspace(t, "go_nested_udt")
	run(t, session, "CREATE TYPE phone (kind text, number text)")
	run(t, session, "CREATE TYPE contact (name text, phones frozen<list<phone>>)")
	run(t, session, `CREATE TABLE book (id int PRIMARY KEY, owner frozen<contact>,
		others map<text, frozen<contact>>, favourites set<frozen<phone>>)`)
	owner := contact{Name: "ann", Phones: []phone{{"home", "1"}, {"work", "2"}}}
	others := map[string]contact{"bob": {Name: "bob", Phones: []phone{{"cell", "3"}}}}
	favourites := []phone{{"home", "1"}}
	run(t, session, "INSERT INTO book (id, owner, others, favourites) VALUES (?, ?, ?, ?)", 1, owner, others, favourites)
	run(t, session, "UPDATE book SET others[?] = ? WHERE id = ?", "cy", contact{Name: "cy"}, 1)

	var gotOwner contact
	var gotOthers map[string]contact
	var gotFavourites []phone
	if err := session.Query("SELECT owner, others, favourites FROM book WHERE id = ?", 1).Scan(&gotOwner, &gotOthers, &gotFavourites); err != nil {
		t.Fatalf("select: %v", err)
	}
	check(t, "owner", gotOwner, owner)
	check(t, "others", gotOthers, map[string]contact{"bob": others["bob"], "cy": {Name: "cy"}})
	check(t, "favourites", gotFavourites, favourites)
}

// Client warnings arrive with the rows (Iter.Warnings), as Cassandra 5.0 sends them.
func TestAggregationWarnings(t *testing.T) {
	begin(t)
	session := freshKeyspace(t, "go_warnings")
	run(t, session, "CREATE TABLE t (k int, c int, v int, PRIMARY KEY (k, c))")
	for k := 0; k < 3; k++ {
		run(t, session, "INSERT INTO t (k, c, v) VALUES (?, 0, ?)", k, k)
	}
	cases := []struct {
		query   string
		values  []interface{}
		warning []string
	}{
		{"SELECT count(*) FROM t", nil, []string{"Aggregation query used without partition key"}},
		{"SELECT max(v) FROM t WHERE v > 0 ALLOW FILTERING", nil, []string{"Aggregation query used without partition key"}},
		{"SELECT k, count(*) FROM t GROUP BY k", nil, []string{"Aggregation query used without partition key"}},
		{"SELECT count(*) FROM t WHERE k IN ?", []interface{}{[]int{0, 1}}, []string{"Aggregation query used on multiple partition keys (IN restriction)"}},
		{"SELECT count(*) FROM t WHERE k = ?", []interface{}{1}, nil},
		{"SELECT v FROM t", nil, nil},
	}
	for _, tc := range cases {
		iter := session.Query(tc.query, tc.values...).Iter()
		if _, err := iter.SliceMap(); err != nil {
			t.Fatalf("%s: %v", tc.query, err)
		}
		warnings := iter.Warnings()
		if err := iter.Close(); err != nil {
			t.Fatalf("%s: %v", tc.query, err)
		}
		check(t, tc.query, warnings, tc.warning)
	}
}
