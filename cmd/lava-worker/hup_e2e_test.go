package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/testlab"
)

// TestJobEndsPromptlyWithSIGHUPIgnored starts lava-worker with SIGHUP
// ignored (as nohup does). The local shell, an interactive sh that ignores
// SIGTERM, used to inherit the ignore and outlive the console's close until
// the SIGKILL killGrace (3 s) later, so every job ended 3 s after its work.
// The gap between the final power off and the job's own end record is now
// the shell's exit on SIGHUP: far below the 3 s grace.
func TestJobEndsPromptlyWithSIGHUPIgnored(t *testing.T) {
	if testing.Short() {
		t.Skip("real lava-server and lava-worker processes: not in -short")
	}
	lab := testlab.Start(t, testlab.Options{Bins: testlab.BuildFor(t), WorkerHUPIgnored: true})
	id := lab.Submit(testlab.QuickJob("short local job", "lava-test-case quick --shell true"))
	if j := lab.WaitJob(id, "Finished", 2*time.Minute); j.Health != "Complete" {
		t.Fatalf("job %d: %s (%s)", id, j.Health, j.FailureComment)
	}
	var logs struct {
		Records []struct {
			Time string `json:"dt"`
			Msg  any    `json:"msg"`
		} `json:"records"`
	}
	lab.API("GET", fmt.Sprintf("/jobs/%d/logs?limit=10000", id), nil, &logs)
	var powerOff, end time.Time
	for _, r := range logs.Records {
		msg, _ := r.Msg.(string)
		at, err := time.Parse(time.RFC3339Nano, r.Time)
		if err != nil {
			continue
		}
		switch {
		case msg == "finalize: power off":
			powerOff = at
		case strings.HasPrefix(msg, fmt.Sprintf("job %d: ", id)):
			end = at
		}
	}
	if powerOff.IsZero() || end.IsZero() {
		t.Fatalf("the log has no final power off or no end record: %+v", logs.Records)
	}
	// The power off command (an echo) and the console's close: tens of
	// milliseconds; 2 s leaves room for a loaded machine and stays clear of
	// the 3 s kill grace this is about.
	if gap := end.Sub(powerOff); gap >= 2*time.Second {
		t.Fatalf("the job ended %s after its final power off: the console's shell waited for the SIGKILL", gap)
	} else {
		t.Logf("job end %s after the final power off (worker started with SIGHUP ignored)", gap.Round(time.Millisecond))
	}
}
