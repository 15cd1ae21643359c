// Command logingest measures log ingestion on one lava-server: N jobs run
// at once, each sending records at serial line rate (default 144 records
// of 80 bytes a second, 115,200 baud ≈ 11.5 KB/s) for -duration, through
// the real worker protocol (the synthetic worker: lava-worker's runtime
// with a runner that emits numbered lines; one process runs all N jobs).
//
// The server and the worker are real processes (built by this command
// unless -server-bin/-worker-bin are given). For every N of -jobs it
// seeds a fresh store (SQLite in a temp dir, or a fresh schema of the
// PostgreSQL database -db), submits N jobs through the REST API, starts
// the worker, follows -sample jobs through GET /api/v1/jobs/{id}/logs and
// reports:
//
//   - stored: every job Complete with every record (store checked after
//     the server stopped);
//   - latency from the record's creation on the worker to its first sight
//     through the API (includes the worker's batching, -log-interval, and
//     the follower's polling, -follow-every: an upper bound);
//   - server CPU (utime+stime of /proc/<pid>/stat over the run, in cores);
//   - worker RSS idle and at its peak with N jobs running.
//
// The ceiling is the largest N with p99 ≤ 1 s and every record stored.
//
//	go run ./bench/logingest -jobs 100,250,500,1000 -duration 60s [-db postgres://...]
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
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
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lavalab/lavalab/bench/cpustat"
	"github.com/lavalab/lavalab/bench/proc"
	"github.com/lavalab/lavalab/core/auth"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/storeopen"
)

type config struct {
	jobs        []int
	duration    time.Duration
	rate        int
	db          string
	serverBin   string
	workerBin   string
	logInterval time.Duration
	sample      int
	followEvery time.Duration
	followSSE   bool
	keep        bool
	pprof       string
	pgData      string
	workerPprof string
}

func main() {
	var c config
	jobs := flag.String("jobs", "100,250,500,1000", "comma-separated numbers of concurrent jobs, one run each")
	flag.DurationVar(&c.duration, "duration", 60*time.Second, "how long each job sends records")
	flag.IntVar(&c.rate, "rate", 144, "records per second per job (80 bytes each; 144/s ≈ 115,200 baud)")
	flag.StringVar(&c.db, "db", "", "store: empty for SQLite in a temp dir, or a PostgreSQL DSN (a fresh schema per run)")
	flag.StringVar(&c.serverBin, "server-bin", "", "lava-server binary (default: built from ./cmd/lava-server)")
	flag.StringVar(&c.workerBin, "worker-bin", "", "synthetic worker binary (default: built from ./core/workerproto/internal/synthworker)")
	flag.DurationVar(&c.logInterval, "log-interval", 200*time.Millisecond, "the worker's --log-interval (lava-worker's default)")
	flag.IntVar(&c.sample, "sample", 20, "jobs followed through the API for the latency")
	flag.DurationVar(&c.followEvery, "follow-every", 250*time.Millisecond, "how often a followed job's log is read through the API")
	followHow := flag.String("follow", "poll", "how the sample is followed: poll (GET /api/v1/jobs/{id}/logs every -follow-every, as a script or lavacli does) or sse (the web UI's live log, /jobs/{id}/log/stream)")
	flag.BoolVar(&c.keep, "keep", false, "keep the temp dirs (server and worker logs)")
	flag.StringVar(&c.pgData, "pg-data", "", "PostgreSQL data directory (its postmaster.pid): also report the database's CPU (postmaster and backends); the cluster should serve only this bench")
	flag.StringVar(&c.workerPprof, "worker-pprof", "", "serve net/http/pprof on ADDR in the synthetic worker (profile it while it runs)")
	flag.StringVar(&c.pprof, "pprof", "", "pass --pprof-listen ADDR to the server (profile it while it runs)")
	flag.Parse()
	switch *followHow {
	case "poll":
	case "sse":
		c.followSSE = true
	default:
		fmt.Fprintf(os.Stderr, "logingest: -follow %q: want poll or sse\n", *followHow)
		os.Exit(2)
	}
	for _, f := range strings.Split(*jobs, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "logingest: -jobs %q: want positive numbers\n", *jobs)
			os.Exit(2)
		}
		c.jobs = append(c.jobs, n)
	}
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "logingest:", err)
		os.Exit(1)
	}
}

