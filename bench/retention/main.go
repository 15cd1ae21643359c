package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite"

	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/store/sqlite"
	"github.com/lavalab/lavalab/core/storeopen"
)

func main() {
	seeded := flag.String("seeded", "", "SQLite: seeded database (bench/seed -spread); copied, never changed")
	pg := flag.String("pg", "", "PostgreSQL instead: a server's DSN; the lab is a new database on it, seeded with SQL (-jobs over a year) and dropped at the end")
	jobs := flag.Int("jobs", 100000, "with -pg: finished jobs to seed")
	olderThan := flag.String("older-than", "180d", "jobs rm --older-than")
	work := flag.String("work", "", "work folder (default: a new temporary one, removed at the end)")
	flag.Parse()
	if (*seeded == "") == (*pg == "") {
		fmt.Fprintln(os.Stderr, "retention: give -seeded FILE (make it with bench/seed -spread 8760h) or -pg DSN")
		os.Exit(2)
	}
	if err := run(context.Background(), *seeded, *pg, *jobs, *olderThan, *work); err != nil {
		fmt.Fprintln(os.Stderr, "retention:", err)
		os.Exit(1)
	}
}

// bench is one lab: a lava-server binary, its --data-dir and --db.
type bench struct {
	server, data, db, url, token string
}

func run(ctx context.Context, seeded, pg string, jobs int, olderThan, work string) error {
	if work == "" {
		d, err := os.MkdirTemp("", "bench-retention-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		work = d
	}
	b := &bench{server: filepath.Join(work, "lava-server"), data: filepath.Join(work, "lab")}
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", b.server, "github.com/lavalab/lavalab/cmd/lava-server").CombinedOutput(); err != nil {
		return fmt.Errorf("building lava-server: %v\n%s", err, out)
	}
	if err := os.MkdirAll(b.data, 0o750); err != nil {
		return err
	}
	if pg != "" {
		dsn, drop, err := newDatabase(ctx, pg)
		if err != nil {
			return err
		}
		defer drop()
		b.db = dsn
	} else if err := copyFile(seeded, filepath.Join(b.data, "lava.db")); err != nil {
		// The seeded file is a closed database (no WAL left): a plain copy.
		return err
	}
	tok, err := b.admin(ctx, "user", "add", "bench", "--admin")
	if err != nil {
		return err
	}
	b.token = tok
	if pg != "" {
		t0 := time.Now()
		if err := seedPG(ctx, b.db, jobs); err != nil {
			return fmt.Errorf("seeding: %w", err)
		}
		fmt.Printf("seeded %d finished jobs with SQL in %s\n", jobs, time.Since(t0).Round(time.Millisecond))
	}
	stop, err := b.serve(ctx, b.data, b.db)
	if err != nil {
		return err
	}
	defer stop()

	before, err := b.sizes(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("lab (%s): %d jobs, %d log chunks; database %s, in use %s\n", backend(b.db), before.jobs, before.chunks, mb(before.file), mb(before.used))

	// Removal while the server answers.
	probe := b.probe(ctx, false)
	t0 := time.Now()
	out, err := b.admin(ctx, "jobs", "rm", "--older-than", olderThan)
	took := time.Since(t0)
	ps := probe()
	if err != nil {
		return err
	}
	after, err := b.sizes(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("\njobs rm --older-than %s: %s\n", olderThan, out)
	fmt.Printf("  wall time %s (%.0f jobs/s)\n", took.Round(time.Millisecond), float64(before.jobs-after.jobs)/took.Seconds())
	fmt.Printf("  meanwhile the server answered %s\n", ps)
	fmt.Printf("  after: %d jobs, %d log chunks; database %s, in use %s\n", after.jobs, after.chunks, mb(after.file), mb(after.used))

	// Backup under a submit load.
	probe = b.probe(ctx, true)
	backup := filepath.Join(work, "lab.backup")
	t0 = time.Now()
	out, err = b.admin(ctx, "backup", backup)
	took = time.Since(t0)
	ps = probe()
	if err != nil {
		return err
	}
	fi, err := os.Stat(backup)
	if err != nil {
		return err
	}
	fmt.Printf("\nbackup under submit load: %s\n  wall time %s, %s; meanwhile %s\n", out, took.Round(time.Millisecond), mb(fi.Size()), ps)

	// Restore and check.
	r := &bench{server: b.server, data: filepath.Join(work, "restored"), token: b.token}
	if err := os.MkdirAll(r.data, 0o750); err != nil {
		return err
	}
	if pg != "" {
		dsn, drop, err := newDatabase(ctx, pg)
		if err != nil {
			return err
		}
		defer drop()
		r.db = dsn
	}
	t0 = time.Now()
	if _, err := r.admin(ctx, "restore", backup); err != nil {
		return err
	}
	fmt.Printf("\nrestore: %s\n", time.Since(t0).Round(time.Millisecond))
	if err := r.check(ctx); err != nil {
		return fmt.Errorf("restored lab: %w", err)
	}
	rstop, err := r.serve(ctx, r.data, r.db)
	if err != nil {
		return err
	}
	defer rstop()
	var page struct {
		Count int `json:"count"`
	}
	if err := r.getJSON("/api/v1/jobs?limit=1", &page); err != nil {
		return fmt.Errorf("restored server: %w", err)
	}
	fmt.Printf("  a lava-server on the restored lab answers with the admin's token: %d jobs listed\n", page.Count)
	return nil
}

func backend(db string) string {
	if db == "" {
		return "SQLite"
	}
	return "PostgreSQL"
}

// admin runs a lava-server command on the lab and returns its output.
func (b *bench) admin(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, b.server, append(args, "--data-dir", b.data, "--db", b.db)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("lava-server %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return strings.TrimSpace(out.String() + errb.String()), nil
}

// serve starts lava-server on dir and sets b.url.
func (b *bench) serve(ctx context.Context, dir, db string) (func(), error) {
	cmd := exec.CommandContext(ctx, b.server, "serve", "--listen", "127.0.0.1:0", "--data-dir", dir, "--db", db)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 30 * time.Second
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	urlc := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`url=(http://\S+)`)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case urlc <- m[1]:
				default:
				}
			} else if strings.Contains(sc.Text(), "level=ERROR") {
				fmt.Fprintln(os.Stderr, "server:", sc.Text())
			}
		}
	}()
	stop := func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait(); pw.Close() }
	select {
	case b.url = <-urlc:
	case <-time.After(2 * time.Minute):
		stop()
		return nil, errors.New("lava-server did not start")
	}
	return stop, nil
}

