package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"slices"
	"testing"

	"github.com/lavalab/lavalab/core/store/storetest"
	"github.com/lavalab/lavalab/migrations"
)

// Migration 0007 turns log_records' rows into log_chunks and loses
// nothing, not even a NUL byte or invalid UTF-8 SQLite kept.
func TestMigrateLogChunks(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lava.db")
	db, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		t.Fatal(err)
	}
	storetest.MigrateTo(t, db, migrations.SQLite, "sqlite", 6)
	jobs := storetest.LegacyLogs(t, db, append(slices.Clone(storetest.LogTexts), "invalid \xff\xfe utf-8 \xed\xa0\x80"))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var tables int
	if err := st.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_schema WHERE name = 'log_records'`).Scan(&tables); err != nil || tables != 0 {
		t.Errorf("log_records still there (%d, %v)", tables, err)
	}
	storetest.CheckLegacyLogs(t, st, jobs)
}

// Migration 0010 and the start-up backfill give jobs stored before it their
// metadata, read from their definitions.
func TestMigrateJobMetadata(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lava.db")
	db, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		t.Fatal(err)
	}
	storetest.MigrateTo(t, db, migrations.SQLite, "sqlite", 9)
	want := storetest.LegacyMetadata(t, db, 450)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	storetest.CheckMetadata(t, st, want)
	var left int
	if err := st.read.QueryRowContext(ctx, `SELECT COUNT(*) FROM job_metadata_backfill`).Scan(&left); err != nil || left != 0 {
		t.Errorf("backfill queue left with %d jobs (%v)", left, err)
	}
}
