package jobend

import (
	"slices"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/testlab"
)

// job's work: the local shell's boot and a test of one 0.1 s step (about
// 0.15 s on the worker with the overlay).
var job = testlab.QuickJob("short local job", "sleep 0.1", "lava-test-case quick --shell true")

func BenchmarkSubmitToFinished(b *testing.B) {
	lab := testlab.Start(b, testlab.Options{Bins: testlab.BuildFor(b), WorkerHUPIgnored: true})
	// One job first: the driver's compilation and the worker's first poll
	// are start-up, not this figure.
	lab.WaitJob(lab.Submit(job), "Finished", 2*time.Minute)
	var took []time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		id := lab.Submit(job)
		for {
			j := lab.Job(id)
			if j.State == "Finished" {
				if j.Health != "Complete" {
					b.Fatalf("job %d: %s (%s)", id, j.Health, j.FailureComment)
				}
				break
			}
			if time.Since(start) > 2*time.Minute {
				b.Fatalf("job %d not Finished after 2 minutes", id)
			}
			time.Sleep(5 * time.Millisecond)
		}
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	b.ReportMetric(took[len(took)/2].Seconds(), "p50-s")
	b.ReportMetric(took[len(took)*9/10].Seconds(), "p90-s")
}