func run(c config) error {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "bench-logingest-")
	if err != nil {
		return err
	}
	if !c.keep {
		defer os.RemoveAll(tmp)
	}
	if c.serverBin == "" || c.workerBin == "" {
		if err := buildBins(&c, tmp); err != nil {
			return err
		}
	}
	// A worker of another version is refused every job: fail now, not
	// after the run's deadline.
	if err := sameVersion(c.serverBin, c.workerBin); err != nil {
		return err
	}
	backend := "sqlite"
	if c.db != "" {
		backend = "postgres"
	}
	how := "through the API every " + c.followEvery.String()
	if c.followSSE {
		how = "through the web UI's live log (Server-Sent Events)"
	}
	fmt.Printf("log ingestion: %s, %d records/s/job of 80 bytes for %s, worker --log-interval %s, %d jobs followed %s; machine: %d CPUs, load %s\n",
		backend, c.rate, c.duration, c.logInterval, c.sample, how, numCPU(), loadavg())
	ceiling := 0
	for _, n := range c.jobs {
		r, err := runOne(ctx, c, tmp, n)
		if err != nil {
			return fmt.Errorf("%d jobs: %w", n, err)
		}
		ok := r.allStored && r.p99 <= time.Second
		if ok {
			ceiling = max(ceiling, n)
		}
		// Server CPU per record, and the jobs it would take at that cost to
		// use 1.5 cores (the budget): a figure less sensitive to
		// the machine's other load than the latency.
		perRec := r.cpu * r.wall.Seconds() / float64(max(r.stored, 1))
		fmt.Printf("%s N=%d: server CPU %.1f µs per record; at that cost 1.5 cores serve %.0f jobs at %d records/s\n",
			backend, n, perRec*1e6, 1.5/perRec/float64(c.rate), c.rate)
		fmt.Printf("%s N=%-5d stored %-5t (%d/%d records, %d/%d jobs Complete)  latency p50 %s p99 %s max %s (%d samples)  server CPU %.2f cores, worker CPU %.2f, database CPU %.2f (-1: not measured)  worker RSS idle %.1f MB, peak %.1f MB (%.2f MB/job)  run %s  pass %t\n",
			backend, n, r.allStored, r.stored, r.want, r.complete, n,
			r.p50.Round(time.Millisecond), r.p99.Round(time.Millisecond), r.max.Round(time.Millisecond), r.samples,
			r.cpu, r.workerCPU, r.dbCPU, mb(r.idleRSS), mb(r.peakRSS), mb(r.peakRSS-r.idleRSS)/float64(n), r.wall.Round(100*time.Millisecond), ok)
	}
	fmt.Printf("%s ceiling: %d jobs (largest N run with p99 ≤ 1 s and every record stored; load %s)\n", backend, ceiling, loadavg())
	return nil
}

// sameVersion compares the versions the two binaries print
// (`lava-server version`, `worker --version`).
func sameVersion(server, worker string) error {
	version := func(bin, arg string) (string, error) {
		out, err := exec.Command(bin, arg).Output()
		if err != nil {
			return "", fmt.Errorf("%s %s: %w", bin, arg, err)
		}
		return strings.TrimSpace(string(out)), nil
	}
	sv, err := version(server, "version")
	if err != nil {
		return err
	}
	wv, err := version(worker, "--version")
	if err != nil {
		return err
	}
	if sv != wv {
		return fmt.Errorf("lava-server %s is version %q and the worker %s version %q: the server would refuse every job; give binaries of one build (or neither, to build them)", server, sv, worker, wv)
	}
	return nil
}

func buildBins(c *config, dir string) error {
	for _, b := range []struct {
		out       *string
		pkg, name string
	}{
		{&c.serverBin, "./cmd/lava-server", "lava-server"},
		{&c.workerBin, "./core/workerproto/internal/synthworker", "synthworker"},
	} {
		if *b.out != "" {
			continue
		}
		out := filepath.Join(dir, b.name)
		cmd := exec.Command("go", "build", "-o", out, "-ldflags", "-X github.com/lavalab/lavalab/core/version.Version=bench", b.pkg)
		if o, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %w\n%s", b.pkg, err, o)
		}
		*b.out = out
	}
	return nil
}

// stopGrace is how long a stopped process may take before SIGKILL.
const stopGrace = 20 * time.Second

type result struct {
	allStored        bool
	stored, want     int64
	complete         int
	p50, p99, max    time.Duration
	samples          int
	cpu, workerCPU   float64
	dbCPU            float64 // -1: not measured
	idleRSS, peakRSS int64
	wall             time.Duration
}

