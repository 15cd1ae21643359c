// Package storeopen turns the command-line database flags (--data-dir,
// --db) into an open store.Store: SQLite in the data directory by default,
// PostgreSQL for a postgres:// URL. It is the one place that knows every
// backend; commands import it, and nothing in core/ below the commands does.
package storeopen