func (b *bench) getJSON(path string, out any) error {
	req, _ := http.NewRequest("GET", b.url+path, nil)
	req.Header.Set("Authorization", "Token "+b.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d", path, resp.StatusCode)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// probeStats are the requests a probe made.
type probeStats struct {
	lat            []time.Duration
	errors, submit int
}

func (p probeStats) String() string {
	if len(p.lat) == 0 {
		return fmt.Sprintf("no request (%d errors)", p.errors)
	}
	slices.Sort(p.lat)
	q := func(f float64) time.Duration {
		return p.lat[int(f*float64(len(p.lat)-1))].Round(time.Microsecond * 100)
	}
	return fmt.Sprintf("%d requests (%d job submissions), %d errors; latency p50 %s, p99 %s, max %s",
		len(p.lat), p.submit, p.errors, q(0.5), q(0.99), p.lat[len(p.lat)-1].Round(time.Millisecond))
}

// probe starts two clients: one lists jobs and reads the newest job's
// logs, one submits jobs (with submit, continuously; else one every
// 100 ms). The returned func stops them and returns what they saw.
func (b *bench) probe(ctx context.Context, submit bool) func() probeStats {
	var mu sync.Mutex
	var st probeStats
	var stopped atomic.Bool
	record := func(d time.Duration, err error, sub bool) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			st.errors++
			if st.errors <= 3 {
				fmt.Fprintln(os.Stderr, "probe:", err)
			}
			return
		}
		st.lat = append(st.lat, d)
		if sub {
			st.submit++
		}
	}
	do := func(method, path string, body []byte) error {
		req, _ := http.NewRequestWithContext(ctx, method, b.url+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Token "+b.token)
		if body != nil {
			req.Header.Set("Content-Type", "application/yaml")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("%s %s: HTTP %d", method, path, resp.StatusCode)
		}
		return nil
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for !stopped.Load() {
			t := time.Now()
			err := do("GET", "/api/v1/jobs?limit=20", nil)
			if err == nil {
				err = do("GET", "/api/v1/jobs?limit=1&state=finished", nil)
			}
			record(time.Since(t), err, false)
		}
	})
	def := []byte("device_type: qemu\njob_name: probe\ntimeouts:\n  job: {minutes: 10}\npriority: medium\nvisibility: public\nactions: []\n")
	wg.Go(func() {
		for !stopped.Load() {
			t := time.Now()
			err := do("POST", "/api/v1/jobs", def)
			record(time.Since(t), err, true)
			if !submit {
				time.Sleep(100 * time.Millisecond)
			}
		}
	})
	// Stopping lets the requests in flight finish (they count).
	return func() probeStats {
		stopped.Store(true)
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return st
	}
}

