package storeopen

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/store/postgres"
	"github.com/lavalab/lavalab/core/store/sqlite"
)

// DefaultDataDir is where lava-server keeps its data when not told.
const DefaultDataDir = "./lava-data"

// Describe says which database the flags select, for logs and errors.
func Describe(dataDir, db string) string {
	if isPostgres(db) {
		return "PostgreSQL"
	}
	return "SQLite " + sqlitePath(dataDir, db)
}

// Open opens the store the flags select: db empty means SQLite at
// <dataDir>/lava.db; a postgres:// or postgresql:// URL means PostgreSQL;
// sqlite:PATH names another SQLite file.
func Open(ctx context.Context, dataDir, db string) (store.Store, error) {
	if isPostgres(db) {
		st, err := postgres.Open(ctx, db)
		if err != nil {
			return nil, fmt.Errorf("opening PostgreSQL: %w", err)
		}
		return st, nil
	}
	if db != "" && !strings.HasPrefix(db, "sqlite:") {
		return nil, fmt.Errorf("--db %q: want a postgres:// URL, sqlite:PATH, or nothing for SQLite in the data directory", db)
	}
	path := sqlitePath(dataDir, db)
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("opening SQLite %s: %w", path, err)
	}
	return st, nil
}

// OpenShared is Open for a short-lived admin command: with SQLite it works
// next to a running lava-server on the same database (which sees the
// change within a fraction of a second), instead of being refused by the
// server's lock; PostgreSQL is shared anyway.
func OpenShared(ctx context.Context, dataDir, db string) (store.Store, error) {
	if isPostgres(db) || (db != "" && !strings.HasPrefix(db, "sqlite:")) {
		return Open(ctx, dataDir, db)
	}
	path := sqlitePath(dataDir, db)
	st, err := sqlite.OpenShared(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("opening SQLite %s: %w", path, err)
	}
	return st, nil
}

func isPostgres(db string) bool {
	return strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
}

func sqlitePath(dataDir, db string) string {
	if p, ok := strings.CutPrefix(db, "sqlite:"); ok && p != "" {
		return p
	}
	if dataDir == "" {
		dataDir = DefaultDataDir
	}
	return filepath.Join(dataDir, "lava.db")
}
