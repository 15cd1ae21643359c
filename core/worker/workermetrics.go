package worker

import (
	"context"
	"errors"
	"fmt"
	"github.com/lavalab/lavalab/core/workerproto"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// WorkerMetrics is a worker's own /metrics (lava-worker --metrics-listen):
// the plan calls of its drivers, its spools' backlog, the disk free in its
// work folder, its artifact cache, its jobs and whether the server answers.
// Methods are safe for concurrent use and on nil.
type WorkerMetrics struct {
	reg          *prometheus.Registry
	planDuration *prometheus.HistogramVec
	planFailures *prometheus.CounterVec
}

// NewWorkerMetrics makes the registry with the plan families and Go's
// collectors; Attach adds the worker's gauges.
func NewWorkerMetrics() *WorkerMetrics {
	m := &WorkerMetrics{reg: prometheus.NewRegistry()}
	// The same families as the server's, where plans were made before
	// they ran on workers.
	m.planDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "lava_driver_plan_duration_seconds", Help: "Duration of driver plan calls, by driver name.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 3, 10),
	}, []string{"driver"})
	m.planFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lava_driver_plan_failures_total", Help: "Driver plan calls that failed, by driver name.",
	}, []string{"driver"})
	m.reg.MustRegister(m.planDuration, m.planFailures,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObservePlan records one plan call (drivers.PlanObserver's shape).
func (m *WorkerMetrics) ObservePlan(driver string, took time.Duration, err error) {
	if m == nil {
		return
	}
	m.planDuration.WithLabelValues(driver).Observe(took.Seconds())
	if err != nil {
		m.planFailures.WithLabelValues(driver).Inc()
	}
}

// Attach adds the gauges read from w at each scrape.
func (m *WorkerMetrics) Attach(w *Worker) {
	if m == nil {
		return
	}
	gauge := func(name, help string, f func() float64) {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
	}
	counter := func(name, help string, f func() float64) {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f))
	}
	spool := func(f func(workerproto.SpoolStatus) int64) func() float64 {
		return func() float64 { return float64(f(w.SpoolStatus())) }
	}
	host := func(f func(workerproto.HostStatus) int64) func() float64 {
		return func() float64 { return float64(f(w.HostStatus())) }
	}
	gauge("lava_worker_spool_backlog_records", "Job log records spooled and not yet acknowledged by the server.",
		spool(func(s workerproto.SpoolStatus) int64 { return s.BacklogRecords }))
	gauge("lava_worker_spool_backlog_bytes", "Bytes of the job log records spooled and not yet acknowledged by the server.",
		spool(func(s workerproto.SpoolStatus) int64 { return s.BacklogBytes }))
	gauge("lava_worker_spool_failing_jobs", "Jobs whose log spool cannot write to disk now (full disk, I/O error).",
		spool(func(s workerproto.SpoolStatus) int64 { return s.Failing }))
	gauge("lava_worker_spool_held_records", "Job log records held in memory because the disk refused them.",
		spool(func(s workerproto.SpoolStatus) int64 { return s.Held }))
	counter("lava_worker_spool_write_errors_total", "Failed spool writes since the worker started.",
		spool(func(s workerproto.SpoolStatus) int64 { return s.WriteErrors }))
	counter("lava_worker_spool_lost_records_total", "Job log records dropped since the worker started.",
		spool(func(s workerproto.SpoolStatus) int64 { return s.Lost }))
	gauge("lava_worker_disk_free_bytes", "Space free in the work folder's file system (-1: unknown).",
		host(func(h workerproto.HostStatus) int64 { return h.DiskFreeBytes }))
	gauge("lava_worker_artifact_cache_bytes", "Size of the artifact download cache.",
		host(func(h workerproto.HostStatus) int64 { return h.ArtifactCacheBytes }))
	counter("lava_worker_artifact_cache_hits_total", "Cached downloads served from the artifact cache.",
		host(func(h workerproto.HostStatus) int64 { return h.ArtifactCacheHits }))
	counter("lava_worker_artifact_cache_misses_total", "Cached downloads fetched into the artifact cache.",
		host(func(h workerproto.HostStatus) int64 { return h.ArtifactCacheMisses }))
	gauge("lava_worker_jobs_running", "Jobs the worker runs or still reports.",
		func() float64 { return float64(len(w.Jobs())) })
	gauge("lava_worker_server_reachable", "1 when the server answered the last poll, else 0.", func() float64 {
		if ok, _ := w.Reachable(); ok {
			return 1
		}
		return 0
	})
	gauge("lava_worker_server_last_contact_timestamp_seconds", "Unix time of the last poll the server answered (0: none).", func() float64 {
		if _, at := w.Reachable(); !at.IsZero() {
			return float64(at.UnixMilli()) / 1000
		}
		return 0
	})
}

// Handler serves the registry in Prometheus' text format.
func (m *WorkerMetrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{EnableOpenMetrics: true})
}

// Serve listens on addr and serves /metrics until ctx ends. It returns
// the address listened on once listening, or the listen error.
func (m *WorkerMetrics) Serve(ctx context.Context, addr string, log *slog.Logger) (net.Addr, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	return ln.Addr(), nil
}
