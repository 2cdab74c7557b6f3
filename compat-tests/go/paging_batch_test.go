package compat

import (
	"sort"
	"testing"

	"github.com/gocql/gocql"
)

const pagedRows = 250

func fillPaged(t *testing.T, session *gocql.Session) {
	t.Helper()
	run(t, session, "CREATE TABLE p (k int, c int, v int, PRIMARY KEY (k, c))")
	batch := session.NewBatch(gocql.UnloggedBatch)
	for i := 0; i < pagedRows; i++ {
		// Three partitions, so pages cross partition boundaries.
		batch.Query("INSERT INTO p (k, c, v) VALUES (?, ?, ?)", i%3, i, i*10)
	}
	if err := session.ExecuteBatch(batch); err != nil {
		t.Fatalf("fill: %v", err)
	}
}

// Automatic paging: gocql fetches the next page with the previous page's state.
func TestAutomaticPaging(t *testing.T) {
	begin(t)
	session := freshKeyspace(t, "go_paging")
	fillPaged(t, session)

	for _, pageSize := range []int{1, 7, 100, pagedRows, 1000} {
		iter := session.Query("SELECT c, v FROM p").PageSize(pageSize).Iter()
		seen := map[int]bool{}
		var c, v int
		for iter.Scan(&c, &v) {
			if v != c*10 || seen[c] {
				t.Fatalf("page size %d: bad or repeated row c=%d v=%d", pageSize, c, v)
			}
			seen[c] = true
		}
		if err := iter.Close(); err != nil {
			t.Fatalf("page size %d: %v", pageSize, err)
		}
		check(t, "rows with page size", len(seen), pagedRows)
	}

	// Paging within one partition keeps clustering order.
	iter := session.Query("SELECT c FROM p WHERE k = ?", 1).PageSize(9).Iter()
	var c int
	var got []int
	for iter.Scan(&c) {
		got = append(got, c)
	}
	if err := iter.Close(); err != nil {
		t.Fatal(err)
	}
	if !sort.IntsAreSorted(got) || len(got) != pagedRows/3 {
		t.Errorf("partition 1 paged: %d rows, sorted=%v", len(got), sort.IntsAreSorted(got))
	}
}

// Manual paging: PageState from one Iter resumes the next query (how web apps page).
func TestManualPageState(t *testing.T) {
	begin(t)
	session := freshKeyspace(t, "go_pagestate")
	fillPaged(t, session)

	var state []byte
	total, pages := 0, 0
	for {
		iter := session.Query("SELECT c FROM p WHERE k = ?", 2).PageSize(10).PageState(state).Iter()
		n := iter.NumRows()
		var c int
		for iter.Scan(&c) {
		}
		state = iter.PageState()
		if err := iter.Close(); err != nil {
			t.Fatalf("page %d: %v", pages, err)
		}
		total += n
		pages++
		if len(state) == 0 {
			break
		}
		if pages > pagedRows {
			t.Fatal("paging does not end")
		}
	}
	check(t, "rows", total, 83)
	check(t, "pages", pages, 9)

	// An invalid paging state is a protocol error, not a crash.
	err := session.Query("SELECT c FROM p WHERE k = ?", 2).PageSize(10).PageState([]byte{0xff, 1, 2}).Iter().Close()
	if err == nil {
		t.Error("a garbage paging state was accepted")
	}
}

