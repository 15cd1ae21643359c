package retention

import (
	"context"
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
