package workerproto_test

import (
	"bufio"
	"context"
	"net"
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

// scrape reads the samples of a /metrics page: name{labels} -> value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if f, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = f
		}
	}
	return out
}

// TestWorkerMetricsEndpoint: a real worker with --metrics-listen serves its
// own /metrics (server reachable, disk free, spool backlog, jobs), and the
// server's /metrics shows the worker's last report.
func TestWorkerMetricsEndpoint(t *testing.T) {
	build(t)
	e := newE2E(t, bins.serverA)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	addr := ln.Addr().String()
	ln.Close()
	e.worker(bins.workerA, e.url, t.TempDir(), synthEnv(200, time.Millisecond), "--metrics-listen", addr)
	wurl := "http://" + addr + "/metrics"
	var got map[string]float64
	e.waitFor("the worker's /metrics to say the server answers", 30*time.Second, func() bool {
		got = scrape(t, wurl)
		return got["lava_worker_server_reachable"] == 1
	})
	id := e.submit()
	e.waitFor("the job to finish", 60*time.Second, func() bool { return e.job(id).State == "Finished" })
	e.waitFor("the backlog to drain", 30*time.Second, func() bool {
		got = scrape(t, wurl)
		return got["lava_worker_spool_backlog_records"] == 0 && got["lava_worker_jobs_running"] == 0
	})
	for _, name := range []string{"lava_worker_disk_free_bytes", "lava_worker_server_last_contact_timestamp_seconds"} {
		if got[name] <= 0 {
			t.Errorf("worker /metrics %s = %v, want > 0", name, got[name])
		}
	}
	for _, name := range []string{"lava_worker_spool_backlog_bytes", "lava_worker_artifact_cache_bytes", "lava_worker_spool_lost_records_total"} {
		if _, ok := got[name]; !ok {
			t.Errorf("worker /metrics lacks %s", name)
		}
	}
	// The server's fleet view: the worker's report, by worker.
	e.waitFor("the server to show the worker's disk", 30*time.Second, func() bool {
		return scrape(t, e.url+"/metrics")[`lava_worker_disk_free_bytes{worker="w1"}`] > 0
	})
}
