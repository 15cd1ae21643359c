package dispatch

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lavalab/lavalab/bench/cpustat"
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
	c0, n := cpustat.Self(), 0
	for i := 0; b.Loop(); i++ {
		out := d.Run(context.Background(), Request{JobID: int64(i), Definition: def, Dictionary: dict, Driver: drv}, nil)
		if out.Health != model.JobComplete {
			b.Fatalf("%s: %s", out.Health, out.Error)
		}
		n++
	}
	b.ReportMetric(float64((cpustat.Self()-c0).Microseconds())/1000/float64(n), "cpu-ms/op")
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
	c0, n := cpustat.Self(), 0
	for b.Loop() {
		out := d.Run(context.Background(), Request{JobID: 4242, Definition: def, Dictionary: dict, Driver: drv}, nil)
		if out.Health != model.JobComplete {
			b.Fatalf("%s: %s", out.Health, out.Error)
		}
		n++
	}
	b.ReportMetric(float64((cpustat.Self()-c0).Microseconds())/1000/float64(n), "cpu-ms/op")
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
				out := d.Run(ctx, Request{JobID: int64(10000 + i), Definition: def, Dictionary: dict, Driver: drv}, rec)
				once.Do(func() {
					// It ended before it waited on its console.
					b.Errorf("job %d: %s: %s", 10000+i, out.Health, out.Error)
					started.Done()
				})
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

// deployLargeJob deploys one uncompressed image of size bytes (a sparse
// file, checked by sha256) to the local device.
func deployLargeJob(tb testing.TB, size int64) []byte {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "rootfs.img")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		tb.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		tb.Fatal(err)
	}
	f.Close()
	return jobWith("", fmt.Sprintf("- deploy:\n    to: tmpfs\n    images:\n      rootfs:\n        url: 'file://%s'\n        sha256sum: %x\n", path, h.Sum(nil)))
}

// peakHeap runs f while sampling the Go heap in use, and returns how far it
// rose above where it was before.
func peakHeap(f func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > base && ms.HeapInuse-base > peak.Load() {
				peak.Store(ms.HeapInuse - base)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	})
	f()
	close(stop)
	wg.Wait()
	return peak.Load()
}

// BenchmarkDeployLargeArtifact deploys a 256 MiB image (download from a
// file URL, sha256 check, placement in the job folder) and reports the
// Go heap's peak rise while the job runs: artifacts are streamed, so it
// stays a small fraction of the image.
func BenchmarkDeployLargeArtifact(b *testing.B) {
	d := newDispatcher(b)
	drv := loadLocal(b)
	const size = 256 << 20
	def := deployLargeJob(b, size)
	dict := localDict(b, "")
	b.SetBytes(size)
	var peak uint64
	for i := 0; b.Loop(); i++ {
		peak = max(peak, peakHeap(func() {
			out := d.Run(context.Background(), Request{JobID: int64(500 + i), Definition: def, Dictionary: dict, Driver: drv}, nil)
			if out.Health != model.JobComplete {
				b.Fatalf("%s: %s", out.Health, out.Error)
			}
		}))
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}

// TestDeployStreamsArtifacts: deploying a 256 MiB image raises the Go heap
// by far less than the image (the bound is 10 MB per running job
// plus artifact buffers; we allow 32 MiB for the GC's slack and the
// driver's WASM instance).
func TestDeployStreamsArtifacts(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: writes 256 MiB")
	}
	d := newDispatcher(t)
	drv := loadLocal(t)
	def := deployLargeJob(t, 256<<20)
	rec := &recorder{}
	var out Outcome
	peak := peakHeap(func() {
		out = d.Run(context.Background(), Request{JobID: 600, Definition: def, Dictionary: localDict(t, ""), Driver: drv}, rec)
	})
	wantComplete(t, out, rec)
	if !rec.has("info", "rootfs: rootfs.img, 268435456 bytes") {
		t.Errorf("the image was not deployed whole:\n%s", rec.text())
	}
	t.Logf("Go heap rose by at most %.1f MiB while deploying 256 MiB", float64(peak)/(1<<20))
	if peak > 32<<20 {
		t.Errorf("the Go heap rose by %d MiB while deploying a 256 MiB image: artifacts must be streamed", peak>>20)
	}
}
