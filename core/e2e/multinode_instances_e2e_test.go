package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lavalab/lavalab/core/testenv"
)

// TestMultinodeTwoServers (issue 21): two lava-server instances on one
// PostgreSQL database, each worker talking to its own instance (w1 to the
// first, which schedules; w2 to the second, --no-scheduler). A two-role
// job's sub-jobs, one on each worker, lava-sync and pass a value with
// lava-send/lava-wait through the store: Complete, the value recorded.
func TestMultinodeTwoServers(t *testing.T) {
	need(t)
	dsn := testenv.PostgresDSN(t)
	l := newLab(t, labOptions{postgresDSN: dsn, twoWorkers: true, noWorker: true})
	first, firstServer, firstLog, data := l.url, l.server, l.serverLog, l.data

	// The second instance: a data directory of its own (as on another
	// machine), the same drivers, the same database.
	second := t.TempDir()
	must(t, os.Symlink(filepath.Join(data, "drivers"), filepath.Join(second, "drivers")))
	args := l.serverArgs
	l.data, l.serverArgs = second, append(append([]string(nil), args...), "--no-scheduler")
	l.startServer()
	secondURL := l.url
	l.data, l.serverArgs, l.url, l.server, l.serverLog = data, args, first, firstServer, firstLog

	l.startWorkerNamed("w1")
	l.url = secondURL
	l.startWorkerNamed("w2")
	l.url = first

	ids := l.submitMultinode(l.multinodeJob("multinode on two servers",
		[]string{"lava-sync booted", "lava-send answer value=42", "lava-sync done"},
		[]string{"lava-sync booted", "lava-wait answer",
			`lava-test-case received --result pass --measurement "$(cut -d= -f2 /tmp/lava_multi_node_cache.txt)" --units things`,
			"lava-sync done"}))
	for _, id := range ids {
		if j := l.waitFinished(id); j.Health != "Complete" {
			t.Errorf("sub-job %d: %s (%s)\nlog tail:\n%s", id, j.Health, j.FailureComment, tail(logText(l.logs(id)), 30))
		}
	}
	if a, b := l.getJob(ids[0]), l.getJob(ids[1]); a.Worker == b.Worker {
		t.Errorf("both sub-jobs ran on %s: want one on each worker (each on its own server)", a.Worker)
	}
	found := false
	for _, c := range l.results(ids[1]) {
		if c.Name == "received" {
			found = true
			if c.Measurement == nil || *c.Measurement != 42 {
				t.Errorf("received: measurement %v, want 42", c.Measurement)
			}
		}
	}
	if !found {
		t.Errorf("the client sub-job recorded no case received")
	}
}