func TestBatches(t *testing.T) {
	begin(t)
	session := freshKeyspace(t, "go_batch")
	run(t, session, "CREATE TABLE t (k int, c int, v text, PRIMARY KEY (k, c))")
	run(t, session, "CREATE TABLE counts (k int PRIMARY KEY, n counter)")

	logged := session.NewBatch(gocql.LoggedBatch)
	logged.Query("INSERT INTO t (k, c, v) VALUES (?, ?, ?)", 1, 1, "a")
	logged.Query("INSERT INTO t (k, c, v) VALUES (2, 1, 'literal')")
	logged.Query("UPDATE t SET v = ? WHERE k = ? AND c = ?", "b", 1, 2)
	if err := session.ExecuteBatch(logged); err != nil {
		t.Fatalf("logged batch: %v", err)
	}

	unlogged := session.NewBatch(gocql.UnloggedBatch)
	unlogged.Query("DELETE FROM t WHERE k = ? AND c = ?", 2, 1)
	unlogged.Query("INSERT INTO t (k, c, v) VALUES (?, ?, ?) USING TTL 3600", 3, 1, "ttl")
	unlogged.WithTimestamp(1_000_000)
	if err := session.ExecuteBatch(unlogged); err != nil {
		t.Fatalf("unlogged batch: %v", err)
	}

	counter := session.NewBatch(gocql.CounterBatch)
	counter.Query("UPDATE counts SET n = n + ? WHERE k = ?", int64(5), 1)
	counter.Query("UPDATE counts SET n = n + 2 WHERE k = 1")
	if err := session.ExecuteBatch(counter); err != nil {
		t.Fatalf("counter batch: %v", err)
	}

	iter := session.Query("SELECT k, c, v FROM t").Iter()
	var k, c int
	var v string
	var rows []string
	for iter.Scan(&k, &c, &v) {
		rows = append(rows, v)
	}
	if err := iter.Close(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(rows)
	// k=2 was written by the logged batch (now) and deleted at timestamp 1s: it survives.
	check(t, "rows", rows, []string{"a", "b", "literal", "ttl"})
	var writetime int64
	if err := session.Query("SELECT writetime(v) FROM t WHERE k = 3 AND c = 1").Scan(&writetime); err != nil {
		t.Fatal(err)
	}
	check(t, "batch timestamp", writetime, 1_000_000)
	var n int64
	if err := session.Query("SELECT n FROM counts WHERE k = 1").Scan(&n); err != nil {
		t.Fatal(err)
	}
	check(t, "counter", n, 7)

	// A counter update in a logged batch is rejected as Cassandra does.
	mixed := session.NewBatch(gocql.LoggedBatch)
	mixed.Query("UPDATE counts SET n = n + 1 WHERE k = 1")
	err := session.ExecuteBatch(mixed)
	if reqErr, ok := err.(gocql.RequestError); !ok || reqErr.Code() != gocql.ErrCodeInvalid {
		t.Errorf("counter in logged batch: got %v, want an Invalid error", err)
	}
}

// Conditional batches through ExecuteBatchCAS and MapExecuteBatchCAS.
func TestConditionalBatches(t *testing.T) {
	begin(t)
	session := freshKeyspace(t, "go_batch_cas")
	run(t, session, "CREATE TABLE t (k int, c int, v text, s int static, PRIMARY KEY (k, c))")

	insert := session.NewBatch(gocql.LoggedBatch)
	insert.Query("INSERT INTO t (k, c, v) VALUES (?, ?, ?) IF NOT EXISTS", 1, 1, "a")
	insert.Query("INSERT INTO t (k, c, v) VALUES (?, ?, ?) IF NOT EXISTS", 1, 2, "b")
	applied, iter, err := session.ExecuteBatchCAS(insert)
	if err != nil || !applied {
		t.Fatalf("first conditional batch: applied=%v err=%v", applied, err)
	}
	iter.Close()

	var k, c int
	var v string
	var s *int
	applied, iter, err = session.ExecuteBatchCAS(insert, &k, &c, &s, &v)
	if err != nil || applied {
		t.Fatalf("repeated conditional batch: applied=%v err=%v", applied, err)
	}
	var existing []string
	existing = append(existing, v)
	for iter.Scan(nil, &k, &c, &s, &v) {
		existing = append(existing, v)
	}
	if err := iter.Close(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(existing)
	check(t, "existing rows", existing, []string{"a", "b"})

	update := session.NewBatch(gocql.LoggedBatch)
	update.Query("UPDATE t SET s = ? WHERE k = ? IF s = null", 7, 1)
	update.Query("UPDATE t SET v = ? WHERE k = ? AND c = ?", "c", 1, 3)
	previous := map[string]interface{}{}
	applied, _, err = session.MapExecuteBatchCAS(update, previous)
	if err != nil || !applied {
		t.Fatalf("static condition batch: applied=%v err=%v %v", applied, err, previous)
	}
	var static int
	if err := session.Query("SELECT s FROM t WHERE k = 1 AND c = 3").Scan(&static); err != nil {
		t.Fatal(err)
	}
	check(t, "static", static, 7)
}
