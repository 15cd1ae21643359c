package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/store/sqlite"
)

func main() {
	db := flag.String("db", "lava-seed.db", "SQLite database file (created)")
	jobs := flag.Int("jobs", 100000, "finished jobs to create")
	logs := flag.Int("logs", 5, "log records per job")
	devices := flag.Int("devices", 50, "devices to spread the jobs over")
	spread := flag.Duration("spread", 0, "spread the jobs' submit times evenly over this long before now, oldest first (0: all now)")
	flag.Parse()
	if err := run(context.Background(), *db, *jobs, *logs, *devices, *spread); err != nil {
		fmt.Fprintln(os.Stderr, "seed:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, path string, jobs, logs, devices int, spread time.Duration) error {
	if jobs < 0 || logs < 0 || devices <= 0 {
		return fmt.Errorf("-jobs and -logs must be >= 0 and -devices > 0")
	}
	st, err := sqlite.Open(ctx, path)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := lab(ctx, st, devices); err != nil {
		return err
	}
	start := time.Now()
	def := "device_type: qemu\njob_name: seeded\ntimeouts:\n  job: {minutes: 10}\npriority: medium\nvisibility: public\nactions: []\n"
	first := start.Add(-spread)
	for i := range jobs {
		host := fmt.Sprintf("seed-%03d", i%devices)
		var at time.Time
		if spread > 0 {
			at = first.Add(time.Duration(int64(spread) / int64(jobs) * int64(i)))
		}
		out, err := st.CreateJobs(ctx, []model.Job{{Description: fmt.Sprintf("seeded job %d", i), Definition: def,
			RequestedDeviceType: "qemu", Submitter: "seed", Priority: 50, SubmitTime: at}})
		if err != nil {
			return err
		}
		id := out[0].ID
		got, err := st.Assign(ctx, []store.Assignment{{Job: out[0], Device: host}})
		if err != nil {
			return err
		}
		if len(got) != 1 {
			return fmt.Errorf("job %d: device %s was not free", id, host)
		}
		if _, err := st.StartJob(ctx, id); err != nil {
			return err
		}
		recs := make([]model.LogRecord, logs)
		now := time.Now()
		for k := range recs {
			recs[k] = model.LogRecord{Time: now, Level: model.LevelTarget, Message: fmt.Sprintf("[%6d.000] seeded log line %d", k, k)}
		}
		if _, err := st.AppendLogs(ctx, id, 0, recs); err != nil {
			return err
		}
		if err := st.AddTestCases(ctx, id, []model.TestCase{{Suite: "lava", Name: "job", Result: model.ResultPass}}); err != nil {
			return err
		}
		health := model.JobComplete
		if i%10 == 9 {
			health = model.JobIncomplete
		}
		if _, err := st.FinishJob(ctx, id, store.JobResult{Health: health, ErrorType: "Test"}); err != nil {
			return err
		}
		if (i+1)%10000 == 0 {
			slog.Info("seeding", "jobs", i+1, "rate_per_s", int(float64(i+1)/time.Since(start).Seconds()))
		}
	}
	slog.Info("seeded", "db", path, "jobs", jobs, "took", time.Since(start).Round(time.Millisecond))
	return nil
}

func lab(ctx context.Context, st store.Store, devices int) error {
	if err := st.CreateDeviceType(ctx, model.DeviceType{Name: "qemu"}); err != nil && !isExists(err) {
		return err
	}
	if err := st.CreateWorker(ctx, model.Worker{Hostname: "seed-worker", State: model.WorkerOnline}); err != nil && !isExists(err) {
		return err
	}
	for d := range devices {
		err := st.CreateDevice(ctx, model.Device{Hostname: fmt.Sprintf("seed-%03d", d), DeviceType: "qemu", Worker: "seed-worker"})
		if err != nil && !isExists(err) {
			return err
		}
	}
	return nil
}
