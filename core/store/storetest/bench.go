package storetest

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// Bench runs the store benchmarks; open returns a fresh, empty store.
//
//   - CreateJobs32: single-job CreateJobs from 32 goroutines (jobs/s).
//   - SchedulingSnapshot: 10,000 queued jobs, 1,000 free devices (ms/op).
//   - AppendLogs100: 100-record batches, one job per goroutine (records/s).
//   - AppendLogs29x200: 29-record batches from 200 goroutines, one job each
//     (a worker's 200 ms batch of a 144 records/s job): records/s and the
//     process's CPU time per record (the database's own process, on
//     PostgreSQL, is not counted).
func Bench(b *testing.B, open func(tb testing.TB) store.Store) {
	b.Run("CreateJobs32", func(b *testing.B) {
		st := open(b)
		c := context.Background()
		def := benchDefinition()
		b.SetParallelism(parallelism(32))
		b.ResetTimer()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := st.CreateJobs(c, []model.Job{{Description: "bench", Definition: def, RequestedDeviceType: "qemu",
					Submitter: "bench", Tags: []string{"usb"}}}); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "jobs/s")
	})

	b.Run("SchedulingSnapshot", func(b *testing.B) {
		st := open(b)
		seedQueue(b, st, 10000, 1000)
		c := context.Background()
		b.ResetTimer()
		for b.Loop() {
			snap, err := st.SchedulingSnapshot(c)
			if err != nil {
				b.Fatal(err)
			}
			if len(snap.Queued) != 10000 || len(snap.Devices) != 1000 {
				b.Fatalf("snapshot has %d jobs, %d devices", len(snap.Queued), len(snap.Devices))
			}
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/snapshot")
	})

	b.Run("AppendLogs100", func(b *testing.B) {
		st := open(b)
		c := context.Background()
		b.SetParallelism(parallelism(8))
		var n atomic.Int64
		b.ResetTimer()
		start := time.Now()
		b.RunParallel(func(pb *testing.PB) {
			out, err := st.CreateJobs(c, []model.Job{{Description: "logs", Definition: "x", RequestedDeviceType: "qemu"}})
			if err != nil {
				b.Error(err)
				return
			}
			id := out[0].ID
			var next int64
			for pb.Next() {
				recs := make([]model.LogRecord, 100)
				now := time.Now()
				for i := range recs {
					recs[i] = model.LogRecord{Time: now, Level: model.LevelTarget,
						Message: fmt.Sprintf("[    %d.%06d] a kernel line of typical length for a booting board", next, i)}
				}
				next, err = st.AppendLogs(c, id, next, recs)
				if err != nil {
					b.Error(err)
					return
				}
				n.Add(100)
			}
		})
		b.ReportMetric(float64(n.Load())/time.Since(start).Seconds(), "records/s")
	})

	b.Run("AppendLogs29x200", func(b *testing.B) { benchLogBatches(b, open(b), 200, 29) })
}

// benchLogBatches appends b.N batches of per records from goroutines
// goroutines, each on its own job.
func benchLogBatches(b *testing.B, st store.Store, goroutines, per int) {
	c := context.Background()
	ids := make([]int64, goroutines)
	for i := range ids {
		out, err := st.CreateJobs(c, []model.Job{{Description: "logs", Definition: "x", RequestedDeviceType: "qemu"}})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = out[0].ID
	}
	var left atomic.Int64
	left.Store(int64(b.N))
	var wg sync.WaitGroup
	b.ResetTimer()
	cpu0 := processCPU()
	start := time.Now()
	for _, id := range ids {
		wg.Go(func() {
			var next int64
			recs := make([]model.LogRecord, per)
			for left.Add(-1) >= 0 {
				now := time.Now()
				for i := range recs {
					recs[i] = model.LogRecord{Time: now, Level: model.LevelTarget,
						Message: fmt.Sprintf("[ %6d.%06d] a kernel line of typical length: \"quoted\" path\\x", next, i)}
				}
				var err error
				if next, err = st.AppendLogs(c, id, next, recs); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), processCPU()-cpu0
	b.StopTimer()
	recs := float64(b.N) * float64(per)
	b.ReportMetric(recs/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(cpu.Microseconds())/recs, "cpu-µs/record")
}

func parallelism(goroutines int) int {
	p := goroutines / max(1, runtimeGOMAXPROCS())
	return max(p, 1)
}

func benchDefinition() string {
	return `device_type: qemu
job_name: bench
timeouts:
  job: {minutes: 15}
  action: {minutes: 5}
priority: medium
visibility: public
actions:
- deploy:
    to: tmpfs
    images:
      rootfs: {url: "https://example.org/rootfs.ext4.xz", compression: xz}
- boot: {method: qemu, media: tmpfs, prompts: ["root@debian:~#"]}
- test:
    definitions:
    - {repository: "https://example.org/tests.git", from: git, path: smoke.yaml, name: smoke}
`
}

// seedQueue makes devices free devices on 10 workers and jobs queued jobs.
func seedQueue(tb testing.TB, st store.Store, jobs, devices int) {
	tb.Helper()
	c := context.Background()
	must(tb, st.CreateDeviceType(c, model.DeviceType{Name: "qemu"}))
	for w := range 10 {
		must(tb, st.CreateWorker(c, model.Worker{Hostname: fmt.Sprintf("w%d", w), State: model.WorkerOnline}))
	}
	for d := range devices {
		must(tb, st.CreateDevice(c, model.Device{Hostname: fmt.Sprintf("qemu-%04d", d), DeviceType: "qemu",
			Worker: fmt.Sprintf("w%d", d%10), Tags: []string{fmt.Sprintf("t%d", d%5)}}))
	}
	def := benchDefinition()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := g; i < jobs; i += 8 {
				if _, err := st.CreateJobs(c, []model.Job{{Description: "queued", Definition: def, RequestedDeviceType: "qemu",
					Priority: i % 100, Tags: []string{fmt.Sprintf("t%d", i%5)}}}); err != nil {
					tb.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