const def = `job_name: logingest
device_type: local
visibility: public
timeouts:
  job:
    minutes: 30
actions:
- boot:
    method: minimal
`

func runOne(ctx context.Context, c config, tmp string, n int) (res result, err error) {
	dir := filepath.Join(tmp, fmt.Sprintf("n%d", n))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, err
	}
	dsn := ""
	if c.db != "" {
		var drop func()
		if dsn, drop, err = freshSchema(ctx, c.db); err != nil {
			return res, err
		}
		defer drop()
	}
	usecret, wtokenFile, err := seed(ctx, dir, dsn, n)
	if err != nil {
		return res, err
	}
	addr, err := proc.FreeAddr()
	if err != nil {
		return res, err
	}
	base := "http://" + addr
	args := []string{"serve", "--listen", addr, "--data-dir", dir, "--log-level", "warn"}
	if dsn != "" {
		args = append(args, "--db", dsn)
	}
	if c.pprof != "" {
		args = append(args, "--pprof-listen", c.pprof)
	}
	srv, err := proc.Start(c.serverBin, args, nil, filepath.Join(dir, "server.log"))
	if err != nil {
		return res, err
	}
	defer srv.Stop(stopGrace)
	if err := srv.WaitHTTP(base+"/healthz", 60*time.Second); err != nil {
		return res, fmt.Errorf("server: %w", err)
	}
	lines := int(c.duration.Seconds() * float64(c.rate))
	interval := time.Second / time.Duration(c.rate)
	wk, err := proc.Start(c.workerBin, []string{"--url", base, "--name", "w1", "--token-file", wtokenFile,
		"--work-dir", filepath.Join(dir, "worker"), "--log-interval", c.logInterval.String(), "--log-level", "warn", "--allow-tool", "sh@local"},
		[]string{"LAVA_SYNTH_LINES=" + strconv.Itoa(lines), "LAVA_SYNTH_INTERVAL=" + interval.String(), "LAVA_SYNTH_PPROF_LISTEN=" + c.workerPprof},
		filepath.Join(dir, "worker.log"))
	if err != nil {
		return res, err
	}
	defer wk.Stop(stopGrace)
	// The worker's idle RSS: up and polling, no job yet.
	time.Sleep(2 * time.Second)
	res.idleRSS = rss(wk.Pid())
	cpu0, wcpu0, t0 := cpuOf(srv.Pid()), cpuOf(wk.Pid()), time.Now()
	db0 := pgCPU(c.pgData)
	ids, err := submit(base, usecret, n)
	if err != nil {
		return res, err
	}

	// Follow a sample of jobs; watch the worker's RSS; wait for all ends.
	fctx, fcancel := context.WithCancel(ctx)
	var lat []time.Duration
	var latMu sync.Mutex
	var fwg sync.WaitGroup
	step := max(1, n/max(1, c.sample))
	for i := 0; i < n; i += step {
		id := ids[i]
		fwg.Go(func() {
			var l []time.Duration
			if c.followSSE {
				l = followStream(fctx, base, usecret, id, int64(lines))
			} else {
				l = follow(fctx, base, usecret, id, int64(lines), c.followEvery)
			}
			latMu.Lock()
			lat = append(lat, l...)
			latMu.Unlock()
		})
	}
	var peak atomic.Int64
	fwg.Go(func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			if r := rss(wk.Pid()); r > peak.Load() {
				peak.Store(r)
			}
			select {
			case <-fctx.Done():
				return
			case <-t.C:
			}
		}
	})
	deadline := time.Now().Add(5*c.duration + 5*time.Minute) // generous: a starved server catches up late
	for {
		done, err := finished(base, usecret, n)
		if err != nil {
			fcancel()
			fwg.Wait()
			return res, err
		}
		if done >= n {
			break
		}
		if time.Now().After(deadline) {
			fmt.Printf("  %d jobs: only %d of %d finished by the deadline\n", n, done, n)
			break
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "server.log")); strings.Contains(string(b), "worker version mismatch") {
			fcancel()
			fwg.Wait()
			return res, errors.New("the server refuses the worker: version mismatch (see server.log); give -server-bin and -worker-bin of one build, or neither")
		}
		time.Sleep(time.Second)
	}
	res.wall = time.Since(t0)
	res.cpu = (cpuOf(srv.Pid()) - cpu0).Seconds() / res.wall.Seconds()
	res.workerCPU = (cpuOf(wk.Pid()) - wcpu0).Seconds() / res.wall.Seconds()
	res.dbCPU = -1
	if db0 >= 0 {
		res.dbCPU = (pgCPU(c.pgData) - db0).Seconds() / res.wall.Seconds()
	}
	// The followers stop when they have seen every record (or now).
	time.Sleep(2 * c.followEvery)
	fcancel()
	fwg.Wait()
	res.peakRSS = peak.Load()
	_ = wk.Stop(stopGrace)
	_ = srv.Stop(stopGrace)

	slices.Sort(lat)
	res.samples = len(lat)
	if len(lat) > 0 {
		q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
		res.p50, res.p99, res.max = q(0.50), q(0.99), lat[len(lat)-1]
	} else {
		res.p99 = time.Hour
	}
	// Count check on the store itself.
	st, err := storeopen.Open(ctx, dir, dsn)
	if err != nil {
		return res, err
	}
	defer st.Close()
	res.want = int64(lines) * int64(n)
	res.allStored = true
	for _, id := range ids {
		cnt, err := st.LogCount(ctx, id)
		if err != nil {
			return res, err
		}
		recs, err := st.ReadLogs(ctx, id, max(0, cnt-1), 1)
		if err != nil {
			return res, err
		}
		j, err := st.Job(ctx, store.System(), id)
		if err != nil {
			return res, err
		}
		res.stored += cnt
		if j.Health == model.JobComplete {
			res.complete++
		}
		lastOK := cnt == 0 || (len(recs) == 1 && strings.HasPrefix(recs[0].Message, fmt.Sprintf("line %d ", cnt-1)))
		if cnt != int64(lines) || j.Health != model.JobComplete || !lastOK {
			res.allStored = false
		}
	}
	return res, nil
}

