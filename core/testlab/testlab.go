package testlab

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Bins are the binaries a lab runs.
type Bins struct {
	Dir     string // holds them all; remove it when done
	Server  string // lava-server
	Worker  string // lava-worker
	Drivers string // driver modules (.wasm): local.wasm
}

// Build builds lava-server, lava-worker and the local driver from the
// module that holds this package into a new temporary folder. Call it once
// from TestMain (it takes a while) and remove Bins.Dir afterwards.
func Build(ctx context.Context) (Bins, error) {
	dir, err := os.MkdirTemp("", "testlab-bin-")
	if err != nil {
		return Bins{}, fmt.Errorf("testlab: %w", err)
	}
	b := Bins{Dir: dir, Server: filepath.Join(dir, "lava-server"), Worker: filepath.Join(dir, "lava-worker"),
		Drivers: filepath.Join(dir, "drivers")}
	builds := []struct {
		out, pkg string
		env      []string
	}{
		{b.Server, "github.com/lavalab/lavalab/cmd/lava-server", nil},
		{b.Worker, "github.com/lavalab/lavalab/cmd/lava-worker", nil},
		{filepath.Join(b.Drivers, "local.wasm"), "github.com/lavalab/lavalab/devicetypes/local", []string{"GOOS=wasip1", "GOARCH=wasm"}},
	}
	errs := make([]error, len(builds))
	var wg sync.WaitGroup
	for i, x := range builds {
		wg.Go(func() {
			cmd := exec.CommandContext(ctx, "go", "build", "-o", x.out, x.pkg)
			cmd.Env = append(os.Environ(), x.env...)
			if out, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("testlab: go build %s: %w\n%s", x.pkg, err, out)
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			os.RemoveAll(dir)
			return Bins{}, err
		}
	}
	return b, nil
}

// BuildFor is Build for one test or benchmark: it fails tb on an error
// (within 10 minutes) and removes the binaries at tb's cleanup.
func BuildFor(tb testing.TB) Bins {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	b, err := Build(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(b.Dir) })
	return b
}

// Options say what lab to start.
type Options struct {
	Bins Bins
	// DB is lava-server's --db: "" for SQLite in the lab's data folder.
	DB string
	// Setup runs admin commands (Lab.Admin) before the server starts.
	Setup func(l *Lab)
	// ServerArgs are more `lava-server serve` flags.
	ServerArgs []string
	// NoWorker starts no lava-worker (StartWorker starts it later).
	NoWorker bool
	// WorkerArgs are more lava-worker flags.
	WorkerArgs []string
	// WorkerHUPIgnored starts lava-worker with SIGHUP ignored, as nohup
	// and some supervisors start it (the ignore is inherited by its
	// children unless the worker gives them the default back).
	WorkerHUPIgnored bool
	// Existing is the API token of an admin of a store that already holds
	// a lab (a restored backup, in DB or a data folder Setup fills): Start
	// creates no user, worker or device and starts no worker.
	Existing string
}

// Worker and Device name the lab's worker and its `local` device.
const (
	Worker = "local-worker"
	Device = "local-01"
)

// Lab is a running lava-server with an admin user, and a lava-worker
// (Worker) serving one `local` device (Device, health Good).
type Lab struct {
	t          testing.TB
	o          Options
	Data       string // the server's data folder (server.log, worker.log)
	URL        string // http://127.0.0.1:port
	AdminToken string // API token of user "admin" (an admin)
	tokenFile  string
	server     *exec.Cmd
}

// KillServer kills lava-server with SIGKILL (no shutdown of any kind) and
// waits for it to be gone.
func (l *Lab) KillServer() {
	l.t.Helper()
	if err := l.server.Process.Kill(); err != nil {
		l.t.Fatalf("killing lava-server: %v", err)
	}
	_ = l.server.Wait()
}

// RestartServer starts lava-server again on the same address and store.
func (l *Lab) RestartServer() {
	l.t.Helper()
	l.startServer()
}

