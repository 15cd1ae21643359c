package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/testenv"
)

// The fault suite (issue 13): real lava-server and lava-worker processes
// (bin/, make build) and the `local` device type (a shell on the worker
// host, no board), hit by the faults of a bad day in a lab. Each case
// asserts that nothing is lost: every record the job produced is stored
// once, in order, the job ends, and the device is freed.
//
//	LAVALAB_E2E=1 go test -run TestFaults -v ./core/e2e

// faultWorkerArgs are the extra lava-worker arguments of the fault suite's
// worker, in one place (e.g. what lets the `local` device type run its
// host shell).
var faultWorkerArgs = []string{"--allow-tool", "sh@local"}

// faultShutdownGrace is the worker's --shutdown-grace in the suite; a
// SIGTERM must stop it within this + worker.StopBound (3 s) + slack.
const faultShutdownGrace = 5 * time.Second

// stopWithin is the bound the SIGTERM cases hold the worker to.
const stopWithin = faultShutdownGrace + 3*time.Second + 5*time.Second

// proc is a lab process that can be killed and waited for.
type proc struct {
	cmd    *exec.Cmd
	exited chan error
	once   sync.Once
	err    error
}

func (p *proc) wait() error {
	p.once.Do(func() { p.err = <-p.exited })
	return p.err
}

// faultLab is a lab of one `local` device on worker w1, whose worker
// reaches the server through a TCP proxy that can cut the network.
type faultLab struct {
	*lab
	port    int    // the server's (kept across restarts)
	work    string // the worker's --work-dir
	tmpfs   bool   // work is a small tmpfs (root only)
	proxy   *testenv.DropProxy
	procs   *faultProcs
	workLog *os.File
}

// faultProcs are the lab's current processes (shared by the subtests'
// views of the lab).
type faultProcs struct {
	srv, wrk *proc
}

// needLocal skips (outside CI) or fails (CI=true) unless the fault suite
// can run: the opt-in and the binaries of make build.
func needLocal(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end fault suite with real processes: not in -short")
	}
	if os.Getenv("LAVALAB_E2E") != "1" {
		t.Skip("end-to-end tests run with make test-e2e (LAVALAB_E2E=1)")
	}
	root := testenv.RepoRoot(t)
	for _, f := range []string{"lava-server", "lava-worker", "drivers/local.wasm"} {
		_, err := os.Stat(filepath.Join(root, "bin", f))
		testenv.Need(t, err == nil, fmt.Sprintf("bin/%s is missing: run make build (make test-e2e does)", f))
	}
	return root
}

func newFaultLab(t *testing.T) *faultLab {
	root := needLocal(t)
	l := &lab{t: t, top: t, root: root, data: t.TempDir(), httpClient: &http.Client{Timeout: 60 * time.Second}}
	l.cache = compileCache(t)
	f := &faultLab{lab: l, port: freePort(t), procs: &faultProcs{}}
	l.url = fmt.Sprintf("http://127.0.0.1:%d", f.port)

	drv := filepath.Join(l.data, "drivers")
	must(t, os.MkdirAll(drv, 0o755))
	wasm, err := os.ReadFile(filepath.Join(root, "bin", "drivers", "local.wasm"))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(drv, "local.wasm"), wasm, 0o644))

	l.token = l.admin("user", "add", "admin", "--admin")
	must(t, os.WriteFile(filepath.Join(l.data, "w1.token"), []byte(l.admin("worker", "add", "w1")+"\n"), 0o600))
	l.admin("device-type", "add", "local")
	dict := filepath.Join(l.data, "local-01.yaml")
	must(t, os.WriteFile(dict, []byte(f.dictionary()), 0o644))
	l.admin("device", "add", "local-01", "--type", "local", "--worker", "w1", "--dict", dict, "--health", "good")

	// The worker's disk: a small tmpfs when root, to fill it up.
	f.work = filepath.Join(t.TempDir(), "worker")
	must(t, os.MkdirAll(f.work, 0o755))
	if os.Geteuid() == 0 {
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", f.work).CombinedOutput(); err == nil {
			f.tmpfs = true
			t.Cleanup(func() { _ = exec.Command("umount", "-l", f.work).Run() })
		} else {
			t.Logf("no tmpfs for the worker (%v: %s): the disk-full case will not run", err, strings.TrimSpace(string(out)))
		}
	}
	must(t, os.Symlink(l.cache, filepath.Join(f.work, "wasm-cache")))
	f.workLog, err = os.Create(filepath.Join(l.data, "worker.log"))
	must(t, err)
	l.workerLog = f.workLog.Name()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("lava-worker log (tail):\n%s", tailFile(l.workerLog, 60))
			t.Logf("lava-server log (tail):\n%s", tailFile(l.serverLog, 40))
		}
	})

	f.startServer()
	f.proxy = testenv.NewDropProxy(t, fmt.Sprintf("127.0.0.1:%d", f.port))
	f.startWorker()
	return f
}