// seed creates the lab: a user with a token, worker w1 (token file),
// device type local and n devices on w1.
func seed(ctx context.Context, dir, dsn string, n int) (usecret, wtokenFile string, err error) {
	st, err := storeopen.Open(ctx, dir, dsn)
	if err != nil {
		return "", "", err
	}
	defer st.Close()
	wsecret, whash := auth.NewWorkerToken()
	usecret, uhash := auth.NewToken()
	if err := st.CreateDeviceType(ctx, model.DeviceType{Name: "local"}); err != nil {
		return "", "", err
	}
	if err := st.CreateWorker(ctx, model.Worker{Hostname: "w1", State: model.WorkerOffline, Health: model.WorkerActive, TokenHash: whash}); err != nil {
		return "", "", err
	}
	for i := range n {
		if err := st.CreateDevice(ctx, model.Device{Hostname: fmt.Sprintf("d%04d", i), DeviceType: "local", Worker: "w1", Health: model.DeviceGood}); err != nil {
			return "", "", err
		}
	}
	if _, err := st.CreateUser(ctx, model.User{Username: "bench", IsAdmin: true}); err != nil {
		return "", "", err
	}
	if _, err := st.CreateToken(ctx, "bench", "bench", uhash); err != nil {
		return "", "", err
	}
	wtokenFile = filepath.Join(dir, "w1.token")
	return usecret, wtokenFile, os.WriteFile(wtokenFile, []byte(wsecret+"\n"), 0o600)
}

