// Command schedpass measures one scheduling pass over a real store: N
// queued jobs over 20 device types with tags, and 1,000 idle devices on 10
// online workers. It prints, for each queue length, the first pass (which
// assigns up to 1,000 jobs) and a second pass over the remaining queue
// with every device busy (the steady state of a long queue).
//
//	go run ./bench/schedpass                    # SQLite in a temp dir
//	go run ./bench/schedpass -db postgres://... # PostgreSQL (emptied first? no: use a fresh database)
//	go run ./bench/schedpass -db postgres://... -pgdata /path/to/data  # also count the PostgreSQL server's CPU
//
// Besides wall-clock times it prints the CPU time of the snapshot and of
// the first pass: this process's (the store and the planner; with SQLite,
// all of it) plus, with -pgdata, the PostgreSQL server's (the postmaster
// and its backends). On a loaded machine the CPU figures compare runs; the
// wall-clock ones do not.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/lavalab/lavalab/bench/cpustat"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/sched"
	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/storeopen"
)

func main() {
	sizes := flag.String("queued", "1000,10000,100000", "queue lengths to measure, comma-separated")
	db := flag.String("db", "", "database URL (default: SQLite in a temp dir, one per size); a PostgreSQL database must be empty and is used for the first size only")
	devices := flag.Int("devices", 1000, "idle devices")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the passes (not the seeding) to this file")
	pgdata := flag.String("pgdata", "", "with a PostgreSQL -db: its data directory, to count the server's CPU time too")
	flag.Parse()
	if *pgdata != "" {
		pid, err := cpustat.PostmasterPID(*pgdata)
		if err != nil {
			fmt.Fprintln(os.Stderr, "schedpass:", err)
			os.Exit(1)
		}
		serverPID = pid
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "schedpass:", err)
			os.Exit(1)
		}
		defer f.Close()
		profile = f
	}
	if err := run(context.Background(), *sizes, *db, *devices); err != nil {
		fmt.Fprintln(os.Stderr, "schedpass:", err)
		os.Exit(1)
	}
}

// profile, when set, receives a CPU profile of the measured passes.
var profile *os.File

// serverPID, when set, is the PostgreSQL postmaster whose CPU time (with
// its backends') is counted.
var serverPID int

// cpu returns the CPU time used so far by this process and the database
// server.
func cpu() time.Duration {
	t := cpustat.Self()
	if serverPID != 0 {
		if s, err := cpustat.Tree(serverPID); err == nil {
			t += s
		}
	}
	return t
}

func run(ctx context.Context, sizes, db string, devices int) error {
	fmt.Printf("%-8s %-8s %-9s %-12s %-12s %-12s %-12s %-12s %-12s\n", "queued", "devices", "assigned", "snapshot", "pass1", "pass2(busy)",
		"cpu-snap", "cpu-pass1", "backend")
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			return fmt.Errorf("-queued: %q is not a positive number", s)
		}
		dir, err := os.MkdirTemp("", "lava-schedpass-")
		if err != nil {
			return err
		}
		err = one(ctx, dir, db, n, devices)
		os.RemoveAll(dir)
		if err != nil {
			return err
		}
		if db != "" {
			break
		}
	}
	return nil
}

func one(ctx context.Context, dir, db string, queued, devices int) error {
	st, err := storeopen.Open(ctx, dir, db)
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(os.Stderr, "seeding %d queued jobs, %d devices in %s ...\n", queued, devices, filepath.Base(dir))
	if err := seed(ctx, st, queued, devices); err != nil {
		return fmt.Errorf("seeding: %w", err)
	}
	s := sched.New(st, slog.New(slog.DiscardHandler), sched.Options{})
	if profile != nil {
		if err := pprof.StartCPUProfile(profile); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	c0 := cpu()
	t0 := time.Now()
	snap, err := st.SchedulingSnapshot(ctx)
	if err != nil {
		return err
	}
	snapDur := time.Since(t0)
	snapCPU := cpu() - c0
	if len(snap.Queued) != queued || len(snap.Devices) != devices {
		return fmt.Errorf("snapshot has %d queued and %d devices, want %d and %d", len(snap.Queued), len(snap.Devices), queued, devices)
	}
	c1 := cpu()
	p1, err := s.Pass(ctx)
	if err != nil {
		return err
	}
	passCPU := cpu() - c1
	p2, err := s.Pass(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("%-8d %-8d %-9d %-12s %-12s %-12s %-12s %-12s %-12s\n", queued, devices, p1.Assigned,
		snapDur.Round(time.Millisecond/10), p1.Duration.Round(time.Millisecond/10), p2.Duration.Round(time.Millisecond/10),
		snapCPU.Round(time.Millisecond), passCPU.Round(time.Millisecond), st.Backend())
	return nil
}

func seed(ctx context.Context, st store.Store, queued, devices int) error {
	r := rand.New(rand.NewPCG(1, 2))
	tagPool := []string{"usb", "hdmi", "wifi", "sata", "can", "eth1"}
	for _, t := range tagPool {
		if err := st.CreateTag(ctx, model.Tag{Name: t}); err != nil {
			return err
		}
	}
	for i := range 20 {
		if err := st.CreateDeviceType(ctx, model.DeviceType{Name: fmt.Sprintf("type-%02d", i)}); err != nil {
			return err
		}
	}
	for i := range 10 {
		if err := st.CreateWorker(ctx, model.Worker{Hostname: fmt.Sprintf("worker-%d", i), State: model.WorkerOnline, Health: model.WorkerActive}); err != nil {
			return err
		}
	}
	for i := range devices {
		var tags []string
		for _, t := range tagPool {
			if r.IntN(2) == 0 {
				tags = append(tags, t)
			}
		}
		host := fmt.Sprintf("dev-%04d", i)
		if err := st.CreateDevice(ctx, model.Device{Hostname: host, DeviceType: fmt.Sprintf("type-%02d", i%20), Worker: fmt.Sprintf("worker-%d", i%10), Tags: tags}); err != nil {
			return err
		}
		if _, err := st.SetDeviceHealth(ctx, host, model.DeviceGood); err != nil {
			return err
		}
	}
	// One job per CreateJobs call (several in one call make a multinode
	// group), from 16 goroutines so the store's group commit batches them.
	def := "device_type: qemu\njob_name: queued\ntimeouts:\n  job: {minutes: 10}\nvisibility: public\nactions: []\n"
	jobs := make([]model.Job, queued)
	for i := range jobs {
		var tags []string
		if r.IntN(3) == 0 {
			tags = append(tags, tagPool[r.IntN(len(tagPool))])
		}
		jobs[i] = model.Job{Description: "queued", Definition: def, RequestedDeviceType: fmt.Sprintf("type-%02d", r.IntN(20)),
			Priority: r.IntN(101), Tags: tags, Submitter: "bench", Visibility: model.VisibilityPublic}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(16)
	for i := range jobs {
		g.Go(func() error {
			_, err := st.CreateJobs(gctx, jobs[i:i+1])
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return nil
}