type dbSizes struct {
	file, used   int64
	jobs, chunks int64
}

// sizes reads the database's size (SQLite: file and WAL, pages in use;
// PostgreSQL: pg_database_size, and the lab's tables and indexes) and rows.
func (b *bench) sizes(ctx context.Context) (dbSizes, error) {
	var s dbSizes
	if b.db != "" {
		conn, err := pgx.Connect(ctx, b.db)
		if err != nil {
			return s, err
		}
		defer conn.Close(ctx)
		err = conn.QueryRow(ctx, `SELECT pg_database_size(current_database()),
  (SELECT SUM(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = current_schema() AND c.relkind = 'r')::bigint,
  (SELECT COUNT(*) FROM jobs), (SELECT COUNT(*) FROM log_chunks)`).Scan(&s.file, &s.used, &s.jobs, &s.chunks)
		return s, err
	}
	path := filepath.Join(b.data, "lava.db")
	for _, p := range []string{path, path + "-wal"} {
		if fi, err := os.Stat(p); err == nil {
			s.file += fi.Size()
		}
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return s, err
	}
	defer db.Close()
	var pages, free, size int64
	for q, v := range map[string]*int64{`PRAGMA page_count`: &pages, `PRAGMA freelist_count`: &free, `PRAGMA page_size`: &size,
		`SELECT COUNT(*) FROM jobs`: &s.jobs, `SELECT COUNT(*) FROM log_chunks`: &s.chunks} {
		if err := db.QueryRowContext(ctx, q).Scan(v); err != nil {
			return s, fmt.Errorf("%s: %w", q, err)
		}
	}
	s.used = (pages - free) * size
	return s, nil
}

// check is the restored lab's consistency check: SQLite's integrity and
// foreign key checks, then every job and its whole log read through the
// store (either backend).
func (b *bench) check(ctx context.Context) error {
	t0 := time.Now()
	what := "PostgreSQL (pg_restore --exit-on-error in one transaction)"
	if b.db == "" {
		path := filepath.Join(b.data, "lava.db")
		if err := sqlite.Check(ctx, path); err != nil {
			return err
		}
		db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
		if err != nil {
			return err
		}
		rows, err := db.QueryContext(ctx, `PRAGMA foreign_key_check`)
		if err != nil {
			db.Close()
			return err
		}
		bad := rows.Next()
		rows.Close()
		db.Close()
		if bad {
			return errors.New("foreign_key_check found rows that refer to nothing")
		}
		what = "integrity_check ok, foreign_key_check ok"
	}
	st, err := storeopen.OpenShared(ctx, b.data, b.db)
	if err != nil {
		return err
	}
	defer st.Close()
	list, _, err := st.ListJobs(ctx, store.System(), store.JobFilter{Limit: 1 << 30, CountLimit: -1})
	if err != nil {
		return err
	}
	var jobs, records int64
	for _, j := range list {
		n, err := st.LogCount(ctx, j.ID)
		if err != nil {
			return err
		}
		var got int64
		for from := int64(0); from < n; {
			recs, err := st.ReadLogs(ctx, j.ID, from, 10000)
			if err != nil {
				return fmt.Errorf("job %d: %w", j.ID, err)
			}
			if len(recs) == 0 {
				return fmt.Errorf("job %d: log records %d..%d are missing", j.ID, from, n-1)
			}
			got += int64(len(recs))
			from = recs[len(recs)-1].Index + 1
		}
		if got != n {
			return fmt.Errorf("job %d: %d of %d log records", j.ID, got, n)
		}
		jobs++
		records += n
	}
	fmt.Printf("  consistency: %s; %d jobs read with all their %d log records (%s)\n",
		what, jobs, records, time.Since(t0).Round(time.Millisecond))
	return nil
}

