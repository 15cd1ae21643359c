package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/testlab"
)

// nativeJob is a job on the native test driver's device type: one boot
// action, whose plan (the driver's) has no step, so it needs no board.
const nativeJob = `job_name: native driver on a worker
device_type: native-board
priority: medium
visibility: public
timeouts:
  job:
    minutes: 3
actions:
- boot:
    method: minimal
    timeout:
      seconds: 60
`

// TestNativeDriverJob runs real lava-server and lava-worker processes with
// the native test driver (plugins/native/testdata/plugin, built here)
// listed on both: the server with --native-drivers serves it for device
// type native-board and pins jobs to its SHA-256; the worker, whose
// --native-drivers list has no entry yet, ends the first job Incomplete
// with an error naming the driver, its SHA-256 and the fix; once the
// worker's admin lists the binary (its own copy), the next job runs on the
// worker to Complete with that driver, without a restart.
func TestNativeDriverJob(t *testing.T) {
	if testing.Short() {
		t.Skip("real lava-server and lava-worker processes: not in -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	bins, err := testlab.Build(ctx)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(bins.Dir) })
	serverBin, sha := buildNativePlugin(t, t.TempDir())
	serverList := filepath.Join(t.TempDir(), "server-native.yaml")
	writeNativeList(t, serverList, [2]string{serverBin, sha})
	// The worker's admin installs the same build on the worker.
	workerBin := filepath.Join(t.TempDir(), "native-test")
	b, err := os.ReadFile(serverBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(workerBin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	workerList := filepath.Join(t.TempDir(), "worker-native.yaml")
	writeNativeList(t, workerList)

	l := testlab.Start(t, testlab.Options{Bins: bins,
		ServerArgs: []string{"--native-drivers", serverList},
		WorkerArgs: []string{"--native-drivers", workerList},
		Setup: func(l *testlab.Lab) {
			dict := filepath.Join(l.Data, "native-01.yaml")
			if err := os.WriteFile(dict, []byte("extends: native-board\nsettings:\n  hostname: native-01\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			l.Admin("device-type", "add", "native-board")
			l.Admin("device", "add", "native-01", "--type", "native-board", "--worker", testlab.Worker, "--dict", dict, "--health", "good")
		}})

	id := l.Submit(nativeJob)
	j := l.WaitJob(id, "Finished", 3*time.Minute)
	if j.Health != "Incomplete" || j.Device != "native-01" {
		t.Fatalf("job %d without the binary on the worker: %+v, want Incomplete on native-01", id, j)
	}
	t.Logf("job %d without the binary on the worker: %s", id, j.FailureComment)
	for _, w := range []string{"driver native-test 1.0.0 (sha256 " + sha + ") for device type native-board is a native driver",
		"no binary with that SHA-256", "sha256: " + sha + "} to " + workerList} {
		if !strings.Contains(j.FailureComment, w) {
			t.Errorf("failure comment lacks %q:\n%s", w, j.FailureComment)
		}
	}

	writeNativeList(t, workerList, [2]string{workerBin, sha})
	id = l.Submit(nativeJob)
	j = l.WaitJob(id, "Finished", 3*time.Minute)
	if j.Health != "Complete" || j.Device != "native-01" {
		t.Fatalf("job %d with the binary listed on the worker: %+v, want Complete on native-01", id, j)
	}
	log := jobLog(t, l, id)
	for _, w := range []string{
		fmt.Sprintf("device type native-board, driver native-test/1.0.0 (native, sha256 %s)", sha[:12]),
		"driver plan for minimal-boot: 0 step(s)",
		"job " + fmt.Sprint(id) + ": Complete",
	} {
		if !strings.Contains(log, w) {
			t.Errorf("job %d log lacks %q:\n%s", id, w, log)
		}
	}
	// The native driver ran on the worker (its stderr is in the worker's log).
	wlog, err := os.ReadFile(filepath.Join(l.Data, "lava-worker.log"))
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("native planning job %d", id); !strings.Contains(string(wlog), want) {
		t.Errorf("lava-worker.log lacks %q", want)
	}
}

// jobLog returns the messages of a job's log, one a line.
func jobLog(t *testing.T, l *testlab.Lab, id int64) string {
	t.Helper()
	var res struct {
		Records []struct {
			Msg json.RawMessage `json:"msg"`
		} `json:"records"`
	}
	if st := l.API("GET", fmt.Sprintf("/jobs/%d/logs?limit=10000", id), nil, &res); st != 200 {
		t.Fatalf("job %d logs: HTTP %d", id, st)
	}
	var sb strings.Builder
	for _, r := range res.Records {
		var s string
		if json.Unmarshal(r.Msg, &s) != nil {
			s = string(r.Msg)
		}
		sb.WriteString(s + "\n")
	}
	return sb.String()
}
