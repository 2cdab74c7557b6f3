package compat

import (
	"sort"
	"testing"

	"github.com/gocql/gocql"
)

type address struct {
	Street string   `cql:"street"`
	Zip    int      `cql:"zip"`
	Tags   []string `cql:"tags"`
}

func TestUserTypesAndTuples(t *testing.T) {
	begin(t)
	session := freshKeyspace(t, "go_udt")
	// A non-frozen UDT column may not nest non-frozen collections (Cassandra rejects it).
	run(t, session, "CREATE TYPE address (street text, zip int, tags frozen<list<text>>)")
	err := session.Query("CREATE TYPE loose (tags list<text>)").Exec()
	if err != nil {
		t.Fatalf("CREATE TYPE with a non-frozen collection: %v", err)
	}
	err = session.Query("CREATE TABLE bad (id int PRIMARY KEY, l loose)").Exec()
	expectError(t, "non-frozen UDT with a non-frozen collection", err, gocql.ErrCodeInvalid,
		"Non-frozen UDTs with nested non-frozen collections are not supported")
	run(t, session, `CREATE TABLE people (id int PRIMARY KEY, home frozen<address>, work address,
		point tuple<int, text>, history list<frozen<tuple<int, address>>>)`)

	home := address{Street: "1 Main St", Zip: 12345, Tags: []string{"a", "b"}}
	run(t, session, "INSERT INTO people (id, home, work, point) VALUES (?, ?, ?, (?, ?))",
		1, home, map[string]interface{}{"street": "2 Side St", "zip": 99, "tags": []string{}}, 7, "seven")
	run(t, session, "UPDATE people SET work.zip = ? WHERE id = ?", 100, 1)

	var gotHome, gotWork address
	var x int
	var label string
	err = session.Query("SELECT home, work, point FROM people WHERE id = ?", 1).Scan(&gotHome, &gotWork, &x, &label)
	if err != nil {
		t.Fatalf("select: %v", err)
	}
	check(t, "frozen udt", gotHome, home)
	check(t, "udt after field update", gotWork, address{Street: "2 Side St", Zip: 100})
	check(t, "tuple", []interface{}{x, label}, []interface{}{7, "seven"})

	// Field selection, a tuple bound whole, and a null tuple element.
	var zip int
	if err := session.Query("SELECT home.zip FROM people WHERE id = ?", 1).Scan(&zip); err != nil {
		t.Fatalf("field selection: %v", err)
	}
	check(t, "home.zip", zip, 12345)
	// gocql 1.3 cannot bind a whole tuple marker (it counts a tuple as one value per element);
	// applications bind the elements of a tuple literal.
	run(t, session, "UPDATE people SET point = (?, ?) WHERE id = ?", 8, nil, 1)
	var nullable *string
	if err := session.Query("SELECT point FROM people WHERE id = ?", 1).Scan(&x, &nullable); err != nil {
		t.Fatalf("select tuple: %v", err)
	}
	if x != 8 || nullable != nil {
		t.Errorf("tuple with null: got (%d, %v)", x, nullable)
	}

	// A UDT as a map scan value.
	row := map[string]interface{}{}
	if err := session.Query("SELECT home FROM people WHERE id = ?", 1).MapScan(row); err != nil {
		t.Fatalf("MapScan: %v", err)
	}
	check(t, "udt as map", row["home"], map[string]interface{}{"street": "1 Main St", "zip": 12345, "tags": []string{"a", "b"}})
}

// KeyspaceMetadata reads system_schema: tables, columns, functions, aggregates, views, types.
func TestKeyspaceMetadata(t *testing.T) {
	begin(t)
	session := freshKeyspace(t, "go_meta")
	run(t, session, "CREATE TYPE point (x int, y int)")
	run(t, session, `CREATE TABLE readings (sensor text, day int, seq int, value double, p frozen<point>,
		s text static, PRIMARY KEY ((sensor, day), seq)) WITH CLUSTERING ORDER BY (seq DESC)`)
	run(t, session, `CREATE MATERIALIZED VIEW by_value AS SELECT * FROM readings
		WHERE sensor IS NOT NULL AND day IS NOT NULL AND seq IS NOT NULL AND value IS NOT NULL
		PRIMARY KEY (value, sensor, day, seq)`)
	// Cassandra 5.0 ships with user-defined functions disabled (user_defined_functions_enabled:
	// false); the node behaves as that default, so function and aggregate metadata is empty.
	err := session.Query(`CREATE FUNCTION plus(a int, b int) CALLED ON NULL INPUT RETURNS int
		LANGUAGE java AS 'return a + b;'`).Exec()
	expectError(t, "CREATE FUNCTION", err, gocql.ErrCodeInvalid,
		"User-defined functions are disabled in cassandra.yaml - set user_defined_functions_enabled=true to enable")

	meta, err := session.KeyspaceMetadata("go_meta")
	if err != nil {
		t.Fatalf("KeyspaceMetadata: %v", err)
	}
	check(t, "strategy", meta.StrategyClass, "org.apache.cassandra.locator.SimpleStrategy")
	check(t, "replication_factor", meta.StrategyOptions["replication_factor"], "1")
	check(t, "durable writes", meta.DurableWrites, true)

	table, ok := meta.Tables["readings"]
	if !ok {
		t.Fatalf("table readings missing; tables: %v", keys(meta.Tables))
	}
	check(t, "partition key", metaNames(table.PartitionKey), []string{"sensor", "day"})
	check(t, "clustering", metaNames(table.ClusteringColumns), []string{"seq"})
	check(t, "seq order", table.ClusteringColumns[0].Order, gocql.DESC)
	check(t, "seq clustering_order", table.ClusteringColumns[0].ClusteringOrder, "desc")
	check(t, "columns", keys(table.Columns), []string{"day", "p", "s", "sensor", "seq", "value"})
	check(t, "value kind", table.Columns["value"].Kind, gocql.ColumnRegular)
	check(t, "s kind", table.Columns["s"].Kind, gocql.ColumnStatic)
	check(t, "day kind", table.Columns["day"].Kind, gocql.ColumnPartitionKey)
	check(t, "day position", table.Columns["day"].ComponentIndex, 1)
	check(t, "value type", table.Columns["value"].Type.Type(), gocql.TypeDouble)
	check(t, "p type", table.Columns["p"].Validator, "frozen<point>")

	check(t, "functions", keys(meta.Functions), []string{})
	check(t, "aggregates", keys(meta.Aggregates), []string{})

	view, ok := meta.MaterializedViews["by_value"]
	if !ok {
		t.Fatalf("view by_value missing; views: %v", keys(meta.MaterializedViews))
	}
	check(t, "view base table", view.BaseTable.Name, "readings")
	check(t, "view includes all columns", view.IncludeAllColumns, true)

	point, ok := meta.UserTypes["point"]
	if !ok {
		t.Fatalf("type point missing; types: %v", keys(meta.UserTypes))
	}
	check(t, "type fields", point.FieldNames, []string{"x", "y"})
}

func keys[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func metaNames(columns []*gocql.ColumnMetadata) []string {
	names := make([]string, len(columns))
	for i, column := range columns {
		names[i] = column.Name
	}
	return names
}
