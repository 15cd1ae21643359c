package retention

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/store/sqlite"
)

func TestParseAge(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		bad  bool
	}{
		{in: "180d", want: 180 * 24 * time.Hour},
		{in: "2w", want: 14 * 24 * time.Hour},
		{in: "36h", want: 36 * time.Hour},
		{in: " 90m ", want: 90 * time.Minute},
		{in: "0d", bad: true},
		{in: "-3d", bad: true},
		{in: "d", bad: true},
		{in: "180", bad: true},
		{in: "1.5d", bad: true},
		{in: "", bad: true},
	} {
		got, err := ParseAge(tc.in)
		if tc.bad != (err != nil) || got != tc.want {
			t.Errorf("ParseAge(%q) = %v, %v; want %v (error: %v)", tc.in, got, err, tc.want, tc.bad)
		}
	}
	if s := FormatAge(180 * 24 * time.Hour); s != "180d" {
		t.Errorf("FormatAge(180d) = %q", s)
	}
}

// TestRunBatches removes old jobs over several batches and keeps the
// recent ones; a dry run first changes nothing.
func TestRunBatches(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "lava.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.CreateDeviceType(ctx, model.DeviceType{Name: "qemu"}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	var batch []model.Job
	for i := range 25 {
		at := now.Add(-40 * 24 * time.Hour)
		if i >= 20 {
			at = now
		}
		batch = append(batch, model.Job{RequestedDeviceType: "qemu", Definition: "x", SubmitTime: at})
	}
	for _, j := range batch {
		out, err := st.CreateJobs(ctx, []model.Job{j})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.FailJob(ctx, out[0].ID, "done"); err != nil {
			t.Fatal(err)
		}
	}
	p := Policy{OlderThan: 30 * 24 * time.Hour, Batch: 6, DryRun: true}
	calls := 0
	s, err := Run(ctx, st, p, now, func(Stats) { calls++ })
	if err != nil || s.Jobs != 20 || s.Batches != 4 || calls != 4 {
		t.Fatalf("dry run = %+v, %v (%d progress calls); want 20 jobs in 4 batches", s, err, calls)
	}
	p.DryRun = false
	if s, err = Run(ctx, st, p, now, nil); err != nil || s.Jobs != 20 {
		t.Fatalf("run = %+v, %v; want 20 jobs", s, err)
	}
	_, total, err := st.ListJobs(ctx, store.System(), store.JobFilter{})
	if err != nil || total != 5 {
		t.Fatalf("%d jobs left (%v), want 5", total, err)
	}
	if _, err := Run(ctx, st, Policy{}, now, nil); err == nil {
		t.Error("a run without an age was accepted")
	}
}

// TestSchedule: a scheduled run removes the old jobs' logs, keeps the jobs.
func TestSchedule(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "lava.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.CreateDeviceType(ctx, model.DeviceType{Name: "qemu"}); err != nil {
		t.Fatal(err)
	}
	out, err := st.CreateJobs(ctx, []model.Job{{RequestedDeviceType: "qemu", Definition: "x", SubmitTime: time.Now().Add(-72 * time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	id := out[0].ID
	if _, err := st.AppendLogs(ctx, id, 0, []model.LogRecord{{Time: time.Now(), Level: model.LevelInfo, Message: "x"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.FailJob(ctx, id, "done"); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		Schedule(ctx, st, Policy{OlderThan: 48 * time.Hour, LogsOnly: true}, 20*time.Millisecond, slog.New(slog.DiscardHandler))
		close(done)
	}()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		n, err := st.LogCount(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the scheduled run did not remove the logs")
		}
	}
	if _, err := st.Job(ctx, store.System(), id); err != nil {
		t.Errorf("the job went with its logs: %v", err)
	}
	cancel()
	<-done
}
