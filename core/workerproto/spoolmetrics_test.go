package workerproto_test

import (
	"context"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/metrics"
	"github.com/lavalab/lavalab/core/workerproto"
)

// TestSpoolStatusInMetrics: the spool state a worker reports with its poll
// shows in the server's /metrics, by worker.
func TestSpoolStatusInMetrics(t *testing.T) {
	m := metrics.New()
	l := newLabWith(t, "v1", m)
	st := workerproto.SpoolStatus{Failing: 1, Held: 1234, WriteErrors: 56, Lost: 7, BacklogRecords: 4321, BacklogBytes: 987654}
	host := workerproto.HostStatus{DiskFreeBytes: 5 << 30, ArtifactCacheBytes: 3 << 20, ArtifactCacheHits: 12, ArtifactCacheMisses: 3, JobsRunning: 2}
	_, err := l.client.Poll(context.Background(), workerproto.PollRequest{Running: []int64{}, Spool: &st, Host: &host}, 10*time.Millisecond)
	must(t, err)
	hs := httptest.NewServer(m.Handler())
	defer hs.Close()
	r, err := hs.Client().Get(hs.URL)
	must(t, err)
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	must(t, err)
	for _, want := range []string{
		`lava_worker_spool_failing_jobs{worker="w1"} 1`,
		`lava_worker_spool_held_records{worker="w1"} 1234`,
		`lava_worker_spool_write_errors{worker="w1"} 56`,
		`lava_worker_spool_lost_records{worker="w1"} 7`,
		`lava_worker_spool_backlog_records{worker="w1"} 4321`,
		`lava_worker_spool_backlog_bytes{worker="w1"} 987654`,
		`lava_worker_disk_free_bytes{worker="w1"} 5.36870912e+09`,
		`lava_worker_artifact_cache_bytes{worker="w1"} 3.145728e+06`,
		`lava_worker_artifact_cache_hits{worker="w1"} 12`,
		`lava_worker_jobs_running{worker="w1"} 2`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	rep, ok := m.WorkerReport("w1")
	if !ok || !rep.HasHost || rep.DiskFreeBytes != 5<<30 || rep.SpoolBacklogRecords != 4321 || rep.ArtifactCacheMisses != 3 || rep.At.IsZero() {
		t.Errorf("last report of w1: %+v, %v", rep, ok)
	}
	if _, ok := m.WorkerReport("w2"); ok {
		t.Error("a report for a worker that sent none")
	}
}