// freshSchema makes a schema in the database and returns a DSN using it
// and a function dropping it.
func freshSchema(ctx context.Context, dsn string) (string, func(), error) {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", nil, fmt.Errorf("connecting to -db: %w", err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "logingest_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", nil, fmt.Errorf("creating schema %s: %w", schema, err)
	}
	drop := func() {
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			fmt.Fprintf(os.Stderr, "logingest: dropping schema %s: %v\n", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			fmt.Fprintf(os.Stderr, "logingest: dropping schema %s: %v\n", schema, err)
		}
	}
	u, err := url.Parse(dsn)
	if err != nil {
		drop()
		return "", nil, fmt.Errorf("-db: %w", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}

func submit(base, token string, n int) ([]int64, error) {
	ids := make([]int64, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			var out struct {
				ID  int64   `json:"id"`
				IDs []int64 `json:"ids"`
			}
			code, body, err := call("POST", base+"/api/v1/jobs", token, strings.NewReader(def), &out)
			switch {
			case err != nil:
				errs[i] = err
			case code/100 != 2:
				errs[i] = fmt.Errorf("submit: %d %s", code, body)
			case out.ID > 0:
				ids[i] = out.ID
			case len(out.IDs) > 0:
				ids[i] = out.IDs[0]
			default:
				errs[i] = fmt.Errorf("submit: no job id in %s", body)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	slices.Sort(ids)
	return ids, nil
}

// finished counts the jobs in state Finished through the API.
func finished(base, token string, n int) (int, error) {
	var out struct {
		Count int `json:"count"`
	}
	code, body, err := call("GET", base+"/api/v1/jobs?state=finished&limit=1", token, nil, &out)
	if err != nil {
		return 0, err
	}
	if code != 200 {
		return 0, fmt.Errorf("listing jobs: %d %s", code, body)
	}
	return out.Count, nil
}

// follow reads a job's log through the API until it has seen want records
// or ctx ends, and returns, for each record, the time from its creation
// (its dt, stamped by the worker) to its first sight.
func follow(ctx context.Context, base, token string, id, want int64, every time.Duration) []time.Duration {
	var lat []time.Duration
	next := int64(0)
	t := time.NewTicker(every)
	defer t.Stop()
	for next < want {
		var out struct {
			Next    int64 `json:"next"`
			Records []struct {
				DT time.Time `json:"dt"`
			} `json:"records"`
		}
		code, _, err := call("GET", fmt.Sprintf("%s/api/v1/jobs/%d/logs?start=%d&limit=10000", base, id, next), token, nil, &out)
		now := time.Now()
		if err == nil && code == 200 {
			for _, r := range out.Records {
				lat = append(lat, now.Sub(r.DT))
			}
			if len(out.Records) > 0 {
				next = out.Next
			}
		}
		select {
		case <-ctx.Done():
			return lat
		case <-t.C:
		}
	}
	return lat
}

// followStream follows a job's log through the web UI's live log (the
// Server-Sent Events a browser reads) until it has seen want records or
// ctx ends, and returns, for each record, the time from its creation to
// its arrival. The stream stamps a record with its time of day to the
// millisecond (UTC), which is what the latency is computed from. A
// dropped stream is opened again from the next record, as a browser does.
func followStream(ctx context.Context, base, token string, id, want int64) []time.Duration {
	var lat []time.Duration
	next := int64(0)
	for next < want && ctx.Err() == nil {
		req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/jobs/%d/log/stream?from=%d", base, id, next), nil)
		if err != nil {
			return lat
		}
		req.Header.Set("Authorization", "Token "+token)
		resp, err := streamc.Do(req)
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line, ok := bytes.CutPrefix(sc.Bytes(), []byte("data: "))
			if !ok {
				continue
			}
			now := time.Now().UTC()
			var rec struct {
				I int64  `json:"i"`
				T string `json:"t"`
			}
			if json.Unmarshal(line, &rec) != nil || rec.T == "" {
				continue // the end event's data
			}
			tod, err := time.Parse("15:04:05.000", rec.T)
			if err != nil {
				continue
			}
			at := time.Date(now.Year(), now.Month(), now.Day(), tod.Hour(), tod.Minute(), tod.Second(), tod.Nanosecond(), time.UTC)
			if at.Sub(now) > time.Hour { // made before midnight, seen after
				at = at.AddDate(0, 0, -1)
			}
			lat = append(lat, now.Sub(at))
			next = rec.I + 1
		}
		resp.Body.Close()
	}
	return lat
}

// streamc has no timeout: a live log stream lasts as long as its job.
var streamc = &http.Client{}

var httpc = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}, Timeout: 3 * time.Minute} // a starved server answers slowly

func call(method, u, token string, body io.Reader, out any) (int, []byte, error) {
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Token "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/yaml")
	}
	resp, err := httpc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, nil, err
	}
	if resp.StatusCode/100 == 2 && out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, b, fmt.Errorf("%s %s: %w", method, u, err)
		}
	}
	return resp.StatusCode, b, nil
}

// cpuOf returns the CPU time of process pid so far (0 when unreadable).
func cpuOf(pid int) time.Duration {
	d, _ := cpustat.Process(pid)
	return d
}

// pgCPU returns the CPU time of a PostgreSQL cluster: its postmaster (with
// the children it reaped) and its live children; -1 without dir.
func pgCPU(dir string) time.Duration {
	if dir == "" {
		return -1
	}
	pm, err := cpustat.PostmasterPID(dir)
	if err != nil {
		return -1
	}
	d, err := cpustat.Tree(pm)
	if err != nil {
		return -1
	}
	return d
}

// rss returns the resident set size in bytes (VmRSS).
func rss(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func numCPU() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	return strings.Count(string(b), "processor\t:")
}
