package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/core/testlab"
)

type logsPage struct {
	Total   int64 `json:"total"`
	Records []struct {
		Index int64 `json:"index"`
	} `json:"records"`
}

// TestBackupRestoreLab runs a job on a lab, backs the lab up with
// lava-server backup while it serves, restores the backup elsewhere and
// starts a second lava-server on it: the job, its logs and results, and the
// admin's API token are there; new job ids follow the old ones; and the
// jobs commands (list, fail, rm) work on it while it serves. On SQLite,
// and on PostgreSQL when LAVA_TEST_POSTGRES_DSN is set.
func TestBackupRestoreLab(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs lava-server and lava-worker")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	bins, err := testlab.Build(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(bins.Dir)

	t.Run("SQLite", func(t *testing.T) {
		backupRestore(t, bins, "", func(t *testing.T, backup string) (string, func(*testlab.Lab)) {
			return "", func(l *testlab.Lab) {
				out := runServer(t, bins, "restore", backup, "--data-dir", l.Data)
				if !strings.Contains(out, "restored") {
					t.Fatalf("restore said %q", out)
				}
			}
		})
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		base := testenv.PostgresDSN(t)
		db := testenv.PostgresSchema(t, base, "bk")
		backupRestore(t, bins, db, func(t *testing.T, backup string) (string, func(*testlab.Lab)) {
			dsn2 := emptyDatabase(t, base, db)
			out := runServer(t, bins, "restore", backup, "--db", dsn2)
			if !strings.Contains(out, "restored") {
				t.Fatalf("restore said %q", out)
			}
			// A second restore into the same database is refused.
			cmd := serverCmd(bins, "restore", backup, "--db", dsn2)
			if b, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(b), "already holds a lab") {
				t.Errorf("restore into a lab's database: %v\n%s", err, b)
			}
			return dsn2, nil
		})
	})
}

// backupRestore is the test on one backend; restore restores the backup
// file and returns the restored lab's --db and a Setup for it.
func backupRestore(t *testing.T, bins testlab.Bins, db string, restore func(t *testing.T, backup string) (string, func(*testlab.Lab))) {
	lab := testlab.Start(t, testlab.Options{Bins: bins, DB: db})
	id := lab.Submit(testlab.LocalJob("backed-up", 1))
	if j := lab.WaitJob(id, "Finished", 3*time.Minute); j.Health != "Complete" {
		t.Fatalf("job %d ended %s: %s", id, j.Health, j.FailureComment)
	}
	var logs logsPage
	if st := lab.API("GET", fmt.Sprintf("/jobs/%d/logs?limit=10000", id), nil, &logs); st != http.StatusOK || logs.Total == 0 {
		t.Fatalf("logs of job %d: HTTP %d, %d records", id, st, logs.Total)
	}

	backup := filepath.Join(t.TempDir(), "lab.backup")
	out := runServer(t, bins, "backup", backup, "--data-dir", lab.Data, "--db", db)
	if !strings.Contains(out, "written to "+backup) {
		t.Fatalf("backup said %q", out)
	}
	// The lab kept serving.
	if j := lab.Job(id); j.State != "Finished" {
		t.Fatalf("job %d after the backup: %+v", id, j)
	}

	db2, setup := restore(t, backup)
	r := testlab.Start(t, testlab.Options{Bins: bins, DB: db2, Existing: lab.AdminToken, Setup: setup})
	// The admin's token works, the job, its logs and results are there.
	if j := r.Job(id); j.State != "Finished" || j.Health != "Complete" {
		t.Errorf("restored job %d: %+v", id, j)
	}
	var got logsPage
	if st := r.API("GET", fmt.Sprintf("/jobs/%d/logs?limit=10000", id), nil, &got); st != http.StatusOK ||
		got.Total != logs.Total || len(got.Records) != len(logs.Records) {
		t.Errorf("restored logs of job %d: HTTP %d, %d/%d records, want %d/%d", id, st, len(got.Records), got.Total, len(logs.Records), logs.Total)
	}
	var results struct {
		Cases []any `json:"cases"`
	}
	if st := r.API("GET", fmt.Sprintf("/jobs/%d/results", id), nil, &results); st != http.StatusOK || len(results.Cases) == 0 {
		t.Errorf("restored results of job %d: HTTP %d, %d cases", id, st, len(results.Cases))
	}

	// New ids follow the old ones; the jobs commands work while it serves.
	next := r.Submit(testlab.LocalJob("after-restore", 1))
	if next <= id {
		t.Errorf("a job submitted after the restore got id %d, want above %d", next, id)
	}
	if list := r.Admin("jobs", "list", "--state", "finished"); !strings.Contains(list, "backed-up") || strings.Contains(list, "after-restore") {
		t.Errorf("jobs list --state finished:\n%s", list)
	}
	r.Admin("jobs", "fail", strconv.FormatInt(next, 10), "--comment", "no worker here")
	if j := r.Job(next); j.State != "Finished" || j.Health != "Incomplete" || j.FailureComment != "no worker here" {
		t.Errorf("failed job %d: %+v", next, j)
	}
	time.Sleep(1100 * time.Millisecond)
	if out := r.Admin("jobs", "rm", "--older-than", "1s", "--dry-run"); !strings.Contains(out, "would remove 2 jobs") {
		t.Errorf("jobs rm --dry-run: %q", out)
	}
	// Only the job that ran has logs.
	if out := r.Admin("jobs", "rm", "--older-than", "1s", "--logs-only"); !strings.Contains(out, "removed the logs of 1 job (") {
		t.Errorf("jobs rm --logs-only: %q", out)
	}
	if st := r.API("GET", fmt.Sprintf("/jobs/%d/logs", id), nil, &got); st != http.StatusOK || got.Total != 0 || len(got.Records) != 0 {
		t.Errorf("logs after --logs-only: HTTP %d, %d records", st, got.Total)
	}
	if out := r.Admin("jobs", "rm", "--older-than", "1s"); !strings.Contains(out, "removed 2 jobs") {
		t.Errorf("jobs rm: %q", out)
	}
	if st := r.API("GET", fmt.Sprintf("/jobs/%d", id), nil, nil); st != http.StatusNotFound {
		t.Errorf("removed job %d: HTTP %d, want 404", id, st)
	}
	if again := r.Submit(testlab.LocalJob("after-rm", 1)); again <= next {
		t.Errorf("a job submitted after removing job %d got id %d", next, again)
	}
}

func serverCmd(bins testlab.Bins, args ...string) *exec.Cmd {
	return exec.Command(bins.Server, args...)
}

// runServer runs a lava-server command and returns its output.
func runServer(t *testing.T, bins testlab.Bins, args ...string) string {
	t.Helper()
	b, err := serverCmd(bins, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("lava-server %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return strings.TrimSpace(string(b))
}

// emptyDatabase creates a database on the server of base, dropped at the
// end of the test, and returns db's DSN (its schema) pointing at it.
func emptyDatabase(t *testing.T, base, db string) string {
	t.Helper()
	ctx := context.Background()
	var b [5]byte
	_, _ = rand.Read(b[:])
	name := "lavarestore_" + hex.EncodeToString(b[:])
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Error(err)
		}
	})
	u, err := url.Parse(db)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