// dictionary is the device's: its power off leaves the job id in
// DATA/power-off, and hangs while DATA/stuck exists (a stuck power
// switch).
func (f *faultLab) dictionary() string {
	d := f.data
	return "extends: local\nsettings:\n  hostname: local-01\n" +
		"  lava_test_results_dir: " + filepath.Join(d, "results-%s") + "\n" +
		"  power_on_command: echo power on local-01\n" +
		"  power_off_command: 'if [ -e " + filepath.Join(d, "stuck") + " ]; then sleep 60; fi; echo $LAVA_JOB_ID >> " + filepath.Join(d, "power-off") + "'\n"
}

// startServer starts lava-server on the lab's port (a restart keeps it).
func (f *faultLab) startServer() {
	t := f.t
	f.serverLog = filepath.Join(f.data, "server.log")
	logf, err := os.OpenFile(f.serverLog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	must(t, err)
	cmd := exec.Command(filepath.Join(f.root, "bin", "lava-server"), "serve", "--listen", fmt.Sprintf("127.0.0.1:%d", f.port),
		"--data-dir", f.data, "--drivers-dir", filepath.Join(f.data, "drivers"), "--driver-cache", f.cache,
		"--poll-wait", "2s", "--worker-silent", "60s", "--worker-grace", "1h", "--worker-check", "200ms",
		"--job-timeout-grace", "5s")
	cmd.Stdout, cmd.Stderr = logf, logf
	must(t, cmd.Start())
	p := &proc{cmd: cmd, exited: make(chan error, 1)}
	go func() { p.exited <- cmd.Wait(); logf.Close() }()
	f.procs.srv = p
	f.top.Cleanup(func() { _ = cmd.Process.Kill(); _ = p.wait() })
	deadline := time.Now().Add(5 * time.Minute)
	for {
		resp, err := http.Get(f.url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("lava-server exited before answering\n%s", tailFile(f.serverLog, 40))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("lava-server did not answer within 5 minutes\n%s", tailFile(f.serverLog, 40))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// startWorker starts lava-worker w1 through the proxy, on the lab's work
// dir (a restart resumes what the previous one left).
func (f *faultLab) startWorker() {
	t := f.t
	args := append([]string{"--url", f.proxy.URL(), "--name", "w1", "--token-file", filepath.Join(f.data, "w1.token"),
		"--work-dir", f.work, "--drivers-dir", filepath.Join(f.data, "drivers"),
		"--poll-wait", "2s", "--retry-max", "300ms", "--log-interval", "50ms",
		"--shutdown-grace", faultShutdownGrace.String()}, faultWorkerArgs...)
	cmd := exec.Command(filepath.Join(f.root, "bin", "lava-worker"), args...)
	cmd.Stdout, cmd.Stderr = f.workLog, f.workLog
	must(t, cmd.Start())
	p := &proc{cmd: cmd, exited: make(chan error, 1)}
	go func() { p.exited <- cmd.Wait() }()
	f.procs.wrk = p
	f.top.Cleanup(func() { _ = cmd.Process.Kill(); _ = p.wait() })
}

// sigterm sends SIGTERM to the worker and returns how long it took to exit.
func (f *faultLab) sigterm() time.Duration {
	start := time.Now()
	must(f.t, f.procs.wrk.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-waitChan(f.procs.wrk):
	case <-time.After(2 * time.Minute):
		f.t.Fatalf("lava-worker still runs 2 minutes after SIGTERM")
	}
	return time.Since(start)
}

func waitChan(p *proc) <-chan struct{} {
	c := make(chan struct{})
	go func() { _ = p.wait(); close(c) }()
	return c
}

// kill9 kills a process with SIGKILL and waits for it.
func kill9(p *proc) {
	_ = p.cmd.Process.Kill()
	_ = p.wait()
}

// localJob is a job of the local device: its test prints rec-1..rec-n,
// pausing pause every `every` lines, so the job runs for a while. Its job
// timeout is timeout seconds (the actions' at most that).
func localJob(name string, n, every int, pause string, timeout int) string {
	step := fmt.Sprintf("for i in $(seq 1 %d); do echo rec-$i; if [ $((i %% %d)) -eq 0 ]; then sleep %s; fi; done", n, every, pause)
	return fmt.Sprintf(`job_name: %s
device_type: local
visibility: public
timeouts:
  job:
    seconds: %d
actions:
- boot:
    method: minimal
    timeout:
      seconds: %d
- test:
    timeout:
      seconds: %d
    definitions:
    - repository:
        metadata:
          format: Lava-Test Test Definition 1.0
          name: fault
          description: "numbered records"
        run:
          steps:
          - %s
          - lava-test-case printed --result pass
      from: inline
      name: fault
      path: inline/fault.yaml
`, yamlQuote(name), timeout, min(timeout, 60), min(timeout, 240), yamlQuote(step))
}

var recRE = regexp.MustCompile(`^rec-(\d+)$`)

// records checks the job's log: indexes 0..len-1 with no gap, and the
// numbered records rec-1..rec-k each exactly once, in order, for some k
// (k == n when n > 0). It returns k.
func (f *faultLab) records(id int64, n int) int {
	f.t.Helper()
	recs := f.logs(id)
	k := 0
	for i, r := range recs {
		if r.Index != int64(i) {
			f.t.Fatalf("job %d: record %d has index %d: the log has a gap or a duplicate", id, i, r.Index)
		}
		m := recRE.FindStringSubmatch(strings.TrimSpace(r.Text()))
		if m == nil {
			continue
		}
		v, _ := strconv.Atoi(m[1])
		if v != k+1 {
			f.t.Fatalf("job %d: record %d is rec-%d after rec-%d: a record is lost or stored twice", id, i, v, k)
		}
		k = v
	}
	if n > 0 && k != n {
		f.t.Fatalf("job %d: %d numbered records stored, want %d", id, k, n)
	}
	return k
}

// deviceFreed waits until the device is Idle with no job.
func (f *faultLab) deviceFreed() {
	f.t.Helper()
	deadline := time.Now().Add(waitJobMax)
	for {
		d := f.device("local-01")
		if d.State == "Idle" && d.CurrentJob == nil {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("device local-01 %s/%s (job %v), want Idle and free", d.State, d.Health, d.CurrentJob)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

// waitRecords waits until at least n numbered records are stored.
func (f *faultLab) waitRecords(id int64, n int) {
	f.t.Helper()
	f.waitLog(id, regexp.MustCompile(fmt.Sprintf(`^rec-%d\s*$`, n)))
}

// metric returns the value of a /metrics sample (-1: absent).
func (f *faultLab) metric(sample string) float64 {
	resp, err := f.httpClient.Get(f.url + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			x, err := strconv.ParseFloat(v, 64)
			if err == nil {
				return x
			}
		}
	}
	return -1
}

// poweredOff reports whether the device's power off ran for job id.
func (f *faultLab) poweredOff(id int64) bool {
	b, _ := os.ReadFile(filepath.Join(f.data, "power-off"))
	for _, l := range strings.Fields(string(b)) {
		if l == strconv.FormatInt(id, 10) {
			return true
		}
	}
	return false
}

// TestFaults runs the fault suite on one lab, case after case.
func TestFaults(t *testing.T) {
	f := newFaultLab(t)

	t.Run("SIGTERMUnderLoad", func(t *testing.T) {
		f := f.with(t)
		id := f.submit(localJob("sigterm under load", 20000, 2000, "0.3", 300))
		f.waitRecords(id, 1000)
		took := f.sigterm()
		t.Logf("lava-worker stopped %s after SIGTERM while the job printed", took.Round(10*time.Millisecond))
		if took > stopWithin {
			t.Errorf("lava-worker took %s to stop, more than %s", took, stopWithin)
		}
		f.startWorker()
		j := f.waitFinished(id)
		k := f.records(id, 0)
		if j.Health != "Canceled" && j.Health != "Incomplete" {
			t.Errorf("job %d: %s, want Canceled (SIGTERM) or Incomplete (interrupted)", id, j.Health)
		}
		if !f.poweredOff(id) {
			t.Errorf("job %d: the device was not powered off", id)
		}
		f.deviceFreed()
		t.Logf("job %d %s with rec-1..rec-%d, each once", id, j.Health, k)
	})

	t.Run("KillWorker", func(t *testing.T) {
		f := f.with(t)
		id := f.submit(localJob("kill -9 worker", 20000, 1000, "0.5", 300))
		f.waitRecords(id, 1500)
		kill9(f.procs.wrk)
		if f.poweredOff(id) {
			t.Fatalf("job %d: powered off before the restart", id)
		}
		f.startWorker()
		j := f.waitFinished(id)
		if j.Health != "Incomplete" || !strings.Contains(j.FailureComment, "restarted") {
			t.Errorf("job %d: %s %q, want Incomplete (lava-worker restarted)", id, j.Health, j.FailureComment)
		}
		k := f.records(id, 0)
		if k < 1500 {
			t.Errorf("job %d: rec-1..rec-%d stored, but rec-1500 was stored before the kill", id, k)
		}
		if !f.poweredOff(id) {
			t.Errorf("job %d: the restarted worker did not power the device off", id)
		}
		wantLog(t, id, f.logs(id), `after the restart: powering the device off`, `lava-worker restarted while the job ran`)
		if _, err := os.Stat(filepath.Join(f.work, "dispatch", "jobs", strconv.FormatInt(id, 10))); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("job %d: its folder is still on the worker (%v)", id, err)
		}
		f.deviceFreed()
	})

	t.Run("KillServer", func(t *testing.T) {
		f := f.with(t)
		const n = 6000
		id := f.submit(localJob("kill -9 server", n, 1000, "0.5", 300))
		f.waitRecords(id, 1000)
		kill9(f.procs.srv)
		time.Sleep(2 * time.Second) // the job goes on; the worker spools
		f.startServer()
		j := f.waitFinished(id)
		if j.Health != "Complete" {
			t.Errorf("job %d: %s %q, want Complete", id, j.Health, j.FailureComment)
		}
		f.records(id, n)
		f.deviceFreed()
	})

	t.Run("NetworkCut", func(t *testing.T) {
		f := f.with(t)
		const n = 6000
		id := f.submit(localJob("network cut", n, 1000, "0.5", 300))
		f.waitRecords(id, 1000)
		f.proxy.SetDown(true)
		time.Sleep(5 * time.Second)
		f.proxy.SetDown(false)
		j := f.waitFinished(id)
		if j.Health != "Complete" {
			t.Errorf("job %d: %s %q, want Complete", id, j.Health, j.FailureComment)
		}
		f.records(id, n)
		f.deviceFreed()
	})

	t.Run("DiskFull", func(t *testing.T) {
		f := f.with(t)
		testenv.Need(t, f.tmpfs, "the disk-full case needs root to mount a small tmpfs as the worker's work dir")
		const n = 8000
		id := f.submit(localJob("disk full", n, 500, "0.5", 300))
		f.waitRecords(id, 500)
		filler := filepath.Join(f.work, "filler")
		fillDisk(t, filler)
		errs := `lava_worker_spool_write_errors{worker="w1"}`
		deadline := time.Now().Add(time.Minute)
		for f.metric(errs) <= 0 {
			if time.Now().After(deadline) {
				t.Fatalf("the worker's full disk does not show in /metrics (%s = %v)", errs, f.metric(errs))
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Logf("while the disk is full: %s = %v, held records = %v", errs, f.metric(errs), f.metric(`lava_worker_spool_held_records{worker="w1"}`))
		time.Sleep(2 * time.Second)
		must(t, os.Remove(filler))
		j := f.waitFinished(id)
		if j.Health != "Complete" {
			t.Errorf("job %d: %s %q, want Complete", id, j.Health, j.FailureComment)
		}
		f.records(id, n)
		wantLog(t, id, f.logs(id), `its disk refuses this job's log \(.*no space left on device\)`, `its disk takes this job's log again`)
		f.deviceFreed()
		if v := f.metric(`lava_worker_spool_lost_records{worker="w1"}`); v != 0 {
			t.Errorf("lava_worker_spool_lost_records = %v, want 0", v)
		}
		if !strings.Contains(tailFile(f.workerLog, 400), "writing to disk failed") {
			t.Errorf("the worker did not log the failing spool")
		}
	})

	t.Run("StuckPowerOffSIGTERMAndServerTimeout", func(t *testing.T) {
		f := f.with(t)
		stuck := filepath.Join(f.data, "stuck")
		must(t, os.WriteFile(stuck, nil, 0o644))
		// The job is over in a few seconds; its power off then hangs.
		id := f.submit(localJob("stuck power off", 10, 1000, "0", 40))
		f.waitJob(id, "powering off", func(j apiJob) bool {
			return j.State == "Running" && strings.Contains(logText(f.logs(id)), "finalize: power off")
		})
		took := f.sigterm()
		t.Logf("lava-worker stopped %s after SIGTERM during a stuck power off", took.Round(10*time.Millisecond))
		if took > stopWithin {
			t.Errorf("lava-worker took %s to stop, more than %s", took, stopWithin)
		}
		// No worker reports the end: the server ends the job once its
		// timeout (40 s) and the grace (5 s) are over.
		j := f.waitFinished(id)
		if j.Health != "Incomplete" || !strings.Contains(j.FailureComment, "timeout") {
			t.Errorf("job %d: %s %q, want Incomplete, ended by the server past its timeout", id, j.Health, j.FailureComment)
		}
		if j.StartTime != nil && j.EndTime != nil && j.EndTime.Sub(*j.StartTime) < 40*time.Second {
			t.Errorf("job %d ended %s after its start, before its 40 s timeout", id, j.EndTime.Sub(*j.StartTime))
		}
		f.deviceFreed()
		// The restarted worker powers the device off and reports what
		// it has; the server's end stands.
		must(t, os.Remove(stuck))
		f.startWorker()
		deadline := time.Now().Add(waitJobMax)
		for !f.poweredOff(id) {
			if time.Now().After(deadline) {
				t.Fatalf("job %d: the restarted worker did not power the device off", id)
			}
			time.Sleep(200 * time.Millisecond)
		}
		f.records(id, 10)
	})
}

// with returns the fault lab seen from a subtest.
func (f *faultLab) with(t *testing.T) *faultLab {
	c := *f
	c.lab = f.lab.with(t)
	return &c
}

// fillDisk writes path until the file system is full.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	fd, err := os.Create(path)
	must(t, err)
	defer fd.Close()
	buf := make([]byte, 1<<20)
	for {
		if _, err := fd.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling the disk: %v", err)
			}
			break
		}
	}
	// The last small blocks too.
	for _, n := range []int{64 << 10, 4 << 10, 512, 1} {
		for {
			if _, err := fd.Write(buf[:n]); err != nil {
				break
			}
		}
	}
}
