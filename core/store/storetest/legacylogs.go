package storetest

import (
	"context"
	"database/sql"
	"io/fs"
	"reflect"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/store/sqlstore"
)

// MigrateTo applies to db the migrations of dir in fsys (a backend's
// migrations) up to version, for a test of the next one.
func MigrateTo(t testing.TB, db *sql.DB, fsys fs.FS, dir string, version int) {
	t.Helper()
	ms, err := sqlstore.Migrations(fsys, dir)
	if err != nil {
		t.Fatal(err)
	}
	ms = slices.DeleteFunc(ms, func(m sqlstore.Migration) bool { return m.Version > version })
	if _, err := sqlstore.Migrate(ctx(t), db, ms); err != nil {
		t.Fatal(err)
	}
}

// LegacyLogs fills log_records, the table of schema versions 1 to 6 (one
// row per record), on db migrated to version 6: jobs with 0, 3, 256 and
// 700 records of the texts given (LogTexts, less what the backend could
// not store before, e.g. NUL on PostgreSQL, plus what only it could, e.g.
// invalid UTF-8 on SQLite). It
// returns each job's records, to check after migration 0007 with
// CheckLegacyLogs.
func LegacyLogs(t testing.TB, db *sql.DB, texts []string) map[int64][]model.LogRecord {
	t.Helper()
	c := ctx(t)
	base := time.Date(2023, 1, 2, 3, 4, 5, 678901000, time.UTC)
	out := map[int64][]model.LogRecord{}
	for _, n := range []int{0, 3, 256, 700} {
		recs := make([]model.LogRecord, n)
		for i := range recs {
			s := texts[i%len(texts)]
			r := model.LogRecord{Index: int64(i), Time: base.Add(time.Duration(i) * time.Millisecond), Level: model.LevelTarget, Message: s}
			switch i % 4 {
			case 1:
				r.Level, r.Structured = model.LevelResults, true
			case 2:
				r.Level, r.NS = model.LevelFeedback, s
			case 3:
				r.Time, r.Level = time.Time{}, s
			}
			recs[i] = r
		}
		var id int64
		if err := db.QueryRowContext(c, `INSERT INTO jobs (description, definition, submit_time, log_next) VALUES ($1, 'x', 1, $2) RETURNING id`,
			"legacy "+strconv.Itoa(n), n).Scan(&id); err != nil {
			t.Fatalf("inserting a job: %v", err)
		}
		for _, r := range recs {
			var dt int64
			if !r.Time.IsZero() {
				dt = r.Time.UnixMicro()
			}
			if _, err := db.ExecContext(c, `INSERT INTO log_records (job_id, idx, dt, lvl, msg, structured, ns) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				id, r.Index, dt, r.Level, r.Message, r.Structured, r.NS); err != nil {
				t.Fatalf("inserting record %d of job %d (%q): %v", r.Index, id, r.Message, err)
			}
		}
		out[id] = recs
	}
	return out
}

// CheckLegacyLogs checks that st, migrated past version 6, reads every
// record LegacyLogs stored, whole and by pages, and that the logs go on
// from where they were.
func CheckLegacyLogs(t testing.TB, st store.Store, jobs map[int64][]model.LogRecord) {
	t.Helper()
	c := context.Background()
	for id, want := range jobs {
		if n, err := st.LogCount(c, id); err != nil || n != int64(len(want)) {
			t.Errorf("job %d: LogCount = %d, %v; want %d", id, n, err, len(want))
		}
		got, err := st.ReadLogs(c, id, 0, len(want)+10)
		must(t, err)
		if len(got) != len(want) {
			t.Errorf("job %d: read %d records, want %d", id, len(got), len(want))
			continue
		}
		for i := range want {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Errorf("job %d record %d = %#v\nwant %#v", id, i, got[i], want[i])
			}
		}
		for _, from := range []int{1, 255, 256, 257, 511, 699} {
			if from >= len(want) {
				continue
			}
			got, err := st.ReadLogs(c, id, int64(from), 3)
			must(t, err)
			if end := min(from+3, len(want)); !reflect.DeepEqual(got, want[from:end]) {
				t.Errorf("job %d: ReadLogs(%d, 3) = %#v, want %#v", id, from, got, want[from:end])
			}
		}
		more := records(len(want), 5)
		next, err := st.AppendLogs(c, id, int64(len(want)), more)
		must(t, err)
		if next != int64(len(want)+5) {
			t.Errorf("job %d: appending after the migration: next %d", id, next)
		}
		got, err = st.ReadLogs(c, id, max(0, int64(len(want))-2), 10)
		must(t, err)
		tail := append(append([]model.LogRecord{}, want[max(0, len(want)-2):]...), more...)
		if !reflect.DeepEqual(got, tail) {
			t.Errorf("job %d: old and new records across the migration = %#v, want %#v", id, got, tail)
		}
	}
}
