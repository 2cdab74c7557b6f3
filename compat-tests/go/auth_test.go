package compat

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gocql/gocql"
)

// authHost is the loopback address of this test's own node (the shared node is on
// 127.0.0.1): PasswordAuthenticator and CassandraAuthorizer need a node started with them.
const authHost = "127.0.3.2"

// gocql's PasswordAuthenticator logs in with SASL PLAIN: a wrong password is Bad
// credentials, a role sees only what it was granted, and GRANT opens the table.
func TestPasswordAuthenticator(t *testing.T) {
	begin(t)
	config := filepath.Join(t.TempDir(), "cassandra.yaml")
	yaml := "authenticator: PasswordAuthenticator\nauthorizer: CassandraAuthorizer\n"
	if err := os.WriteFile(config, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	secured, err := startNodeAt(authHost, "--config", config)
	if err != nil {
		t.Fatal(err)
	}
	defer secured.stop()
	login := func(user, password string) (*gocql.Session, error) {
		c := cluster("")
		c.Hosts = []string{authHost}
		c.Port = secured.nativePort
		c.Authenticator = gocql.PasswordAuthenticator{Username: user, Password: password}
		return c.CreateSession()
	}

	if _, err := login("cassandra", "wrong"); err == nil ||
		!strings.Contains(err.Error(), "Provided username cassandra and/or password are incorrect") {
		t.Fatalf("wrong password: %v", err)
	}
	admin, err := login("cassandra", "cassandra")
	if err != nil {
		t.Fatalf("superuser login: %v\n%s", err, secured.logTail())
	}
	defer admin.Close()
	run(t, admin, "CREATE KEYSPACE go_auth WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}")
	run(t, admin, "CREATE TABLE go_auth.t (k int PRIMARY KEY, v text)")
	run(t, admin, "INSERT INTO go_auth.t (k, v) VALUES (1, 'one')")
	run(t, admin, "CREATE ROLE gopher WITH PASSWORD = 'go' AND LOGIN = true")

	gopher, err := login("gopher", "go")
	if err != nil {
		t.Fatalf("gopher login: %v", err)
	}
	defer gopher.Close()
	var v string
	err = gopher.Query("SELECT v FROM go_auth.t WHERE k = ?", 1).Scan(&v)
	if err == nil || !strings.Contains(err.Error(),
		"User gopher has no SELECT permission on <table go_auth.t> or any of its parents") {
		t.Fatalf("select without permission: %v", err)
	}
	if reqErr, ok := err.(gocql.RequestError); !ok || reqErr.Code() != gocql.ErrCodeUnauthorized {
		t.Fatalf("not an Unauthorized error: %#v", err)
	}
	run(t, admin, "GRANT SELECT ON go_auth.t TO gopher")
	if err := gopher.Query("SELECT v FROM go_auth.t WHERE k = ?", 1).Scan(&v); err != nil {
		t.Fatalf("select after GRANT: %v", err)
	}
	check(t, "value", v, "one")
}
