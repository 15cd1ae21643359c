// Package sqlite is the embedded store backend: SQLite through the pure-Go
// driver modernc.org/sqlite (no cgo), the default that makes lava-server
// work on one machine with no database server.
//
// Open (a server) takes an exclusive flock on <path>.lock (two server
// processes never share a database) and watches PRAGMA data_version for
// commits made by other processes; OpenShared (a one-shot admin command)
// works next to a running server without the lock. Both set WAL mode, busy_timeout, foreign keys and
// synchronous=NORMAL, applies the embedded migrations, and runs writes
// through a one-connection pool (BEGIN IMMEDIATE) and reads through a
// separate pool. Events are delivered in-process after commit; Leader is
// always granted (one machine, one scheduler). The SQL itself lives in
// core/store/sqlstore.
//
// Its imports are checked by internal/archtest (rules.go).
package sqlite
