package workerproto_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/core/worker"
)

// Binaries built once by TestMain: servers and synthetic workers of two
// versions.
var bins struct {
	dir              string
	serverA, serverB string
	workerA, workerB string
	err              error
	once             sync.Once
}

const (
	verA = "e2e-a"
	verB = "e2e-b"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if bins.dir != "" {
		os.RemoveAll(bins.dir)
	}
	os.Exit(code)
}

// build builds the binaries on first use (the in-process tests need none).
func build(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test with real processes: not in -short")
	}
	bins.once.Do(func() {
		dir, err := os.MkdirTemp("", "workerproto-e2e-")
		if err != nil {
			bins.err = err
			return
		}
		bins.dir = dir
		type b struct{ out, pkg, ver string }
		list := []b{
			{filepath.Join(dir, "lava-server-a"), "../../cmd/lava-server", verA},
			{filepath.Join(dir, "lava-server-b"), "../../cmd/lava-server", verB},
			{filepath.Join(dir, "worker-a"), "./internal/synthworker", verA},
			{filepath.Join(dir, "worker-b"), "./internal/synthworker", verB},
		}
		var wg sync.WaitGroup
		errs := make([]error, len(list))
		for i, x := range list {
			wg.Go(func() {
				cmd := exec.Command("go", "build", "-o", x.out, "-ldflags", "-X github.com/lavalab/lavalab/core/version.Version="+x.ver, x.pkg)
				if out, err := cmd.CombinedOutput(); err != nil {
					errs[i] = fmt.Errorf("go build %s: %v\n%s", x.pkg, err, out)
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				bins.err = err
				return
			}
		}
		bins.serverA, bins.serverB, bins.workerA, bins.workerB = list[0].out, list[1].out, list[2].out, list[3].out
	})
	if bins.err != nil {
		t.Fatal(bins.err)
	}
}

// e2e is one lab: a data dir, a server process, worker processes.
type e2e struct {
	t          *testing.T
	data       string
	port       int
	url        string
	adminToken string
	wtokenFile string
	server     *exec.Cmd
	serverBin  string
	serverArgs []string
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func newE2E(t *testing.T, serverBin string, extra ...string) *e2e {
	build(t)
	e := &e2e{t: t, data: t.TempDir(), port: freePort(t)}
	e.url = fmt.Sprintf("http://127.0.0.1:%d", e.port)
	admin := func(args ...string) string {
		out, err := exec.Command(serverBin, append(args, "--data-dir", e.data)...).Output()
		if err != nil {
			t.Fatalf("lava-server %v: %v", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	e.adminToken = admin("user", "add", "admin", "--admin")
	wt := admin("worker", "add", "w1")
	e.wtokenFile = filepath.Join(e.data, "w1.token")
	must(t, os.WriteFile(e.wtokenFile, []byte(wt+"\n"), 0o600))
	admin("device-type", "add", "local")
	admin("device", "add", "d1", "--type", "local", "--worker", "w1", "--health", "good")
	e.serverArgs = append([]string{"serve", "--listen", fmt.Sprintf("127.0.0.1:%d", e.port), "--data-dir", e.data,
		"--poll-wait", "2s", "--worker-silent", "2s", "--worker-grace", "2s", "--worker-check", "200ms"}, extra...)
	e.startServer(serverBin)
	return e
}

func (e *e2e) startServer(bin string) {
	e.t.Helper()
	e.serverBin = bin
	cmd := exec.Command(bin, e.serverArgs...)
	logf, err := os.OpenFile(filepath.Join(e.data, "server.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	must(e.t, err)
	cmd.Stdout, cmd.Stderr = logf, logf
	must(e.t, cmd.Start())
	e.server = cmd
	e.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); logf.Close() })
	e.waitFor("the server to answer", 20*time.Second, func() bool {
		resp, err := http.Get(e.url + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == 200
	})
}

func (e *e2e) killServer(sig syscall.Signal) {
	e.server.Process.Signal(sig)
	e.server.Wait()
}

// worker starts a synthetic worker; url lets a test put a proxy between.
func (e *e2e) worker(bin, url, workDir string, env []string, args ...string) *exec.Cmd {
	e.t.Helper()
	cmd := exec.Command(bin, append([]string{"--url", url, "--name", "w1", "--token-file", e.wtokenFile, "--work-dir", workDir,
		"--poll-wait", "2s", "--retry-max", "300ms", "--log-interval", "50ms", "--mismatch-retry", "500ms"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	logf, err := os.OpenFile(filepath.Join(e.data, "worker.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	must(e.t, err)
	cmd.Stdout, cmd.Stderr = logf, logf
	must(e.t, cmd.Start())
	e.t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); logf.Close() })
	return cmd
}

func (e *e2e) waitFor(what string, within time.Duration, ok func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			e.dumpLogs()
			e.t.Fatalf("timed out after %s waiting for %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *e2e) dumpLogs() {
	for _, f := range []string{"server.log", "worker.log"} {
		b, _ := os.ReadFile(filepath.Join(e.data, f))
		if len(b) > 6000 {
			b = b[len(b)-6000:]
		}
		e.t.Logf("---- %s (tail) ----\n%s", f, b)
	}
}

func (e *e2e) api(method, path string, body []byte, out any) int {
	e.t.Helper()
	req, err := http.NewRequest(method, e.url+"/api/v1"+path, bytes.NewReader(body))
	must(e.t, err)
	req.Header.Set("Authorization", "Token "+e.adminToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/yaml")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode/100 == 2 {
		must(e.t, json.Unmarshal(b, out))
	}
	return resp.StatusCode
}

func (e *e2e) submit() int64 {
	e.t.Helper()
	def, err := os.ReadFile("../../examples/jobs/local-smoke.yaml")
	must(e.t, err)
	var out struct {
		ID  int64   `json:"id"`
		IDs []int64 `json:"ids"`
	}
	if st := e.api("POST", "/jobs", def, &out); st/100 != 2 {
		e.t.Fatalf("submit: %d", st)
	}
	if out.ID == 0 && len(out.IDs) > 0 {
		out.ID = out.IDs[0]
	}
	return out.ID
}

type jobView struct {
	State, Health, ErrorType, FailureComment string
}

func (e *e2e) job(id int64) jobView {
	var v struct {
		State          string `json:"state"`
		Health         string `json:"health"`
		ErrorType      string `json:"error_type"`
		FailureComment string `json:"failure_comment"`
	}
	e.api("GET", fmt.Sprintf("/jobs/%d", id), nil, &v)
	return jobView{v.State, v.Health, v.ErrorType, v.FailureComment}
}

func (e *e2e) logCount(id int64) int64 {
	var v struct {
		Total int64 `json:"total"`
	}
	e.api("GET", fmt.Sprintf("/jobs/%d/logs?limit=1", id), nil, &v)
	return v.Total
}

// checkLog checks the job's log is exactly lines synthetic records, each
// once, in order.
func (e *e2e) checkLog(id int64, lines int) {
	e.t.Helper()
	var all []string
	for start := 0; ; {
		var v struct {
			Next    int `json:"next"`
			Records []struct {
				Index int    `json:"index"`
				Msg   string `json:"msg"`
			} `json:"records"`
		}
		e.api("GET", fmt.Sprintf("/jobs/%d/logs?start=%d&limit=10000", id, start), nil, &v)
		for _, r := range v.Records {
			if r.Index != len(all) {
				e.t.Fatalf("record index %d at position %d", r.Index, len(all))
			}
			all = append(all, r.Msg)
		}
		if len(v.Records) == 0 {
			break
		}
		start = v.Next
	}
	if len(all) != lines {
		e.t.Fatalf("the log has %d records, want %d", len(all), lines)
	}
	for i, m := range all {
		if !strings.HasPrefix(m, fmt.Sprintf("line %d ", i)) {
			e.t.Fatalf("record %d is %q, want line %d", i, m, i)
		}
	}
}

func (e *e2e) device() (state, health string) {
	var v struct {
		State  string `json:"state"`
		Health string `json:"health"`
	}
	e.api("GET", "/devices/d1", nil, &v)
	return v.State, v.Health
}

func (e *e2e) workerState() (state, version string) {
	var v struct {
		State   string `json:"state"`
		Version string `json:"version"`
	}
	e.api("GET", "/workers/w1", nil, &v)
	return v.State, v.Version
}

func synthEnv(lines int, interval time.Duration) []string {
	return []string{fmt.Sprintf("LAVA_SYNTH_LINES=%d", lines), "LAVA_SYNTH_INTERVAL=" + interval.String()}
}

// TestServerKilledMidJob: kill -9 the server while the job streams logs,
// restart it: the job ends Complete with every record exactly once.
func TestServerKilledMidJob(t *testing.T) {
	build(t)
	e := newE2E(t, bins.serverA)
	const lines = 3000
	e.worker(bins.workerA, e.url, t.TempDir(), synthEnv(lines, time.Millisecond))
	id := e.submit()
	e.waitFor("some records", 20*time.Second, func() bool { return e.logCount(id) > 200 })
	e.killServer(syscall.SIGKILL)
	time.Sleep(1500 * time.Millisecond) // the worker keeps running and spooling
	e.startServer(bins.serverA)
	e.waitFor("the job to finish", 30*time.Second, func() bool { return e.job(id).State == "Finished" })
	if j := e.job(id); j.Health != "Complete" {
		t.Fatalf("job %+v, want Complete", j)
	}
	e.checkLog(id, lines)
}

// TestNetworkOutage: the worker is cut off from the server (a proxy drops
// every connection) for LAVA_TEST_OUTAGE (default 5 s; the figure
// is 30 s): the job ends Complete with every record exactly once.
func TestNetworkOutage(t *testing.T) {
	outage := 5 * time.Second
	if v := os.Getenv("LAVA_TEST_OUTAGE"); v != "" {
		d, err := time.ParseDuration(v)
		must(t, err)
		outage = d
	}
	// The worker must not be declared silent during the outage.
	build(t)
	e := newE2E(t, bins.serverA, "--worker-silent", (outage + 20*time.Second).String())
	p := testenv.NewDropProxy(t, e.url[len("http://"):])
	const lines = 2000
	e.worker(bins.workerA, p.URL(), t.TempDir(), synthEnv(lines, outage/1000))
	id := e.submit()
	e.waitFor("some records", 20*time.Second, func() bool { return e.logCount(id) > 100 })
	p.SetDown(true)
	time.Sleep(outage)
	p.SetDown(false)
	e.waitFor("the job to finish", 30*time.Second, func() bool { return e.job(id).State == "Finished" })
	if j := e.job(id); j.Health != "Complete" {
		t.Fatalf("job %+v, want Complete", j)
	}
	e.checkLog(id, lines)
}

// TestWorkerKilledMidJob: kill -9 the worker; the job ends Incomplete
// (Infrastructure) within silent + grace; the device is not left Reserved
// or Running and its health is Unknown.
func TestWorkerKilledMidJob(t *testing.T) {
	build(t)
	e := newE2E(t, bins.serverA)
	w := e.worker(bins.workerA, e.url, t.TempDir(), synthEnv(100000, time.Millisecond))
	id := e.submit()
	e.waitFor("some records", 20*time.Second, func() bool { return e.logCount(id) > 100 })
	w.Process.Kill()
	w.Wait()
	killed := time.Now()
	e.waitFor("the job to end", 20*time.Second, func() bool { return e.job(id).State == "Finished" })
	took := time.Since(killed)
	j := e.job(id)
	if j.Health != "Incomplete" || j.ErrorType != "Infrastructure" {
		t.Fatalf("job %+v, want Incomplete/Infrastructure", j)
	}
	state, health := e.device()
	if state != "Idle" || health != "Unknown" {
		t.Fatalf("device %s/%s, want Idle/Unknown", state, health)
	}
	t.Logf("job Incomplete %s after kill -9 (bound: silent 2 s + grace 2 s + check 0.2 s)", took.Round(100*time.Millisecond))
}

// TestWorkerRestartMidJob: kill -9 the worker and start it again at once:
// the spooled records are sent, the job ends Incomplete (interrupted) at
// once, not after the grace.
func TestWorkerRestartMidJob(t *testing.T) {
	build(t)
	e := newE2E(t, bins.serverA, "--worker-grace", "1h")
	dir := t.TempDir()
	w := e.worker(bins.workerA, e.url, dir, synthEnv(100000, time.Millisecond))
	id := e.submit()
	e.waitFor("some records", 20*time.Second, func() bool { return e.logCount(id) > 100 })
	w.Process.Kill()
	w.Wait()
	e.worker(bins.workerA, e.url, dir, synthEnv(10, time.Millisecond))
	e.waitFor("the job to end", 20*time.Second, func() bool { return e.job(id).State == "Finished" })
	j := e.job(id)
	if j.Health != "Incomplete" || !strings.Contains(j.FailureComment, "restarted") {
		t.Fatalf("job %+v, want Incomplete (worker restarted)", j)
	}
	if state, _ := e.device(); state != "Idle" {
		t.Fatalf("device %s, want Idle", state)
	}
}

// TestVersionMismatch: the server is upgraded while a job runs: the old
// worker goes Offline, its running job completes with its whole log, then
// the server answers "safe to stop" and the worker exits 0
// (--exit-on-version-mismatch).
func TestVersionMismatch(t *testing.T) {
	build(t)
	e := newE2E(t, bins.serverA)
	const lines = 2000
	w := e.worker(bins.workerA, e.url, t.TempDir(), synthEnv(lines, 2*time.Millisecond), "--exit-on-version-mismatch")
	id := e.submit()
	e.waitFor("some records", 20*time.Second, func() bool { return e.logCount(id) > 100 })
	e.killServer(syscall.SIGTERM)
	e.startServer(bins.serverB)
	e.waitFor("the worker to be seen Offline", 20*time.Second, func() bool { s, v := e.workerState(); return s == "Offline" && v == verA })
	e.waitFor("the job to finish", 30*time.Second, func() bool { return e.job(id).State == "Finished" })
	if j := e.job(id); j.Health != "Complete" {
		t.Fatalf("job %+v, want Complete", j)
	}
	e.checkLog(id, lines)
	done := make(chan error, 1)
	go func() { done <- w.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			e.dumpLogs()
			t.Fatalf("worker exit: %v, want 0", err)
		}
	case <-time.After(20 * time.Second):
		e.dumpLogs()
		t.Fatal("the worker did not exit on the safe-to-stop answer")
	}
	b, _ := os.ReadFile(filepath.Join(e.data, "worker.log"))
	if !strings.Contains(string(b), "safe to stop") {
		t.Errorf("the worker log does not say it is safe to stop")
	}
	// No job starts on it meanwhile: a new job stays queued.
	id2 := e.submit()
	time.Sleep(500 * time.Millisecond)
	if j := e.job(id2); j.State != "Submitted" {
		t.Errorf("a job submitted while the only worker is mismatched is %s, want Submitted", j.State)
	}
}

func sha256File(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	must(t, err)
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// TestAutoUpgrade: a worker of the old version, with --auto-upgrade,
// fetches the server's build, checks it, replaces itself and comes back
// Online on the new version, then runs a job.
func TestAutoUpgrade(t *testing.T) {
	build(t)
	binDir := t.TempDir()
	b, err := os.ReadFile(bins.workerB)
	must(t, err)
	must(t, os.WriteFile(filepath.Join(binDir, "lava-worker"), b, 0o755))
	build(t)
	e := newE2E(t, bins.serverB, "--worker-binaries", binDir)
	// The worker runs from its own copy, which it replaces.
	exeDir := t.TempDir()
	exe := filepath.Join(exeDir, "lava-worker")
	a, err := os.ReadFile(bins.workerA)
	must(t, err)
	must(t, os.WriteFile(exe, a, 0o755))
	e.worker(exe, e.url, t.TempDir(), synthEnv(50, time.Millisecond), "--auto-upgrade")
	e.waitFor("the worker to come back Online on the new version", 30*time.Second, func() bool {
		s, v := e.workerState()
		return s == "Online" && v == verB
	})
	if got, want := sha256File(t, exe), sha256File(t, bins.workerB); got != want {
		t.Fatalf("the worker executable is %s, want the server's build %s", got, want)
	}
	id := e.submit()
	e.waitFor("the job to finish", 20*time.Second, func() bool { return e.job(id).State == "Finished" })
	if j := e.job(id); j.Health != "Complete" {
		t.Fatalf("job %+v, want Complete", j)
	}
	e.checkLog(id, 50)
}

// TestSIGTERMStuckJob: a job whose runner ignores its cancel (a stuck
// driver or command): SIGTERM still stops the worker process within
// --shutdown-grace + StopBound. The restarted worker recovers the
// interrupted job (the runner's Recover runs before the end is reported)
// and the job ends Incomplete with its records, its device free.
func TestSIGTERMStuckJob(t *testing.T) {
	build(t)
	e := newE2E(t, bins.serverA, "--worker-grace", "1h")
	dir := t.TempDir()
	mark := filepath.Join(t.TempDir(), "recovered")
	const lines = 500
	w := e.worker(bins.workerA, e.url, dir, append(synthEnv(lines, time.Millisecond), "LAVA_SYNTH_STUCK=1"), "--shutdown-grace", "1s")
	id := e.submit()
	e.waitFor("every record", 20*time.Second, func() bool { return e.logCount(id) >= lines })
	start := time.Now()
	must(t, w.Process.Signal(syscall.SIGTERM))
	exited := make(chan error, 1)
	go func() { exited <- w.Wait() }()
	bound := time.Second + worker.StopBound + 5*time.Second
	select {
	case <-exited:
		t.Logf("worker stopped %s after SIGTERM with a stuck job", time.Since(start).Round(10*time.Millisecond))
	case <-time.After(bound):
		t.Fatalf("worker still runs %s after SIGTERM", bound)
	}
	if j := e.job(id); j.State != "Running" {
		t.Fatalf("job %+v after the worker stopped, want Running (its end is unreported)", j)
	}
	e.worker(bins.workerA, e.url, dir, append(synthEnv(10, time.Millisecond), "LAVA_SYNTH_RECOVER="+mark))
	e.waitFor("the job to end", 20*time.Second, func() bool { return e.job(id).State == "Finished" })
	j := e.job(id)
	if j.Health != "Incomplete" || !strings.Contains(j.FailureComment, "restarted") {
		t.Fatalf("job %+v, want Incomplete (worker restarted)", j)
	}
	if b, _ := os.ReadFile(mark); strings.TrimSpace(string(b)) != fmt.Sprint(id) {
		t.Fatalf("recovered jobs %q, want %d", b, id)
	}
	if n := e.logCount(id); n < lines+2 {
		t.Fatalf("%d records, want the %d lines, the restart notice and the recovery", n, lines)
	}
	if state, _ := e.device(); state != "Idle" {
		t.Fatalf("device %s, want Idle", state)
	}
}
