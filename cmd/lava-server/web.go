package main

import (
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/go-chi/chi/v5"

	"github.com/lavalab/lavalab/core/lab"
	"github.com/lavalab/lavalab/core/metrics"
	"github.com/lavalab/lavalab/core/version"
	"github.com/lavalab/lavalab/core/web"
)

// mountWeb adds the HTML pages (/, /jobs, ... /static/) and /metrics to r.
// The session key lives in the data directory (web-session.key); servers
// sharing a PostgreSQL database must share that file for logins to carry
// across instances. The pages reach the driver registry through svc.
func mountWeb(r chi.Router, svc *lab.Service, m *metrics.Metrics,
	log *slog.Logger, dataDir string, secure bool) error {
	key, err := web.LoadOrCreateKey(filepath.Join(dataDir, web.KeyFile))
	if err != nil {
		return fmt.Errorf("web pages: %w", err)
	}
	w, err := web.New(web.Options{Lab: svc, Key: key, Secure: secure,
		Logger: log.With("component", "web"), Version: version.Version, WorkerReports: m})
	if err != nil {
		return err
	}
	w.Mount(r)
	r.Handle("/metrics", m.Handler())
	return nil
}
