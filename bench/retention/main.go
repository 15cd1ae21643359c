package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite"

	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/store/sqlite"
)

func main() {
	seeded := flag.String("seeded", "", "seeded SQLite database (bench/seed -spread); copied, never changed")
	olderThan := flag.String("older-than", "180d", "jobs rm --older-than")
	work := flag.String("work", "", "work folder (default: a new temporary one, removed at the end)")
	flag.Parse()
	if *seeded == "" {
		fmt.Fprintln(os.Stderr, "retention: -seeded FILE is required (make it with bench/seed -spread 8760h)")
		os.Exit(2)
	}
	if err := run(context.Background(), *seeded, *olderThan, *work); err != nil {
		fmt.Fprintln(os.Stderr, "retention:", err)
		os.Exit(1)
	}
}

type bench struct {
	server, data, url, token string
}

func run(ctx context.Context, seeded, olderThan, work string) error {
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
	// The seeded file is a closed database (no WAL left): a plain copy.
	if err := copyFile(seeded, filepath.Join(b.data, "lava.db")); err != nil {
		return err
	}
	tok, err := b.admin(ctx, "user", "add", "bench", "--admin")
	if err != nil {
		return err
	}
	b.token = tok
	stop, err := b.serve(ctx, b.data)
	if err != nil {
		return err
	}
	defer stop()
	db := filepath.Join(b.data, "lava.db")

	before, err := sizes(ctx, db)
	if err != nil {
		return err
	}
	fmt.Printf("lab: %d jobs, %d log chunks; database file %s, in use %s\n", before.jobs, before.chunks, mb(before.file), mb(before.used))

	// Removal while the server answers.
	probe := b.probe(ctx, false)
	t0 := time.Now()
	out, err := b.admin(ctx, "jobs", "rm", "--older-than", olderThan)
	took := time.Since(t0)
	ps := probe()
	if err != nil {
		return err
	}
	after, err := sizes(ctx, db)
	if err != nil {
		return err
	}
	fmt.Printf("\njobs rm --older-than %s: %s\n", olderThan, out)
	fmt.Printf("  wall time %s (%.0f jobs/s)\n", took.Round(time.Millisecond), float64(before.jobs-after.jobs)/took.Seconds())
	fmt.Printf("  meanwhile the server answered %s\n", ps)
	fmt.Printf("  after: %d jobs, %d log chunks; database file %s, in use %s (%s free pages for new data)\n",
		after.jobs, after.chunks, mb(after.file), mb(after.used), mb(after.file-after.used))

	// Backup under a submit load.
	probe = b.probe(ctx, true)
	backup := filepath.Join(work, "lab.backup.db")
	t0 = time.Now()
	out, err = b.admin(ctx, "backup", backup)
	took = time.Since(t0)
	ps = probe()
	if err != nil {
		return err
	}
	fmt.Printf("\nbackup under submit load: %s\n  wall time %s; meanwhile %s\n", out, took.Round(time.Millisecond), ps)

	// Restore and check.
	rdir := filepath.Join(work, "restored")
	if err := os.MkdirAll(rdir, 0o750); err != nil {
		return err
	}
	t0 = time.Now()
	if _, err := exec.CommandContext(ctx, b.server, "restore", backup, "--data-dir", rdir).CombinedOutput(); err != nil {
		return fmt.Errorf("restore: %w", err)
	}
	fmt.Printf("\nrestore: %s\n", time.Since(t0).Round(time.Millisecond))
	if err := check(ctx, filepath.Join(rdir, "lava.db")); err != nil {
		return fmt.Errorf("restored lab: %w", err)
	}
	r := &bench{server: b.server, data: rdir, token: b.token}
	rstop, err := r.serve(ctx, rdir)
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

// admin runs a lava-server command on the lab and returns its output.
func (b *bench) admin(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, b.server, append(args, "--data-dir", b.data)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("lava-server %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return strings.TrimSpace(out.String() + errb.String()), nil
}

// serve starts lava-server on dir and sets b.url.
func (b *bench) serve(ctx context.Context, dir string) (func(), error) {
	cmd := exec.CommandContext(ctx, b.server, "serve", "--listen", "127.0.0.1:0", "--data-dir", dir)
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

// sizes reads the database's size (file and WAL; pages in use) and rows.
func sizes(ctx context.Context, path string) (dbSizes, error) {
	var s dbSizes
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

// check is the restored lab's consistency check.
func check(ctx context.Context, path string) error {
	t0 := time.Now()
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
	st, err := sqlite.OpenShared(ctx, path)
	if err != nil {
		return err
	}
	defer st.Close()
	var jobs, records int64
	// Every job, by id, through the store's own reads.
	raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		return err
	}
	defer raw.Close()
	idRows, err := raw.QueryContext(ctx, `SELECT id FROM jobs ORDER BY id`)
	if err != nil {
		return err
	}
	var ids []int64
	for idRows.Next() {
		var id int64
		if err := idRows.Scan(&id); err != nil {
			idRows.Close()
			return err
		}
		ids = append(ids, id)
	}
	idRows.Close()
	for _, id := range ids {
		if _, err := st.Job(ctx, store.System(), id); err != nil {
			return err
		}
		n, err := st.LogCount(ctx, id)
		if err != nil {
			return err
		}
		var got int64
		for from := int64(0); from < n; {
			recs, err := st.ReadLogs(ctx, id, from, 10000)
			if err != nil {
				return fmt.Errorf("job %d: %w", id, err)
			}
			if len(recs) == 0 {
				return fmt.Errorf("job %d: log records %d..%d are missing", id, from, n-1)
			}
			got += int64(len(recs))
			from = recs[len(recs)-1].Index + 1
		}
		if got != n {
			return fmt.Errorf("job %d: %d of %d log records", id, got, n)
		}
		jobs++
		records += n
	}
	fmt.Printf("  consistency: integrity_check ok, foreign_key_check ok, %d jobs read with all their %d log records (%s)\n",
		jobs, records, time.Since(t0).Round(time.Millisecond))
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
