package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/store/sqlstore"
	"github.com/lavalab/lavalab/core/store/storetest"
	"github.com/lavalab/lavalab/migrations"
)

func open(t testing.TB) store.Store {
	t.Helper()
	st, err := Open(context.Background(), filepath.Join(t.TempDir(), "sub", "lava.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, open)
}

func TestLockExcludesSecondOpen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lava.db")
	st, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, path)
	if err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("second Open = %v, want an in-use error", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	defer st.Close()
}

func TestMigrationsRecordedOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lava.db")
	for range 2 {
		st, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		var name string
		if err := st.read.QueryRowContext(ctx, `SELECT COUNT(*), (SELECT name FROM schema_migrations ORDER BY version LIMIT 1) FROM schema_migrations`).Scan(&n, &name); err != nil {
			t.Fatal(err)
		}
		ms, err := sqlstore.Migrations(migrations.SQLite, "sqlite")
		if err != nil {
			t.Fatal(err)
		}
		if n != len(ms) || name != "init" {
			t.Errorf("schema_migrations has %d rows (first %q), want %d (one per migration, first init)", n, name, len(ms))
		}
		var mode string
		if err := st.write.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
			t.Errorf("journal_mode = %q, %v", mode, err)
		}
		st.Close()
	}
}
