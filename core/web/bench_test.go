package web

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
)

// cpuTime is the process's user+system CPU time so far: the benchmarks
// report it per operation next to the wall time, because the wall time of
// a loaded machine says little (the server runs in the test process).
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkPages measures server time of the jobs list (100,000 jobs
// stored) and of a job page whose log holds 200,000 records (first screen
// only; the rest is streamed). cpu-ms/op is the CPU the request took
// (server and client in this process).
func BenchmarkPages(b *testing.B) {
	e := newEnv(b, nil)
	ctx := context.Background()
	batch := make([]model.Job, 1000)
	for i := range batch {
		batch[i] = model.Job{Description: fmt.Sprintf("bench job %d", i), Definition: qemuJob, RequestedDeviceType: "qemu",
			Submitter: "bob", Visibility: model.VisibilityPublic, Priority: 50}
	}
	for range 100 {
		if _, err := e.st.CreateJobs(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	j := e.running("bob", "long log", "public")
	recs := make([]model.LogRecord, 10000)
	for n := int64(0); n < 200000; n += int64(len(recs)) {
		for i := range recs {
			recs[i] = model.LogRecord{Time: time.Now(), Level: model.LevelTarget, Message: fmt.Sprintf("[%8d.000] a console line of a long job log", n+int64(i))}
		}
		if _, err := e.st.AppendLogs(ctx, j.ID, n, recs); err != nil {
			b.Fatal(err)
		}
	}
	c := e.login("dave")
	for _, p := range []string{"/jobs", "/jobs?page=1000", "/jobs?q=job+99&state=submitted", fmt.Sprintf("/jobs/%d", j.ID), "/"} {
		b.Run(p, func(b *testing.B) {
			cpu := cpuTime(b)
			for b.Loop() {
				r, err := c.c.Get(e.srv.URL + p)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, r.Body)
				r.Body.Close()
				if r.StatusCode != http.StatusOK {
					b.Fatalf("%s: %d", p, r.StatusCode)
				}
			}
			b.ReportMetric(float64(cpuTime(b)-cpu)/float64(b.N)/1e6, "cpu-ms/op")
		})
	}
}

// BenchmarkLiveLog measures how long a record stored by the log ingest
// (what a worker's batch becomes) takes to reach a browser following the
// job's live log (/jobs/{id}/log/stream, Server-Sent Events): one op is
// one record appended and read back from the stream.
func BenchmarkLiveLog(b *testing.B) {
	e := newEnv(b, nil)
	j := e.running("bob", "live", "public")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/jobs/%d/log/stream", e.srv.URL, j.ID), nil)
	if err != nil {
		b.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	var worst time.Duration
	next := int64(0)
	for b.Loop() {
		start := time.Now()
		e.appendLogs(j.ID, next, fmt.Sprintf("target|line %d", next))
		want := fmt.Sprintf(`"m":"line %d"`, next)
		for {
			if !sc.Scan() {
				b.Fatalf("stream ended: %v", sc.Err())
			}
			if strings.HasPrefix(sc.Text(), "data:") && strings.Contains(sc.Text(), want) {
				break
			}
		}
		worst = max(worst, time.Since(start))
		next++
	}
	b.ReportMetric(float64(worst.Microseconds())/1000, "max-ms")
}
