package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/go-chi/chi/v5"

	"github.com/lavalab/lavalab/core/api"
	"github.com/lavalab/lavalab/core/lab"
	"github.com/lavalab/lavalab/core/metrics"
	"github.com/lavalab/lavalab/core/version"
	"github.com/lavalab/lavalab/core/web"
)

// mountWeb adds the HTML pages (/, /jobs, ... /static/) and /metrics to r.
// The session key lives in the data directory (web-session.key); servers
// sharing a PostgreSQL database must share that file for logins to carry
// across instances. drivers may be nil.
func mountWeb(r chi.Router, svc *lab.Service, drivers web.Drivers, m *metrics.Metrics,
	log *slog.Logger, dataDir string, secure bool) error {
	key, err := web.LoadOrCreateKey(filepath.Join(dataDir, web.KeyFile))
	if err != nil {
		return fmt.Errorf("web pages: %w", err)
	}
	w, err := web.New(web.Options{Lab: svc, Drivers: drivers, Key: key, Secure: secure,
		Logger: log.With("component", "web"), Version: version.Version, WorkerReports: m})
	if err != nil {
		return err
	}
	w.Mount(r)
	r.Handle("/metrics", m.Handler())
	return nil
}

// webDrivers shows the API's driver registry to the pages.
type webDrivers struct{ d api.Drivers }

func webInfo(i api.DriverInfo) web.DriverInfo {
	return web.DriverInfo{Name: i.Name, Version: i.Version, SHA256: i.SHA256, Kind: i.Kind, Source: i.Source,
		DeviceTypes: i.DeviceTypes, Active: i.Active, LoadedAt: i.LoadedAt, Description: i.Description}
}

func (w webDrivers) ListDrivers(context.Context) ([]web.DriverInfo, error) {
	list := w.d.List()
	out := make([]web.DriverInfo, len(list))
	for i, d := range list {
		out[i] = webInfo(d)
	}
	return out, nil
}

func (w webDrivers) RefusedDrivers(context.Context) ([]web.DriverRefusal, error) {
	list := w.d.Refused()
	out := make([]web.DriverRefusal, len(list))
	for i, r := range list {
		out[i] = web.DriverRefusal{Path: r.Path, SHA256: r.SHA256, Reason: r.Reason, At: r.At}
	}
	return out, nil
}

func (w webDrivers) ActivateDriver(ctx context.Context, name, sha string) (web.DriverInfo, error) {
	i, err := w.d.Activate(ctx, name, sha)
	return webInfo(i), err
}

func (w webDrivers) RollbackDriver(ctx context.Context, name string) (web.DriverInfo, error) {
	i, err := w.d.Rollback(ctx, name)
	return webInfo(i), err
}

func (w webDrivers) InstallDriver(ctx context.Context, name string, module []byte) (web.DriverInfo, error) {
	i, err := w.d.Install(ctx, name, module)
	return webInfo(i), err
}
