// Command lava-scheduler runs the scheduler on its own, for setups with
// several lava-server instances (started with --no-scheduler) on one
// PostgreSQL database: any number may run; one leads at a time (advisory
// lock) and the others wait to take over.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

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
	s := sched.New(st, log, sched.Options{SafetyInterval: *interval})
	if err := s.Run(ctx); err != nil {
		log.Error("lava-scheduler stopped", "err", err)
		return 1
	}
	log.Info("lava-scheduler stopped")
	return 0
}
