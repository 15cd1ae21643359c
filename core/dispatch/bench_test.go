package dispatch

import (
	"context"
	"runtime"
	"sync"
	"testing"

	"github.com/lavalab/lavalab/core/model"
)

// BenchmarkJobOverhead runs a job whose one action is a host command that
// does nothing: what remains is the dispatcher's own work per job (parse,
// settings, driver plan call, logging, results, finalize) plus one fork.
func BenchmarkJobOverhead(b *testing.B) {
	d := newDispatcher(b)
	drv := loadLocal(b)
	def := jobWith("", "- command:\n    name: nop\n")
	dict := localDict(b, "  user_commands:\n    nop:\n      do: 'true'\n")
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		out := d.Run(context.Background(), Request{JobID: int64(i), Definition: def, Dictionary: dict, Driver: drv}, nil)
		if out.Health != model.JobComplete {
			b.Fatalf("%s: %s", out.Health, out.Error)
		}
	}
}

// BenchmarkLocalTestJob runs a whole job on the local device: boot the
// shell, send the overlay over the console, run a test definition.
func BenchmarkLocalTestJob(b *testing.B) {
	d := newDispatcher(b)
	drv := loadLocal(b)
	def := jobWith("", bootAction+`- test:
    definitions:
    - from: inline
      name: smoke
      path: inline/smoke.yaml
      repository:
        metadata:
          format: Lava-Test Test Definition 1.0
          name: smoke
`+smokeSteps)
	dict := localDict(b, "")
	for b.Loop() {
		out := d.Run(context.Background(), Request{JobID: 4242, Definition: def, Dictionary: dict, Driver: drv}, nil)
		if out.Health != model.JobComplete {
			b.Fatalf("%s: %s", out.Health, out.Error)
		}
	}
}

// BenchmarkMemoryPerRunningJob starts jobs that wait for a prompt that never
// comes and reports the heap they hold while running.
func BenchmarkMemoryPerRunningJob(b *testing.B) {
	d := newDispatcher(b)
	drv := loadLocal(b)
	def := jobWith("", "- boot:\n    method: minimal\n    prompts: ['never']\n")
	dict := localDict(b, hangDict)
	const jobs = 20
	for b.Loop() {
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		ctx, cancel := context.WithCancel(context.Background())
		var started, done sync.WaitGroup
		started.Add(jobs)
		for i := range jobs {
			done.Add(1)
			var once sync.Once
			rec := &recorder{hook: func(r model.LogRecord) {
				if r.Level == model.LevelInput {
					once.Do(started.Done)
				}
			}}
			go func() {
				defer done.Done()
				d.Run(ctx, Request{JobID: int64(10000 + i), Definition: def, Dictionary: dict, Driver: drv}, rec)
			}()
		}
		started.Wait()
		runtime.GC()
		var during runtime.MemStats
		runtime.ReadMemStats(&during)
		cancel()
		done.Wait()
		b.ReportMetric(float64(int64(during.HeapInuse)-int64(before.HeapInuse))/jobs/1024, "KiB-heap/job")
	}
}
