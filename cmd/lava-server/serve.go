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
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/lavalab/lavalab/core/api"
	"github.com/lavalab/lavalab/core/sched"
	"github.com/lavalab/lavalab/core/storeopen"
	"github.com/lavalab/lavalab/core/version"
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
	if _, err := parseFlags(fs, args, 0, 0); err != nil {
		return err
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

	root := chi.NewRouter()
	root.NotFound(api.NotFound)
	root.MethodNotAllowed(api.MethodNotAllowed)
	api.NewAPI(api.Options{Store: st, Logger: log, Version: version.Version}).Mount(root)

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
	errc := make(chan error, 2)
	if !*noSched {
		s := sched.New(st, log, sched.Options{SafetyInterval: *safety})
		wg.Go(func() {
			if err := s.Run(runCtx); err != nil && runCtx.Err() == nil {
				errc <- fmt.Errorf("scheduler: %w", err)
			}
		})
	}
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
