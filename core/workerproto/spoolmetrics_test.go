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
	st := workerproto.SpoolStatus{Failing: 1, Held: 1234, WriteErrors: 56, Lost: 7}
	_, err := l.client.Poll(context.Background(), workerproto.PollRequest{Running: []int64{}, Spool: &st}, 10*time.Millisecond)
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
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}
