package web

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
)

// BenchmarkPages measures server time of the jobs list (100,000 jobs
// stored) and of a job page whose log holds 200,000 records (first screen
// only; the rest is streamed).
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
		})
	}
}