// Start starts a lab; everything stops at the test's cleanup, and the
// server's and worker's logs are printed when the test failed.
func Start(t testing.TB, o Options) *Lab {
	t.Helper()
	l := &Lab{t: t, o: o, Data: t.TempDir()}
	if o.Existing != "" {
		l.AdminToken = o.Existing
		if o.Setup != nil {
			o.Setup(l)
		}
		t.Cleanup(func() {
			if t.Failed() {
				l.dumpLogs()
			}
		})
		l.startServer()
		return l
	}
	l.AdminToken = l.Admin("user", "add", "admin", "--admin")
	l.tokenFile = filepath.Join(l.Data, "worker.token")
	if err := os.WriteFile(l.tokenFile, []byte(l.Admin("worker", "add", Worker)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The test overlay goes under the lab's folder, not a shared /tmp path.
	dict := filepath.Join(l.Data, Device+".yaml")
	if err := os.WriteFile(dict, []byte(fmt.Sprintf(`extends: local
settings:
  hostname: %s
  lava_test_results_dir: %s
  power_on_command: echo power on
  power_off_command: echo power off
`, Device, filepath.Join(l.Data, "lava-%s"))), 0o600); err != nil {
		t.Fatal(err)
	}
	l.Admin("device-type", "add", "local")
	l.Admin("device", "add", Device, "--type", "local", "--worker", Worker, "--dict", dict, "--health", "good")
	if o.Setup != nil {
		o.Setup(l)
	}
	t.Cleanup(func() {
		if t.Failed() {
			l.dumpLogs()
		}
	})
	l.startServer()
	if !o.NoWorker {
		l.StartWorker()
	}
	return l
}

// Admin runs a lava-server admin command on the lab's store and returns
// its output, trimmed.
func (l *Lab) Admin(args ...string) string {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, l.o.Bins.Server, append(args, "--data-dir", l.Data, "--db", l.o.DB)...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		l.t.Fatalf("lava-server %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return strings.TrimSpace(out.String())
}

// logFile opens one of the lab's log files for appending.
func (l *Lab) logFile(name string) *os.File {
	f, err := os.OpenFile(filepath.Join(l.Data, name), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		l.t.Fatal(err)
	}
	return f
}

// process starts a command that is interrupted (then killed) at cleanup.
func (l *Lab) process(name string, args []string, stderr io.Writer) *exec.Cmd {
	l.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, name, args...)
	base := filepath.Base(name)
	if base == "sh" && len(args) > 2 {
		base = filepath.Base(args[2]) // a wrapped command logs under its own name
	}
	logf := l.logFile(base + ".log")
	cmd.Stdout = logf
	cmd.Stderr = logf
	if stderr != nil {
		cmd.Stderr = io.MultiWriter(logf, stderr)
	}
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		cancel()
		logf.Close()
		l.t.Fatalf("starting %s: %v", name, err)
	}
	l.t.Cleanup(func() { cancel(); _ = cmd.Wait(); logf.Close() })
	return cmd
}

func (l *Lab) startServer() {
	l.t.Helper()
	pr, pw := io.Pipe()
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
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	l.t.Cleanup(func() { pw.Close() })
	// The drivers' compilation cache is shared by the labs of one build.
	listen := "127.0.0.1:0"
	if l.URL != "" {
		listen = strings.TrimPrefix(l.URL, "http://") // a restart keeps the address
	}
	args := append([]string{"serve", "--listen", listen, "--data-dir", l.Data, "--db", l.o.DB,
		"--driver-cache", filepath.Join(l.o.Bins.Dir, "driver-cache")}, l.o.ServerArgs...)
	l.server = l.process(l.o.Bins.Server, args, pw)
	select {
	case l.URL = <-urlc:
	case <-time.After(2 * time.Minute): // a bound for a broken server on a loaded machine (Start's cleanup prints the logs)
		l.t.Fatal("lava-server did not start listening within 2 minutes")
	}
}

// StartWorker starts lava-worker for Worker with the local driver.
func (l *Lab) StartWorker() {
	l.t.Helper()
	name, args := l.o.Bins.Worker, append([]string{"--url", l.URL, "--name", Worker, "--token-file", l.tokenFile,
		"--work-dir", filepath.Join(l.Data, "worker"), "--drivers-dir", l.o.Bins.Drivers, "--retry-max", "500ms",
		"--allow-tool", "sh@local"}, l.o.WorkerArgs...)
	if l.o.WorkerHUPIgnored {
		// sh sets SIGHUP ignored; exec keeps it so for lava-worker.
		name, args = "/bin/sh", append([]string{"-c", `trap '' HUP; exec "$0" "$@"`, name}, args...)
	}
	l.process(name, args, nil)
}

func (l *Lab) dumpLogs() {
	for _, f := range []string{"lava-server.log", "lava-worker.log"} {
		b, _ := os.ReadFile(filepath.Join(l.Data, f))
		if len(b) > 8000 {
			b = b[len(b)-8000:]
		}
		l.t.Logf("---- %s (tail) ----\n%s", f, b)
	}
}

// API calls /api/v1 as admin; out (if not nil) gets a 2xx JSON answer. It
// returns the HTTP status.
func (l *Lab) API(method, path string, body []byte, out any) int {
	l.t.Helper()
	req, err := http.NewRequest(method, l.URL+"/api/v1"+path, bytes.NewReader(body))
	if err != nil {
		l.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Token "+l.AdminToken)
	if body != nil {
		req.Header.Set("Content-Type", "application/yaml")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		l.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		l.t.Fatalf("%s %s: %v", method, path, err)
	}
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(b, out); err != nil {
			l.t.Fatalf("%s %s: %v\n%s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

// Submit submits a job definition as admin and returns its id.
func (l *Lab) Submit(definition string) int64 {
	l.t.Helper()
	var res struct {
		ID int64 `json:"id"`
	}
	if st := l.API("POST", "/jobs", []byte(definition), &res); st != http.StatusCreated || res.ID == 0 {
		l.t.Fatalf("submitting a job: HTTP %d", st)
	}
	return res.ID
}

// JobState is a job's state and health as /api/v1 names them.
type JobState struct {
	State, Health, Device, FailureComment string
}

// Job reads a job's state.
func (l *Lab) Job(id int64) JobState {
	l.t.Helper()
	var v struct {
		State          string `json:"state"`
		Health         string `json:"health"`
		Device         string `json:"actual_device"`
		FailureComment string `json:"failure_comment"`
	}
	if st := l.API("GET", fmt.Sprintf("/jobs/%d", id), nil, &v); st != http.StatusOK {
		l.t.Fatalf("job %d: HTTP %d", id, st)
	}
	return JobState{v.State, v.Health, v.Device, v.FailureComment}
}

// WaitJob waits until the job reaches state (Running, Finished, ...) and
// returns it; the limit only keeps a broken lab from hanging the test.
func (l *Lab) WaitJob(id int64, state string, within time.Duration) JobState {
	l.t.Helper()
	deadline := time.Now().Add(within)
	for {
		j := l.Job(id)
		if j.State == state || (j.State == "Finished" && state != "Finished") {
			return j
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("job %d is %s after %s, want %s; the end of its log:\n%s", id, j.State, within, state, l.logTail(id, 40))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// logTail is the last n records of a job's log, a line each (what a
// job stuck in some step was doing), or why it could not be read.
func (l *Lab) logTail(id int64, n int) string {
	type page struct {
		Total   int64 `json:"total"`
		Records []struct {
			DT  string          `json:"dt"`
			Lvl string          `json:"lvl"`
			Msg json.RawMessage `json:"msg"` // a string, or a mapping for results
		} `json:"records"`
	}
	var head page
	if code := l.API("GET", fmt.Sprintf("/jobs/%d/logs?limit=1", id), nil, &head); code != http.StatusOK {
		return fmt.Sprintf("(reading the log: HTTP %d)", code)
	}
	var tail page
	if code := l.API("GET", fmt.Sprintf("/jobs/%d/logs?start=%d&limit=%d", id, max(head.Total-int64(n), 0), n), nil, &tail); code != http.StatusOK {
		return fmt.Sprintf("(reading the log: HTTP %d)", code)
	}
	var b strings.Builder
	for _, r := range tail.Records {
		fmt.Fprintf(&b, "%s %-8s %s\n", r.DT, r.Lvl, r.Msg)
	}
	return b.String()
}

// QuickJob is a `local` job of a minimal boot and an inline test that runs
// steps (shell lines): a job whose work takes as long as its steps do.
func QuickJob(name string, steps ...string) string {
	var run strings.Builder
	for _, st := range steps {
		run.WriteString("          - " + st + "\n")
	}
	return fmt.Sprintf(`job_name: %s
device_type: local
visibility: public
timeouts:
  job:
    minutes: 2
actions:
- boot:
    method: minimal
    timeout:
      seconds: 60
- test:
    timeout:
      seconds: 60
    definitions:
    - repository:
        metadata:
          format: Lava-Test Test Definition 1.0
          name: quick
        run:
          steps:
%s      from: inline
      name: quick
      path: inline/quick.yaml
`, name, run.String())
}

// LocalJob is a `local` job whose inline test prints a line a second for
// ticks seconds, then reports test cases (one with a measurement) smoke.tick
// pass, smoke.uname pass, smoke.speed with 8.5 MB/s, smoke.broken fail.
func LocalJob(name string, ticks int) string {
	return fmt.Sprintf(`job_name: %s
device_type: local
priority: medium
visibility: public
timeouts:
  job:
    minutes: 5
  action:
    minutes: 2
actions:
- boot:
    method: minimal
    prompts:
    - 'lava-local\$ '
    timeout:
      seconds: 60
- test:
    timeout:
      minutes: 3
    definitions:
    - repository:
        metadata:
          format: Lava-Test Test Definition 1.0
          name: smoke
          description: "a test that takes its time"
        run:
          steps:
          - for i in $(seq 1 %d); do echo "tick $i of %d"; sleep 1; done
          - lava-test-case tick --result pass
          - lava-test-case uname --shell uname -s
          - lava-test-case speed --result pass --measurement 8.5 --units MB/s
          - lava-test-case broken --shell false
      from: inline
      name: smoke
      path: inline/smoke.yaml
`, name, ticks, ticks)
}
