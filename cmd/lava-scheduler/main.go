// Command lava-scheduler runs the scheduler on its own, for setups with
// several lava-server instances (started with --no-scheduler) on one
// PostgreSQL database: any number may run; one leads at a time (advisory
// lock) and the others wait to take over.
//
// Like lava-server serve, it opens the driver registry over the store's
// driver tables (cmd/internal/driverset), so each job it schedules records the
// SHA-256 of the active driver of its device type and the merged settings
// (driver defaults < device-type overrides < device dictionary).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/lavalab/lavalab/cmd/internal/driverset"
	"github.com/lavalab/lavalab/core/sched"
	"github.com/lavalab/lavalab/core/storeopen"
	"github.com/lavalab/lavalab/core/version"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("lava-scheduler", flag.ContinueOnError)
	dataDir := fs.String("data-dir", storeopen.DefaultDataDir, "data directory (SQLite database lives here)")
	db := fs.String("db", "", "database: empty for SQLite in --data-dir, or postgres://…")
	interval := fs.Duration("safety-interval", sched.MinSafetyInterval, "slow timer between passes when no event arrives (minimum 20s)")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	showVersion := fs.Bool("version", false, "print the version and exit")
	nativeFile := fs.String("native-drivers", "", "YAML file listing the admin's native drivers: [{path: /abs/binary, sha256: <hex>}, ...] (as given to lava-server)")
	driverCache := fs.String("driver-cache", "", "wazero compilation cache (default DATA-DIR/driver-cache)")
	driverSync := fs.Duration("driver-sync", driverset.SyncInterval, "re-read the drivers in the store this often when no change event arrives")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *showVersion {
		fmt.Println(version.Version)
		return 0
	}
	var h slog.Handler
	switch *logFormat {
	case "text":
		h = slog.NewTextHandler(os.Stderr, nil)
	case "json":
		h = slog.NewJSONHandler(os.Stderr, nil)
	default:
		fmt.Fprintf(os.Stderr, "lava-scheduler: --log-format %q: want text or json\n", *logFormat)
		return 2
	}
	log := slog.New(h)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	st, err := storeopen.Open(ctx, *dataDir, *db)
	if err != nil {
		log.Error("lava-scheduler: cannot open the store", "err", err)
		return 1
	}
	defer st.Close()
	log.Info("lava-scheduler starting", "version", version.Version, "store", storeopen.Describe(*dataDir, *db))
	drv, err := driverset.Open(ctx, st, driverset.Options{DataDir: *dataDir, NativeFile: *nativeFile, CacheDir: *driverCache, Logger: log})
	if err != nil {
		log.Error("lava-scheduler: cannot open the driver registry", "err", err)
		return 1
	}
	defer drv.Close(context.WithoutCancel(ctx))
	log.Info("driver registry ready", "active", drv.Active())
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { driverset.Sync(runCtx, st, drv.Registry, *driverSync, log) })
	s := sched.New(st, log, sched.Options{SafetyInterval: *interval,
		DriverFor: driverset.DriverFor(drv.Registry), DriverSettings: driverset.DriverSettings(drv.Registry)})
	err = s.Run(ctx)
	cancel()
	wg.Wait()
	if err != nil {
		log.Error("lava-scheduler stopped", "err", err)
		return 1
	}
	log.Info("lava-scheduler stopped")
	return 0
}
