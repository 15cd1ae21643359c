package main

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lavalab/lavalab/bench/cpustat"
	"github.com/lavalab/lavalab/bench/proc"
)

//go:embed qemu-job.yaml
var defaultJob []byte

type config struct {
	url, token, file, db string
	pprof                string
	pgdata               string
	serverPID            int
	clients, n           int
	spawn, noSched, keep bool
	timeout              time.Duration
}

func main() {
	var c config
	flag.StringVar(&c.url, "url", "http://127.0.0.1:8000", "server URL (loopback only)")
	flag.StringVar(&c.token, "token", "", "API token of a user (not needed with -spawn)")
	flag.IntVar(&c.clients, "clients", 32, "concurrent clients")
	flag.IntVar(&c.n, "n", 20000, "jobs to submit")
	flag.StringVar(&c.file, "file", "", "job definition to submit (default: an embedded ~1 KB qemu job)")
	flag.BoolVar(&c.spawn, "spawn", false, "build and start lava-server with a temp data dir, prepare it, run, stop it")
	flag.StringVar(&c.db, "db", "", "with -spawn: database URL (default SQLite in the temp dir)")
	flag.BoolVar(&c.noSched, "no-scheduler", false, "with -spawn: start the server with --no-scheduler")
	flag.StringVar(&c.pprof, "pprof", "", "with -spawn: start the server with --pprof-listen ADDR (profile it meanwhile)")
	flag.BoolVar(&c.keep, "keep", false, "with -spawn: keep the temp dir and print its path")
	flag.StringVar(&c.pgdata, "pgdata", "", "PostgreSQL data directory: also report the database server's CPU time")
	flag.IntVar(&c.serverPID, "server-pid", 0, "without -spawn: the lava-server process, to report its CPU time")
	flag.DurationVar(&c.timeout, "timeout", 10*time.Minute, "stop after this long whatever happens")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	if err := run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, "submit:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	if c.clients < 1 || c.n < 1 {
		return errors.New("-clients and -n must be >= 1")
	}
	job := defaultJob
	if c.file != "" {
		b, err := os.ReadFile(c.file)
		if err != nil {
			return fmt.Errorf("reading the job: %w", err)
		}
		job = b
	}
	if c.spawn {
		srv, err := spawn(ctx, c)
		if err != nil {
			return err
		}
		defer srv.stop()
		c.url, c.token = srv.url, srv.token
		c.serverPID = srv.proc.Pid()
	}
	if err := loopbackOnly(c.url); err != nil {
		return err
	}
	if c.token == "" {
		return errors.New("-token is required (or use -spawn)")
	}
	fmt.Printf("submitting %d jobs (%d bytes) with %d clients to %s\n", c.n, len(job), c.clients, c.url)
	meter, err := newCPUMeter(c)
	if err != nil {
		return err
	}
	res := load(ctx, c, job)
	res.print(os.Stdout)
	meter.print(os.Stdout, res.ok)
	if res.ok == 0 {
		return errors.New("no job was accepted")
	}
	return nil
}

// cpuMeter reads the CPU time of the load program, the server and the
// database before and after the load.
type cpuMeter struct {
	serverPID, pgPID int
	self, server, db time.Duration
	serverOK, dbOK   bool
}

func newCPUMeter(c config) (*cpuMeter, error) {
	m := &cpuMeter{serverPID: c.serverPID, self: cpustat.Self()}
	if c.pgdata != "" {
		pid, err := cpustat.PostmasterPID(c.pgdata)
		if err != nil {
			return nil, fmt.Errorf("-pgdata: %w", err)
		}
		m.pgPID = pid
	}
	if m.serverPID != 0 {
		if t, err := cpustat.Process(m.serverPID); err == nil {
			m.server, m.serverOK = t, true
		}
	}
	if m.pgPID != 0 {
		if t, err := cpustat.Tree(m.pgPID); err == nil {
			m.db, m.dbOK = t, true
		}
	}
	return m, nil
}

