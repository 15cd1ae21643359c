package e2e

// Issue 18: the virtual Cortex-M board (QEMU mps2-an385) through the real
// lava-server and lava-worker: a gdb-flashed firmware watched by two
// monitors, and a board that never prints the start string.
//
//	LAVALAB_E2E=1 go test -run TestMCUBoard -v ./core/e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/core/vlab"
)

// mcuWorkerArgs let the mcu device type run QEMU and gdb on the worker.
var mcuWorkerArgs = []string{"--allow-tool", "qemu-system-arm@mcu", "--allow-tool", "gdb-multiarch@mcu"}

func TestMCUBoard(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test with a QEMU board: not in -short")
	}
	if os.Getenv("LAVALAB_E2E") != "1" {
		t.Skip("end-to-end tests run with make test-e2e (LAVALAB_E2E=1)")
	}
	testenv.NeedTool(t, "qemu-system-arm")
	testenv.NeedTool(t, "gdb-multiarch")
	root := testenv.RepoRoot(t)
	for _, f := range []string{"lava-server", "lava-worker", "drivers/mcu.wasm"} {
		_, err := os.Stat(filepath.Join(root, "bin", f))
		testenv.Need(t, err == nil, fmt.Sprintf("bin/%s is missing: run make build (make test-e2e does)", f))
	}
	dir, err := vlab.CacheDir()
	testenv.Need(t, err == nil, fmt.Sprintf("no vlab image cache folder: %v", err))
	fw, err := vlab.OpenMCU(dir)
	testenv.Need(t, err == nil, fmt.Sprintf("the Cortex-M firmware is missing (make vlab-images): %v", err))

	l := &lab{t: t, top: t, root: root, data: t.TempDir(), httpClient: &http.Client{Timeout: 60 * time.Second}}
	l.cache = compileCache(t)
	files := httptest.NewServer(http.FileServer(http.Dir(filepath.Dir(fw.ELF))))
	t.Cleanup(files.Close)

	drv := filepath.Join(l.data, "drivers")
	must(t, os.MkdirAll(drv, 0o755))
	wasm, err := os.ReadFile(filepath.Join(root, "bin", "drivers", "mcu.wasm"))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(drv, "mcu.wasm"), wasm, 0o644))
	l.token = l.admin("user", "add", "admin", "--admin")
	must(t, os.WriteFile(filepath.Join(l.data, "w1.token"), []byte(l.admin("worker", "add", "w1")+"\n"), 0o600))
	l.admin("device-type", "add", "mcu")
	port := freePort(t)
	text, err := os.ReadFile(filepath.Join(root, "examples", "devices", "mcu-01.jinja2"))
	must(t, err)
	dict := filepath.Join(l.data, "mcu-01.jinja2")
	must(t, os.WriteFile(dict, []byte(strings.ReplaceAll(string(text), "18130", fmt.Sprint(port))), 0o644))
	l.admin("device", "add", "mcu-01", "--type", "mcu", "--worker", "w1", "--dict", dict, "--health", "good")
	l.startServer()
	startMCUWorker(t, l)

	jobText, err := os.ReadFile(filepath.Join(root, "examples", "jobs", "mcu-monitors.yaml"))
	must(t, err)
	job := strings.Replace(string(jobText), "http://127.0.0.1:8000/firmware.elf", files.URL+"/firmware.elf", 1)

	t.Run("gdb-monitors", func(t *testing.T) {
		l := l.with(t)
		id := l.submit(job)
		j := l.waitFinished(id)
		recs := l.logs(id)
		if j.Health != "Complete" {
			t.Fatalf("job %d: %s (%s), want Complete\n%s", id, j.Health, j.FailureComment, tail(logText(recs), 40))
		}
		want := map[string]string{"lava/lava-test-monitor-retry": "pass", "lava/gdb-boot": "pass"}
		for suite, cases := range vlab.MCUCases {
			for c, r := range cases {
				want[suite+"/"+c] = r
			}
		}
		wantCases(t, id, l.results(id), want)
		wantLog(t, id, recs, `running host tool gdb-multiarch -q -nx -batch \S+firmware.elf -ex 'target remote 127.0.0.1:\d+' -ex load`,
			`Running test suite drivers`, `FAIL - test_deliberate_failure`)
		wantQEMUGone(t, port)
	})

	t.Run("no-start-string", func(t *testing.T) {
		l := l.with(t)
		def := strings.Replace(job, "start: Running test suite kernel", "start: Running test suite missing", 1)
		def = strings.Replace(def, "- test:\n    timeout:\n      seconds: 60", "- test:\n    timeout:\n      seconds: 3", 1)
		id := l.submit(def)
		j := l.waitFinished(id)
		if j.Health != "Incomplete" || !strings.Contains(j.FailureComment, `the start string "Running test suite missing" was not found`) {
			t.Fatalf("job %d: %s (%s), want Incomplete naming the start string\n%s", id, j.Health, j.FailureComment, tail(logText(l.logs(id)), 30))
		}
		wantQEMUGone(t, port)
		d := l.device("mcu-01")
		if d.State != "Idle" || d.CurrentJob != nil {
			t.Errorf("device mcu-01 %s (job %v) after the job, want Idle", d.State, d.CurrentJob)
		}
	})
}

// startMCUWorker runs lava-worker w1 allowed to run QEMU and gdb for mcu.
func startMCUWorker(t *testing.T, l *lab) {
	work := filepath.Join(l.data, "worker")
	must(t, os.MkdirAll(work, 0o755))
	must(t, os.Symlink(l.cache, filepath.Join(work, "wasm-cache")))
	l.workerLog = filepath.Join(l.data, "worker.log")
	logf, err := os.Create(l.workerLog)
	must(t, err)
	args := append([]string{"--url", l.url, "--name", "w1", "--token-file", filepath.Join(l.data, "w1.token"),
		"--work-dir", work, "--drivers-dir", filepath.Join(l.data, "drivers"), "--poll-wait", "2s"}, mcuWorkerArgs...)
	cmd := exec.Command(filepath.Join(l.root, "bin", "lava-worker"), args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	must(t, cmd.Start())
	l.worker = cmd
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logf.Close() }()
	t.Cleanup(func() {
		stopProcess(cmd, exited, 30*time.Second)
		if t.Failed() {
			t.Logf("lava-worker log (tail):\n%s", tailFile(l.workerLog, 40))
		}
	})
}

// wantQEMUGone fails unless the board's QEMU (its gdb server) is gone once
// the job has ended: the job's end closed its console.
func wantQEMUGone(t *testing.T, port int) {
	t.Helper()
	if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
		c.Close()
		t.Errorf("QEMU's gdb server still answers on port %d after the job: the board was not powered off", port)
	}
}
