package workerproto_test

import (
	"bufio"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/workerproto"
)

// metric reads one sample of a metric without labels from the server's
// /metrics (-1 when absent).
func (e *e2e) metric(name string) float64 {
	e.t.Helper()
	resp, err := http.Get(e.url + "/metrics")
	must(e.t, err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			must(e.t, err)
			return f
		}
	}
	return -1
}

// TestMetricsMove: a real lava-server and synthetic worker; the log
// counters of /metrics grow by exactly the records (and their bytes) the
// job sent, and the submit-to-start histogram counts the job once.
func TestMetricsMove(t *testing.T) {
	build(t)
	e := newE2E(t, bins.serverA)
	recs0, bytes0, starts0 := e.metric("lava_log_records_ingested_total"), e.metric("lava_log_bytes_ingested_total"),
		e.metric("lava_job_submit_to_start_seconds_count")
	if recs0 != 0 || bytes0 != 0 || starts0 != 0 {
		t.Fatalf("before any job: records %v, bytes %v, starts %v; want 0 each", recs0, bytes0, starts0)
	}
	const lines = 500
	e.worker(bins.workerA, e.url, t.TempDir(), synthEnv(lines, time.Millisecond))
	id := e.submit()
	e.waitFor("the job to finish", 60*time.Second, func() bool { return e.job(id).State == "Finished" })
	e.checkLog(id, lines)
	if got := e.metric("lava_log_records_ingested_total"); got != lines {
		t.Errorf("lava_log_records_ingested_total = %v, want %d", got, lines)
	}
	if got := e.metric("lava_log_bytes_ingested_total"); got != lines*80 {
		t.Errorf("lava_log_bytes_ingested_total = %v, want %d (80-byte lines)", got, lines*80)
	}
	if got := e.metric("lava_job_submit_to_start_seconds_count"); got != 1 {
		t.Errorf("lava_job_submit_to_start_seconds_count = %v, want 1", got)
	}
}

// countingObserver counts what the server reports.
type countingObserver struct {
	recs, bytes, starts chan int
}

func (o *countingObserver) ObserveLogs(n, b int) { o.recs <- n; o.bytes <- b }
func (o *countingObserver) ObserveJobStarted(j model.Job) {
	if j.StartTime.IsZero() || j.SubmitTime.IsZero() {
		panic("ObserveJobStarted without times")
	}
	o.starts <- 1
}

// TestObserverResends: a replayed or overlapping batch and a resent start
// are not counted twice.
func TestObserverResends(t *testing.T) {
	obs := &countingObserver{recs: make(chan int, 100), bytes: make(chan int, 100), starts: make(chan int, 100)}
	l := newLabWith(t, "v1", obs)
	ctx := context.Background()
	j, sj := l.startedJob(t)
	must(t, l.client.Start(ctx, j.ID, sj.Token)) // resent start
	batch := recs(0, 10)
	if _, err := l.client.SendLogs(ctx, j.ID, sj.Token, 0, batch); err != nil {
		t.Fatal(err)
	}
	if _, err := l.client.SendLogs(ctx, j.ID, sj.Token, 0, batch); err != nil { // replay
		t.Fatal(err)
	}
	if _, err := l.client.SendLogs(ctx, j.ID, sj.Token, 5, recs(5, 10)); err != nil { // overlap
		t.Fatal(err)
	}
	if _, err := l.client.SendLogs(ctx, j.ID, sj.Token, 20, recs(20, 1)); code(err) != workerproto.CodeLogGap {
		t.Fatalf("gap: %v", err)
	}
	total, starts, bytes := 0, 0, 0
	for len(obs.recs) > 0 {
		total += <-obs.recs
		bytes += <-obs.bytes
	}
	for len(obs.starts) > 0 {
		starts += <-obs.starts
	}
	if total != 15 || starts != 1 {
		t.Fatalf("observed %d records, %d starts; want 15 and 1", total, starts)
	}
	want := 0
	for _, r := range append(batch, recs(10, 5)...) {
		want += len(r.Message)
	}
	if bytes != want {
		t.Fatalf("observed %d bytes, want %d", bytes, want)
	}
}
