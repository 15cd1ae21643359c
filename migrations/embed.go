// Package migrations holds the SQL schema of each store backend as plain,
// numbered SQL files (NNNN_name.sql), embedded in the binary and applied at
// start-up by the backend under a lock, each recorded in schema_migrations.
//
// It imports only embed; nothing imports it but the store backends.
package migrations

import "embed"

// SQLite holds sqlite/NNNN_*.sql.
//
//go:embed sqlite/*.sql
var SQLite embed.FS

// Postgres holds postgres/NNNN_*.sql.
//
//go:embed postgres/*.sql
var Postgres embed.FS
