package storeopen

import (
	"context"
	"fmt"
	"strings"

	"github.com/lavalab/lavalab/core/store/postgres"
	"github.com/lavalab/lavalab/core/store/sqlite"
)

// Backup copies the database the flags select to file while servers keep
// running: SQLite with VACUUM INTO (checked), PostgreSQL with pg_dump (its
// custom format; pgBin is where pg_dump lives, "" to search). It returns a
// line saying what was written.
func Backup(ctx context.Context, dataDir, db, file, pgBin string) (string, error) {
	if isPostgres(db) {
		if err := postgres.Dump(ctx, db, file, pgBin); err != nil {
			return "", err
		}
		return fmt.Sprintf("PostgreSQL backup (pg_dump custom format) written to %s", file), nil
	}
	if err := checkSQLite(db); err != nil {
		return "", err
	}
	n, err := sqlite.Backup(ctx, sqlitePath(dataDir, db), file)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("SQLite backup of %s written to %s (%d bytes, integrity checked)", sqlitePath(dataDir, db), file, n), nil
}

// Restore puts a Backup in place: SQLite into the data directory's
// database (no server may run on it; an existing one needs force and is
// kept aside), PostgreSQL into the empty database db names (pg_restore).
func Restore(ctx context.Context, dataDir, db, file, pgBin string, force bool) (string, error) {
	if isPostgres(db) {
		if err := postgres.RestoreDump(ctx, db, file, pgBin); err != nil {
			return "", err
		}
		return fmt.Sprintf("restored %s into PostgreSQL", file), nil
	}
	if err := checkSQLite(db); err != nil {
		return "", err
	}
	path := sqlitePath(dataDir, db)
	replaced, err := sqlite.Restore(ctx, file, path, force)
	if err != nil {
		return "", err
	}
	msg := fmt.Sprintf("restored %s to %s", file, path)
	if replaced != "" {
		msg += " (the database it replaced is kept as " + replaced + ")"
	}
	return msg, nil
}

func checkSQLite(db string) error {
	if db != "" && !strings.HasPrefix(db, "sqlite:") {
		return fmt.Errorf("--db %q: want a postgres:// URL, sqlite:PATH, or nothing for SQLite in the data directory", db)
	}
	return nil
}