// print reports CPU seconds per 1,000 accepted jobs.
func (m *cpuMeter) print(w io.Writer, ok int) {
	if ok == 0 {
		return
	}
	per := func(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()*1000/float64(ok)) }
	line := "cpu s per 1000 jobs: load " + per(cpustat.Self()-m.self)
	if m.serverOK {
		if t, err := cpustat.Process(m.serverPID); err == nil {
			line += ", server " + per(t-m.server)
		}
	}
	if m.dbOK {
		if t, err := cpustat.Tree(m.pgPID); err == nil {
			line += ", postgres " + per(t-m.db)
		}
	}
	fmt.Fprintln(w, line)
}

// loopbackOnly refuses any target but this machine.
func loopbackOnly(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("-url: %w", err)
	}
	h := u.Hostname()
	if h == "localhost" {
		return nil
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("-url %s: only loopback addresses (127.0.0.0/8, ::1, localhost) are allowed", raw)
}

type result struct {
	ok, failed int
	firstErr   string
	elapsed    time.Duration
	lat        []time.Duration
	reqs       []sample // every request: when it started, how long it took
}

type sample struct {
	at  time.Time
	lat time.Duration
}

func load(ctx context.Context, c config, job []byte) result {
	client := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConns: c.clients * 2, MaxIdleConnsPerHost: c.clients * 2, IdleConnTimeout: time.Minute},
	}
	endpoint := strings.TrimSuffix(c.url, "/") + "/api/v1/jobs"
	var next atomic.Int64
	var mu sync.Mutex
	var res result
	var wg sync.WaitGroup
	start := time.Now()
	for range c.clients {
		wg.Go(func() {
			var lat []time.Duration
			var reqs []sample
			ok, failed := 0, 0
			firstErr := ""
			for next.Add(1) <= int64(c.n) && ctx.Err() == nil {
				t0 := time.Now()
				req, err := http.NewRequestWithContext(ctx, "POST", endpoint, bytes.NewReader(job))
				if err != nil {
					failed++
					firstErr = err.Error()
					continue
				}
				req.Header.Set("Content-Type", "application/yaml")
				req.Header.Set("Authorization", "Token "+c.token)
				resp, err := client.Do(req)
				if err != nil {
					failed++
					if firstErr == "" {
						firstErr = err.Error()
					}
					continue
				}
				body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
				resp.Body.Close()
				lat = append(lat, time.Since(t0))
				reqs = append(reqs, sample{t0, lat[len(lat)-1]})
				if resp.StatusCode == http.StatusCreated {
					ok++
				} else {
					failed++
					if firstErr == "" {
						firstErr = fmt.Sprintf("%d %s", resp.StatusCode, bytes.TrimSpace(body))
					}
				}
			}
			mu.Lock()
			res.ok += ok
			res.failed += failed
			res.lat = append(res.lat, lat...)
			res.reqs = append(res.reqs, reqs...)
			if res.firstErr == "" {
				res.firstErr = firstErr
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	return res
}

func pct(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(p * float64(len(sorted)-1))
	return sorted[i]
}

func (r result) print(w io.Writer) {
	slices.Sort(r.lat)
	fmt.Fprintf(w, "accepted %d, failed %d in %.2fs\n", r.ok, r.failed, r.elapsed.Seconds())
	fmt.Fprintf(w, "jobs/s %.0f\n", float64(r.ok)/r.elapsed.Seconds())
	fmt.Fprintf(w, "latency p50 %v p99 %v max %v\n", pct(r.lat, 0.50).Round(10*time.Microsecond),
		pct(r.lat, 0.99).Round(10*time.Microsecond), pct(r.lat, 1).Round(10*time.Microsecond))
	if r.firstErr != "" {
		fmt.Fprintf(w, "first error: %s\n", r.firstErr)
	}
	r.printStalls(w)
}

// printStalls lists the moments when requests were slow (over 5× the
// median and 50 ms), grouped into windows, with their wall-clock times:
// to match with the database's log (checkpoints, autovacuum) or the
// server's.
func (r result) printStalls(w io.Writer) {
	limit := max(5*pct(r.lat, 0.50), 50*time.Millisecond)
	var slow []sample
	for _, s := range r.reqs {
		if s.lat > limit {
			slow = append(slow, s)
		}
	}
	if len(slow) == 0 {
		fmt.Fprintf(w, "stalls: no request over %v\n", limit.Round(time.Millisecond))
		return
	}
	slices.SortFunc(slow, func(a, b sample) int { return a.at.Compare(b.at) })
	fmt.Fprintf(w, "stalls: %d requests over %v, by window of their start (wall clock):\n", len(slow), limit.Round(time.Millisecond))
	from, worst, n := slow[0].at, time.Duration(0), 0
	flush := func(to time.Time) {
		fmt.Fprintf(w, "  %s-%s  %d requests, worst %v\n", from.Format("15:04:05.000"), to.Format("15:04:05.000"), n, worst.Round(time.Millisecond))
	}
	last := slow[0].at
	for _, s := range slow {
		if s.at.Sub(last) > time.Second {
			flush(last)
			from, worst, n = s.at, 0, 0
		}
		n++
		worst = max(worst, s.lat)
		last = s.at
	}
	flush(last)
}

// ---- -spawn ----

type server struct {
	url, token string
	dir        string
	keep       bool
	proc       *proc.Proc
}

// repoRoot finds the module root (the go.mod holding cmd/lava-server).
func repoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("-spawn must run inside the repository (go run ./bench/submit -spawn)")
	}
	return filepath.Dir(gomod), nil
}

func spawn(ctx context.Context, c config) (*server, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "lava-bench-")
	if err != nil {
		return nil, err
	}
	s := &server{dir: dir, keep: c.keep}
	ok := false
	defer func() {
		if !ok {
			s.stop()
		}
	}()
	bin := filepath.Join(dir, "lava-server")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/lava-server")
	build.Dir = root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	fmt.Fprintln(os.Stderr, "building lava-server ...")
	if err := build.Run(); err != nil {
		return nil, fmt.Errorf("building lava-server: %w", err)
	}
	common := []string{"--data-dir", filepath.Join(dir, "data")}
	if c.db != "" {
		common = append(common, "--db", c.db)
	}
	admin := func(allowExists bool, args ...string) (string, error) {
		var out, errb bytes.Buffer
		cmd := exec.CommandContext(ctx, bin, append(args, common...)...)
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			if allowExists && strings.Contains(errb.String(), "already exists") {
				return "", nil
			}
			return "", fmt.Errorf("lava-server %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
		}
		return strings.TrimSpace(out.String()), nil
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	user := "bench-" + hex.EncodeToString(suffix)
	if s.token, err = admin(false, "user", "add", user); err != nil {
		return nil, err
	}
	for _, args := range [][]string{{"worker", "add", "bench-worker"}, {"device-type", "add", "qemu"},
		{"device", "add", "bench-qemu-01", "--type", "qemu", "--worker", "bench-worker"}} {
		if _, err := admin(true, args...); err != nil {
			return nil, err
		}
	}
	addr, err := proc.FreeAddr()
	if err != nil {
		return nil, err
	}
	args := append([]string{"serve", "--listen", addr, "--log-level", "warn"}, common...)
	if c.noSched {
		args = append(args, "--no-scheduler")
	}
	if c.pprof != "" {
		args = append(args, "--pprof-listen", c.pprof)
	}
	if s.proc, err = proc.Start(bin, args, nil, filepath.Join(dir, "server.log")); err != nil {
		return nil, err
	}
	s.url = "http://" + addr
	if err := s.proc.WaitHTTP(s.url+"/healthz", 30*time.Second); err != nil {
		return nil, fmt.Errorf("lava-server: %w", err)
	}
	backend := "SQLite"
	if c.db != "" {
		backend = "PostgreSQL"
	}
	fmt.Fprintf(os.Stderr, "lava-server up at %s (%s, data in %s)\n", s.url, backend, dir)
	ok = true
	return s, nil
}

// stop sends SIGTERM, waits for a graceful stop (SIGKILL after 40 s) and
// removes the temp dir unless -keep.
func (s *server) stop() {
	if s.proc != nil {
		if err := s.proc.Stop(40 * time.Second); err != nil {
			fmt.Fprintf(os.Stderr, "lava-server stopped: %v\n", err)
		}
		s.proc = nil
	}
	if s.keep {
		fmt.Fprintf(os.Stderr, "kept %s\n", s.dir)
		return
	}
	_ = os.RemoveAll(s.dir)
}
