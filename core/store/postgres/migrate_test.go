package postgres

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/store/storetest"
	"github.com/lavalab/lavalab/migrations"
)

// Migration 0007 turns log_records' rows into log_chunks and loses
// nothing.
func TestMigrateLogChunks(t *testing.T) {
	ctx := context.Background()
	dsn := freshSchema(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	storetest.MigrateTo(t, db, migrations.Postgres, "postgres", 6)
	jobs := storetest.LegacyLogs(t, db, slices.DeleteFunc(slices.Clone(storetest.LogTexts),
		func(s string) bool { return strings.ContainsRune(s, 0) })) // PostgreSQL's TEXT had no NUL
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var old *string
	if err := st.pool.QueryRow(ctx, `SELECT to_regclass('log_records')::text`).Scan(&old); err != nil || old != nil {
		t.Errorf("log_records still there (%v, %v)", old, err)
	}
	storetest.CheckLegacyLogs(t, st, jobs)
}

// Migration 0010 and the start-up backfill give jobs stored before it their
// metadata, read from their definitions.
func TestMigrateJobMetadata(t *testing.T) {
	ctx := context.Background()
	dsn := freshSchema(t)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	storetest.MigrateTo(t, db, migrations.Postgres, "postgres", 9)
	want := storetest.LegacyMetadata(t, db, 450)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	storetest.CheckMetadata(t, st, want)
	var left int
	if err := st.pool.QueryRow(ctx, `SELECT COUNT(*) FROM job_metadata_backfill`).Scan(&left); err != nil || left != 0 {
		t.Errorf("backfill queue left with %d jobs (%v)", left, err)
	}
}
