package worker

import (
	"context"
	"fmt"
	"github.com/lavalab/lavalab/core/lavatemplate"
	"path/filepath"

	"github.com/lavalab/lavalab/core/dispatch"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/workerproto"
	"github.com/lavalab/lavalab/plugins/native"
	"github.com/lavalab/lavalab/plugins/registry"
	"github.com/lavalab/lavalab/plugins/wasm"
	"github.com/lavalab/lavalab/sdk"
)

// runner runs jobs through the dispatcher with drivers from the registry.
type runner struct {
	d      *dispatch.Dispatcher
	reg    *registry.Registry
	local  *localDir
	native *nativeList
	client *Client // multinode sub-jobs reach their group through it (issue 21)
	rel    releaser
}

// NewDispatchRunner is lava-worker's Runner (a NewRunner): jobs run
// through the dispatcher (core/dispatch) with the device type's driver from
// the registry (plugins/registry): a module in --drivers-dir first, else the
// one the server pins by SHA-256 (fetched once, kept in WORK-DIR/drivers); a
// native driver only from the worker's own --native-drivers list.
func NewDispatchRunner(ctx context.Context, env RunnerEnv) (Runner, func(), error) {
	host, err := wasm.NewHost(ctx, wasm.Options{CacheDir: filepath.Join(env.WorkDir, "wasm-cache"), Logger: env.Logger,
		// No instance kept started per driver: a worker has many drivers and
		// runs few jobs; a job pays the instance start (milliseconds).
		Prewarm: -1})
	if err != nil {
		return nil, nil, fmt.Errorf("driver host: %w", err)
	}
	local, err := registry.NewDirStore(filepath.Join(env.WorkDir, "drivers"))
	if err != nil {
		host.Close(context.Background())
		return nil, nil, err
	}
	dir := newLocalDir(env.DriversDir, env.Logger)
	nat := &nativeList{file: env.NativeFile, log: env.Logger}
	if err := nat.check(); err != nil {
		host.Close(context.Background())
		return nil, nil, err
	}
	// No DriversDir and no Native for the registry: it would compile or
	// start every driver now.
	reg, err := registry.New(ctx, registry.Options{DriverAlias: lavatemplate.ShippedDriver, Host: host, Store: &lazyStore{DirStore: local, local: dir, c: env.Client}, OnPlan: env.OnPlan,
		NativeOptions: native.Options{Stderr: &logLines{log: env.Logger}, Logger: env.Logger}, Logger: env.Logger})
	if err != nil {
		host.Close(context.Background())
		return nil, nil, fmt.Errorf("driver registry: %w", err)
	}
	d, err := dispatch.New(ctx, dispatch.Options{WorkDir: filepath.Join(env.WorkDir, "dispatch"), Logger: env.Logger,
		CacheDir: env.Serve.CacheDir, CacheMax: env.Serve.CacheMax, TFTPAddr: env.Serve.TFTPAddr, HTTPAddr: env.Serve.HTTPAddr, TFTPHost: env.Serve.ServerIP,
		NFSExport: env.Serve.NFSExport, NFSServerIP: env.Serve.NFSServerIP, Tools: env.Tools, FileURLDirs: env.Serve.FileURLDirs})
	if err != nil {
		reg.Close(context.Background())
		host.Close(context.Background())
		return nil, nil, fmt.Errorf("dispatcher: %w", err)
	}
	env.Logger.Info("host tools drivers may run", "allowed", env.Tools.String())
	env.Logger.Info("serving artifacts to the boards", "tftp", d.TFTPAddr().String(), "http", d.HTTPAddr().String(),
		"server_ip", env.Serve.ServerIP, "nfs_export", env.Serve.NFSExport)
	// The compilation cache: pruned now (nothing loaded yet: least
	// recently used versions go first) and daily (the drivers loaded stay).
	pruneCtx, stopPrune := context.WithCancel(context.WithoutCancel(ctx))
	go host.KeepPruned(pruneCtx, wasm.CacheLimits{MaxBytes: env.Serve.DriverCacheMax}, 0)
	closeAll := func() {
		stopPrune()
		_ = d.Close()
		_ = reg.Close(context.Background())
		_ = host.Close(context.Background())
	}
	return &runner{d: d, reg: reg, local: dir, native: nat, client: env.Client}, closeAll, nil
}

// ArtifactCacheStats reports the artifact cache (CacheReporter).
func (r *runner) ArtifactCacheStats() CacheStats {
	st := r.d.CacheStats()
	return CacheStats{Bytes: st.Bytes, Hits: st.Hits, Misses: st.Misses}
}

func (r *runner) Run(ctx context.Context, job workerproto.StartJob, sink Sink) Outcome {
	drv, err := r.driver(ctx, job)
	if err != nil {
		sink.Record(model.LogRecord{Level: model.LevelError, Message: err.Error()})
		return Outcome{Health: model.JobIncomplete, ErrorType: sdk.ErrorConfiguration, Error: err.Error()}
	}
	out := r.d.Run(ctx, dispatch.Request{JobID: job.ID, Definition: []byte(job.Definition), DeviceName: job.Device,
		Dictionary: []byte(job.Dictionary), Settings: job.Settings, Driver: releasingDriver{drv, &r.rel},
		SettingsFinal: job.SettingsFinal,
		Multinode:     JobMultinode{Client: r.client, ID: job.ID, Token: job.Token}}, sink)
	return Outcome{Health: out.Health, ErrorType: out.ErrorType, Error: out.Error, Cases: out.Cases}
}

// Recover powers off the device of a job a previous run left unfinished
// and removes the job's folders (Recoverer).
func (r *runner) Recover(ctx context.Context, job workerproto.StartJob, sink Sink) error {
	return r.d.Recover(ctx, dispatch.Request{JobID: job.ID, Definition: []byte(job.Definition), DeviceName: job.Device,
		Dictionary: []byte(job.Dictionary), Settings: job.Settings}, sink)
}
