package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/lavalab/lavalab/cmd/internal/driverset"
	"github.com/lavalab/lavalab/core/api"
	"github.com/lavalab/lavalab/core/lab"
	"github.com/lavalab/lavalab/core/lavarest"
	"github.com/lavalab/lavalab/core/lavarpc"
	"github.com/lavalab/lavalab/core/metrics"
	"github.com/lavalab/lavalab/core/retention"
	"github.com/lavalab/lavalab/core/sched"
	"github.com/lavalab/lavalab/core/storeopen"
	"github.com/lavalab/lavalab/core/version"
	"github.com/lavalab/lavalab/core/workerproto"
	"github.com/lavalab/lavalab/core/workerserver"
)

// ShutdownGrace is how long in-flight requests get on SIGINT/SIGTERM.
const ShutdownGrace = 30 * time.Second

func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usagef("--log-format %q: want text or json", format)
}

// serve runs the server until ctx ends.
func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	dataDir, db := dbFlags(fs)
	listen := fs.String("listen", "127.0.0.1:8000", "address to listen on")
	logFormat := fs.String("log-format", "text", "log format: text or json")
	logLevel := fs.String("log-level", "info", "log level: debug, info, warn or error")
	noSched := fs.Bool("no-scheduler", false, "do not run the scheduler here (run lava-scheduler instead)")
	safety := fs.Duration("safety-interval", sched.MinSafetyInterval, "scheduler's slow safety timer (minimum 20s)")
	tlsCert := fs.String("tls-cert", "", "TLS certificate file (PEM); with --tls-key, serve HTTPS")
	tlsKey := fs.String("tls-key", "", "TLS key file (PEM)")
	secureCookies := fs.Bool("secure-cookies", false, "mark every web cookie Secure (behind a TLS proxy that sends no X-Forwarded-Proto: https); they are Secure anyway under --tls-cert or when the request says X-Forwarded-Proto: https")
	pprofListen := fs.String("pprof-listen", "", "serve Go's profiler (net/http/pprof) on this address, e.g. 127.0.0.1:6060 (debugging; keep it on loopback)")
	workerBins := fs.String("worker-binaries", "", "directory of lava-worker builds served for --auto-upgrade (default: the directory of this executable)")
	workerSilent := fs.Duration("worker-silent", workerserver.DefaultSilent, "a worker silent longer than this goes Offline")
	workerGrace := fs.Duration("worker-grace", workerserver.DefaultGrace, "jobs of an Offline worker end Incomplete after this grace")
	jobGrace := fs.Duration("job-timeout-grace", workerserver.DefaultJobGrace, "a Running job whose worker has not reported its end this long past its job timeout ends Incomplete and frees its device")
	workerCheck := fs.Duration("worker-check", workerserver.DefaultCheckEvery, "period of the worker liveness check")
	pollWait := fs.Duration("poll-wait", workerproto.DefaultPollWait, "how long a worker's poll is held when there is no work")
	retainAge := fs.String("retention", "", "remove finished jobs submitted longer ago than this (180d, 2w, 36h) on a schedule; empty: keep every job")
	retainLogsOnly := fs.Bool("retention-logs-only", false, "with --retention: remove only the logs of old jobs, keep the jobs and their results")
	retainEvery := fs.Duration("retention-every", 24*time.Hour, "with --retention: how often to remove (the first run a minute after the start)")
	drvFlags := addDriverFlags(fs, true)
	ntf := addNotifyFlags(fs)
	if _, err := parseFlags(fs, args, 0, 0); err != nil {
		return err
	}
	var retain retention.Policy
	if *retainAge != "" {
		age, err := retention.ParseAge(*retainAge)
		if err != nil {
			return usagef("--retention: %v", err)
		}
		if *retainEvery < time.Minute {
			return usagef("--retention-every %s: want 1m or more", *retainEvery)
		}
		retain = retention.Policy{OlderThan: age, LogsOnly: *retainLogsOnly}
	} else if *retainLogsOnly {
		return usagef("--retention-logs-only needs --retention AGE")
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return usagef("--tls-cert and --tls-key go together")
	}
	log, err := newLogger(stderr, *logFormat, *logLevel)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, *dataDir, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	drv, err := serveDrivers(ctx, st, *dataDir, drvFlags, log)
	if err != nil {
		return err
	}
	defer drv.Close(context.WithoutCancel(ctx))

	root := chi.NewRouter()
	root.NotFound(api.NotFound)
	root.MethodNotAllowed(api.MethodNotAllowed)
	// One service layer under the four front-ends.
	svc := lab.New(lab.Options{Store: st, Logger: log, Drivers: apiDrivers{drv.Registry}})
	a := api.NewAPI(api.Options{Lab: svc, Store: st, Logger: log, Version: version.Version})
	a.Mount(root)
	lavarpc.New(lavarpc.Options{Lab: svc, Logger: log}).Mount(root)
	lavarest.New(lavarest.Options{Lab: svc, Logger: log}).Mount(root)
	mets := metrics.New()
	if err := mountWeb(root, svc, mets, log, *dataDir, *tlsCert != "" || *secureCookies); err != nil {
		return err
	}

	if *workerBins == "" {
		if exe, err := os.Executable(); err == nil {
			*workerBins = filepath.Dir(exe)
		}
	}
	mnCoord := newMultinodeCoordinator(st, log) // issue 21: multinode.go
	wproto, err := workerserver.NewServer(workerserver.ServerOptions{Store: st, Multinode: mnCoord, Logger: log, Version: version.Version,
		PollWait: *pollWait, Silent: *workerSilent, Grace: *workerGrace, JobGrace: *jobGrace, CheckEvery: *workerCheck, BinariesDir: *workerBins,
		Observer: mets, Driver: driverRef(drv.Registry)})
	if err != nil {
		return err
	}
	wproto.Mount(root)

	if *pprofListen != "" {
		if err := servePprof(ctx, *pprofListen, log); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", *listen, err)
	}
	srv := &http.Server{
		Handler:           root,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 5)
	if !*noSched {
		s := sched.New(st, log, sched.Options{SafetyInterval: *safety,
			DriverFor: driverset.DriverFor(drv.Registry), DriverSettings: driverset.DriverSettings(drv.Registry),
			OnPass: func(p sched.PassStats) { mets.ObserveSchedPass(p.Duration, p.Assigned) }})
		wg.Go(func() {
			if err := s.Run(runCtx); err != nil && runCtx.Err() == nil {
				errc <- fmt.Errorf("scheduler: %w", err)
			}
		})
	}
	sender, err := ntf.sender(st, log, mets, "http://"+ln.Addr().String())
	if err != nil {
		return err
	}
	wg.Go(func() {
		if err := sender.Run(runCtx); err != nil && runCtx.Err() == nil {
			errc <- fmt.Errorf("notifications: %w", err)
		}
	})
	wg.Go(func() { mets.Run(runCtx, st, metrics.DefaultRefresh, log) })
	if retain.OlderThan > 0 {
		wg.Go(func() { retention.Schedule(runCtx, st, retain, *retainEvery, log) })
	}
	wg.Go(func() { driverset.Sync(runCtx, st, drv.Registry, driverset.SyncInterval, log) })
	if mnCoord != nil {
		wg.Go(func() {
			if err := mnCoord.Run(runCtx); err != nil && runCtx.Err() == nil {
				errc <- fmt.Errorf("multinode: %w", err)
			}
		})
	}
	wg.Go(func() {
		if err := wproto.Run(runCtx); err != nil && runCtx.Err() == nil {
			errc <- fmt.Errorf("worker protocol: %w", err)
		}
	})
	scheme := "http"
	if *tlsCert != "" {
		scheme = "https"
	}
	wg.Go(func() {
		var err error
		if *tlsCert != "" {
			err = srv.ServeTLS(ln, *tlsCert, *tlsKey)
		} else {
			err = srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("serving: %w", err)
		}
	})
	log.Info("lava-server listening", "url", scheme+"://"+ln.Addr().String(), "version", version.Version,
		"store", storeopen.Describe(*dataDir, *db), "scheduler", !*noSched)

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("lava-server stopping", "grace", ShutdownGrace)
	case runErr = <-errc:
		log.Error("lava-server failing", "err", runErr)
	}
	cancel()
	sctx, scancel := context.WithTimeout(context.Background(), ShutdownGrace)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("shutdown: requests cut short", "err", err)
	}
	wg.Wait()
	if runErr == nil {
		log.Info("lava-server stopped")
	}
	return runErr
}