// newDatabase creates a database on the PostgreSQL server at dsn and
// returns its DSN and a func dropping it.
func newDatabase(ctx context.Context, dsn string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", nil, err
	}
	defer conn.Close(ctx)
	var rb [5]byte
	_, _ = rand.Read(rb[:])
	name := "bench_retention_" + hex.EncodeToString(rb[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, err
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + name
	drop := func() {
		c, err := pgx.Connect(context.Background(), dsn)
		if err != nil {
			return
		}
		defer c.Close(context.Background())
		_, _ = c.Exec(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)")
	}
	return u.String(), drop, nil
}

// seedPG fills the lab at dsn with n finished jobs submitted over the past
// year, each with a log of 10 records (one chunk) and one test case, as
// bench/seed does through the store, but with set-based SQL.
func seedPG(ctx context.Context, dsn string, n int) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	now := time.Now()
	span := (365 * 24 * time.Hour).Microseconds()
	def := "device_type: qemu\njob_name: seeded\ntimeouts:\n  job: {minutes: 10}\npriority: medium\nvisibility: public\nactions: []\n"
	var chunk strings.Builder
	chunk.WriteString("[")
	for k := range 10 {
		if k > 0 {
			chunk.WriteString(",")
		}
		fmt.Fprintf(&chunk, `[%d,"target","[%6d.000] seeded log line %d",0,""]`, now.UnixMicro(), k, k)
	}
	chunk.WriteString("]")
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO device_types (name) VALUES ('qemu')`, nil},
		{`INSERT INTO workers (hostname) VALUES ('seed-worker')`, nil},
		{`INSERT INTO devices (hostname, device_type, worker) SELECT 'seed-' || lpad(g::text, 3, '0'), 'qemu', 'seed-worker' FROM generate_series(0, 49) g`, nil},
		{`INSERT INTO jobs (description, definition, state, health, requested_device_type, actual_device, worker, submitter,
  submit_time, start_time, end_time, error_type, log_next)
SELECT 'seeded job ' || g, $1, 5, CASE WHEN g % 10 = 9 THEN 2 ELSE 1 END, 'qemu', 'seed-' || lpad((g % 50)::text, 3, '0'), 'seed-worker', 'seed',
  $2::bigint + g * ($3::bigint / $4::bigint), $2::bigint + g * ($3::bigint / $4::bigint) + 1000000, $2::bigint + g * ($3::bigint / $4::bigint) + 60000000, 'Test', 10
FROM generate_series(0, $4::bigint - 1) g`, []any{def, now.UnixMicro() - span, span, n}},
		{`INSERT INTO log_chunks (job_id, first_idx, end_idx, data) SELECT id, 0, 10, $1 FROM jobs`, []any{chunk.String()}},
		{`INSERT INTO test_suites (job_id, name) SELECT id, 'lava' FROM jobs`, nil},
		{`INSERT INTO test_cases (job_id, suite_id, name, result, logged) SELECT job_id, id, 'job', 0, $1 FROM test_suites`, []any{now.UnixMicro()}},
		{`ANALYZE`, nil},
	} {
		if _, err := conn.Exec(ctx, q.sql, q.args...); err != nil {
			return fmt.Errorf("%.40s: %w", q.sql, err)
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func mb(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
