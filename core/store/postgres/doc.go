// Package postgres is the production store backend: PostgreSQL through pgx
// v5, for several lava-server instances sharing one database.
//
// The SQL lives in core/store/sqlstore and runs through database/sql over
// the pgx pool (pgx/v5/stdlib). What is PostgreSQL's own lives here, on pgx
// connections: migrations applied under an advisory lock; events sent with
// pg_notify inside the changing transaction (so delivered on commit) and
// received by one LISTEN connection that fans them out to this process's
// subscribers and reconnects on failure; and scheduler leadership through
// pg_try_advisory_lock on a dedicated connection held until released.
//
// Channel and lock names include the current schema, so several stores
// (test runs) can share one database in separate schemas (search_path in
// the DSN).
//
// It imports core/store, core/store/sqlstore, migrations and pgx; it must
// not import the API, the scheduler or driver code.
package postgres
