package workerproto_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/worker"
	"github.com/lavalab/lavalab/core/workerproto"
)

// panicRunner must not run: the tests only resume spools.
type panicRunner struct{}

func (panicRunner) Run(context.Context, workerproto.StartJob, worker.Sink) worker.Outcome {
	panic("a job was started")
}

// TestResumeAfterFullDisk: the worker died while its disk was full. Its
// spool holds fewer records (5) than it sent from memory (10, stored) and
// than its end report counts (15). The restarted worker cannot send the
// last 5: the job ends Incomplete with the count lost, not stuck waiting
// for records nobody has.
func TestResumeAfterFullDisk(t *testing.T) {
	l := newLab(t, "v1")
	ctx := context.Background()
	j, sj := l.startedJob(t)
	next, err := l.client.SendLogs(ctx, j.ID, sj.Token, 0, recs(0, 10))
	must(t, err)
	if next != 10 {
		t.Fatalf("next %d, want 10", next)
	}
	work := t.TempDir()
	dir := filepath.Join(work, "jobs", strconv.FormatInt(j.ID, 10))
	must(t, os.MkdirAll(dir, 0o700))
	write := func(name string, v any) {
		b, err := json.Marshal(v)
		must(t, err)
		must(t, os.WriteFile(filepath.Join(dir, name), b, 0o600))
	}
	write("start.json", sj)
	write("end.json", workerproto.EndReport{Health: "complete", LastIndex: 14})
	var log strings.Builder
	for _, r := range recs(0, 5) {
		b, err := json.Marshal(r)
		must(t, err)
		log.Write(append(b, '\n'))
	}
	log.WriteString(`{"lvl":"target","msg":"half a rec`) // cut by the full disk
	must(t, os.WriteFile(filepath.Join(dir, "log.jsonl"), []byte(log.String()), 0o600))
	must(t, os.WriteFile(filepath.Join(dir, "acked"), []byte("10\n"), 0o600))

	w, err := worker.NewWorker(worker.WorkerOptions{Client: l.client, WorkDir: work, Runner: panicRunner{},
		PollWait: 100 * time.Millisecond, RetryMin: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond})
	must(t, err)
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(20 * time.Second)
	for l.job(t, j.ID).State != model.JobFinished {
		if time.Now().After(deadline) {
			t.Fatalf("job %s 20 s after the restart, want Finished", l.job(t, j.ID).State)
		}
		time.Sleep(20 * time.Millisecond)
	}
	got := l.job(t, j.ID)
	if got.Health != model.JobIncomplete || !strings.Contains(got.FailureComment, "5 log records were lost") {
		t.Fatalf("job %s %q, want Incomplete, 5 records lost", got.Health, got.FailureComment)
	}
	if n, err := l.st.LogCount(ctx, j.ID); err != nil || n != 10 {
		t.Fatalf("%d records stored (%v), want the 10 sent", n, err)
	}
	for time.Now().Before(deadline) && len(w.Jobs()) > 0 {
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("the job's spool is still there once its end was acknowledged: %v", err)
	}
}
