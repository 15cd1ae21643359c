package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// DefaultRefresh is how often Run re-reads the state gauges.
const DefaultRefresh = 15 * time.Second

// Metrics is the registry and the lab's metrics. The zero value is not
// usable: call New. Methods are safe for concurrent use and on nil.
type Metrics struct {
	reg *prometheus.Registry

	schedPass     prometheus.Histogram
	schedAssigned prometheus.Counter
	logRecords    prometheus.Counter
	logBytes      prometheus.Counter
	startLatency  prometheus.Histogram
	planDuration  *prometheus.HistogramVec
	planFailures  *prometheus.CounterVec

	jobs          *prometheus.GaugeVec
	queue         *prometheus.GaugeVec
	devices       *prometheus.GaugeVec
	workerOnline  *prometheus.GaugeVec
	workerSeen    *prometheus.GaugeVec
	refreshErrors prometheus.Counter
	refreshTime   prometheus.Gauge
	spool         [4]*prometheus.GaugeVec // failing, held, write errors, lost; by worker
	report        [7]*prometheus.GaugeVec // WorkerReport's figures; by worker

	rmu     sync.Mutex
	reports map[string]WorkerReport // the last of each worker
}

// WorkerReport is what a worker reported of its spools and host on its
// last poll (the fleet view: /metrics and the workers page).
type WorkerReport struct {
	// At is when the server received it.
	At time.Time
	// The worker's job spools.
	SpoolFailing, SpoolHeld, SpoolLost     int64
	SpoolBacklogRecords, SpoolBacklogBytes int64
	// HasHost is false for a worker that sends no host figures (older).
	HasHost bool
	// DiskFreeBytes is the space free in its work folder (-1: unknown).
	DiskFreeBytes                                              int64
	ArtifactCacheBytes, ArtifactCacheHits, ArtifactCacheMisses int64
	JobsRunning                                                int64
}

// New makes a registry with the lab's metrics and Go's process and runtime
// collectors.
func New() *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.schedPass = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "lava_scheduler_pass_duration_seconds", Help: "Duration of one scheduling pass.",
		Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 10),
	})
	m.schedAssigned = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "lava_scheduler_assigned_jobs_total", Help: "Jobs given a device by the scheduler.",
	})
	m.logRecords = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "lava_log_records_ingested_total", Help: "Job log records stored from workers.",
	})
	m.logBytes = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "lava_log_bytes_ingested_total", Help: "Bytes of job log messages stored from workers.",
	})
	m.startLatency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "lava_job_submit_to_start_seconds", Help: "Time from a job's submission to its start on a worker.",
		Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 21600, 86400},
	})
	m.planDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "lava_driver_plan_duration_seconds", Help: "Duration of driver plan calls, by driver name.",
		Buckets: prometheus.ExponentialBuckets(0.0005, 3, 10),
	}, []string{"driver"})
	m.planFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lava_driver_plan_failures_total", Help: "Driver plan calls that failed, by driver name.",
	}, []string{"driver"})
	m.jobs = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "lava_jobs", Help: "Jobs by state and health (health is Unknown until Finished).",
	}, []string{"state", "health"})
	m.queue = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "lava_queue_jobs", Help: "Submitted jobs waiting for a device, by requested device type.",
	}, []string{"device_type"})
	m.devices = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "lava_devices", Help: "Devices by device type, health and state.",
	}, []string{"device_type", "health", "state"})
	m.workerOnline = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "lava_worker_online", Help: "1 when the worker is online, else 0.",
	}, []string{"worker"})
	m.workerSeen = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "lava_worker_last_seen_timestamp_seconds", Help: "Unix time of the worker's last request (0 = never).",
	}, []string{"worker"})
	m.refreshErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "lava_metrics_refresh_errors_total", Help: "Failed refreshes of the state gauges.",
	})
	m.refreshTime = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "lava_metrics_refresh_timestamp_seconds", Help: "Unix time of the last successful refresh of the state gauges.",
	})
	for i, o := range []prometheus.GaugeOpts{
		{Name: "lava_worker_spool_failing_jobs", Help: "Jobs whose log spool cannot write to the worker's disk now (full disk, I/O error), as the worker last reported."},
		{Name: "lava_worker_spool_held_records", Help: "Job log records the worker holds in memory because its disk refused them, as last reported."},
		{Name: "lava_worker_spool_write_errors", Help: "Failed spool writes since the worker started, as last reported."},
		{Name: "lava_worker_spool_lost_records", Help: "Job log records the worker dropped since it started (disk refused them, memory bound reached), as last reported."},
	} {
		m.spool[i] = prometheus.NewGaugeVec(o, []string{"worker"})
		m.reg.MustRegister(m.spool[i])
	}
	for i, o := range []prometheus.GaugeOpts{
		{Name: "lava_worker_spool_backlog_records", Help: "Job log records the worker spooled and the server has not acknowledged, as last reported."},
		{Name: "lava_worker_spool_backlog_bytes", Help: "Bytes of the job log records the worker spooled and the server has not acknowledged, as last reported."},
		{Name: "lava_worker_disk_free_bytes", Help: "Space free in the worker's work folder, as last reported (-1: unknown)."},
		{Name: "lava_worker_artifact_cache_bytes", Help: "Size of the worker's artifact cache, as last reported."},
		{Name: "lava_worker_artifact_cache_hits", Help: "Downloads the worker's artifact cache served since the worker started, as last reported."},
		{Name: "lava_worker_jobs_running", Help: "Jobs the worker runs or still reports, as it last reported."},
		{Name: "lava_worker_report_timestamp_seconds", Help: "Unix time of the worker's last report of its spools and host."},
	} {
		m.report[i] = prometheus.NewGaugeVec(o, []string{"worker"})
		m.reg.MustRegister(m.report[i])
	}
	m.reg.MustRegister(m.schedPass, m.schedAssigned, m.logRecords, m.logBytes, m.startLatency,
		m.planDuration, m.planFailures, m.jobs, m.queue, m.devices, m.workerOnline, m.workerSeen,
		m.refreshErrors, m.refreshTime,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry returns the registry, for other parts' own collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in Prometheus' text format (and
// OpenMetrics when asked).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{EnableOpenMetrics: true})
}

// ObserveSchedPass records one scheduling pass: its duration and the jobs
// it assigned. Its shape fits sched.Options.OnPass through a closure.
func (m *Metrics) ObserveSchedPass(took time.Duration, assigned int) {
	if m == nil {
		return
	}
	m.schedPass.Observe(took.Seconds())
	m.schedAssigned.Add(float64(assigned))
}

// ObserveLogs records a stored batch of n new log records holding bytes
// bytes of messages (count only records newly stored, not a resend).
func (m *Metrics) ObserveLogs(n, bytes int) {
	if m == nil || n <= 0 {
		return
	}
	m.logRecords.Add(float64(n))
	m.logBytes.Add(float64(max(bytes, 0)))
}

// ObserveWorkerSpool records the state of a worker's job spools, as its
// last poll reported it (workerproto.SpoolObserver).
func (m *Metrics) ObserveWorkerSpool(worker string, failing, held, writeErrors, lost int64) {
	if m == nil {
		return
	}
	for i, v := range []int64{failing, held, writeErrors, lost} {
		m.spool[i].WithLabelValues(worker).Set(float64(v))
	}
}

// ObserveWorkerReport records a worker's report of its spools and host (as
// its poll carried it) in the gauges and as its last report.
func (m *Metrics) ObserveWorkerReport(worker string, r WorkerReport) {
	if m == nil {
		return
	}
	m.rmu.Lock()
	if m.reports == nil {
		m.reports = map[string]WorkerReport{}
	}
	m.reports[worker] = r
	m.rmu.Unlock()
	m.report[0].WithLabelValues(worker).Set(float64(r.SpoolBacklogRecords))
	m.report[1].WithLabelValues(worker).Set(float64(r.SpoolBacklogBytes))
	if r.HasHost {
		m.report[2].WithLabelValues(worker).Set(float64(r.DiskFreeBytes))
		m.report[3].WithLabelValues(worker).Set(float64(r.ArtifactCacheBytes))
		m.report[4].WithLabelValues(worker).Set(float64(r.ArtifactCacheHits))
		m.report[5].WithLabelValues(worker).Set(float64(r.JobsRunning))
	}
	m.report[6].WithLabelValues(worker).Set(float64(r.At.UnixMilli()) / 1000)
}

// WorkerReport returns a worker's last report, if it sent one since the
// server started.
func (m *Metrics) WorkerReport(worker string) (WorkerReport, bool) {
	if m == nil {
		return WorkerReport{}, false
	}
	m.rmu.Lock()
	defer m.rmu.Unlock()
	r, ok := m.reports[worker]
	return r, ok
}

// ObserveJobStarted records a job's submit-to-start latency; call it with
// the job StartJob returned when it moved to Running (not on a resend).
func (m *Metrics) ObserveJobStarted(j model.Job) {
	if m == nil || j.SubmitTime.IsZero() || j.StartTime.IsZero() {
		return
	}
	m.startLatency.Observe(max(j.StartTime.Sub(j.SubmitTime).Seconds(), 0))
}

// ObservePlan records one driver plan call; err != nil counts a failure.
// Its signature fits plugins/registry Options.OnPlan.
func (m *Metrics) ObservePlan(driver string, took time.Duration, err error) {
	if m == nil {
		return
	}
	m.planDuration.WithLabelValues(driver).Observe(took.Seconds())
	if err != nil {
		m.planFailures.WithLabelValues(driver).Inc()
	}
}

// Refresh re-reads the state gauges from the store: a count per job state
// (and per health of finished jobs), one per device type for the queue, and
// the device and worker lists (small tables). Counts use the store's
// indexed list totals with a page of one row, so a refresh costs a dozen
// small queries however many jobs exist.
func (m *Metrics) Refresh(ctx context.Context, st store.Store) error {
	if m == nil {
		return nil
	}
	err := m.refresh(ctx, st)
	if err != nil {
		m.refreshErrors.Inc()
		return err
	}
	m.refreshTime.SetToCurrentTime()
	return nil
}

func (m *Metrics) refresh(ctx context.Context, st store.Store) error {
	sys := store.System()
	count := func(f store.JobFilter) (int, error) {
		f.Limit = 1
		_, n, err := st.ListJobs(ctx, sys, f)
		return n, err
	}
	jobs := map[[2]string]int{}
	for s := model.JobSubmitted; s <= model.JobFinished; s++ {
		if s == model.JobFinished {
			for h := model.JobUnknown; h <= model.JobCanceled; h++ {
				n, err := count(store.JobFilter{States: []model.JobState{s}, Healths: []model.JobHealth{h}})
				if err != nil {
					return fmt.Errorf("counting %s/%s jobs: %w", s, h, err)
				}
				jobs[[2]string{s.String(), h.String()}] = n
			}
			continue
		}
		n, err := count(store.JobFilter{States: []model.JobState{s}})
		if err != nil {
			return fmt.Errorf("counting %s jobs: %w", s, err)
		}
		jobs[[2]string{s.String(), model.JobUnknown.String()}] = n
	}
	types, err := st.ListDeviceTypes(ctx)
	if err != nil {
		return fmt.Errorf("listing device types: %w", err)
	}
	queue := map[string]int{}
	for _, dt := range types {
		n, err := count(store.JobFilter{States: []model.JobState{model.JobSubmitted}, DeviceType: dt.Name})
		if err != nil {
			return fmt.Errorf("counting the queue of %s: %w", dt.Name, err)
		}
		queue[dt.Name] = n
	}
	devs, err := st.ListDevices(ctx, store.DeviceFilter{IncludeRetired: true})
	if err != nil {
		return fmt.Errorf("listing devices: %w", err)
	}
	workers, err := st.ListWorkers(ctx)
	if err != nil {
		return fmt.Errorf("listing workers: %w", err)
	}

	// Reset then set, so removed device types and workers disappear.
	m.jobs.Reset()
	for k, n := range jobs {
		m.jobs.WithLabelValues(k[0], k[1]).Set(float64(n))
	}
	m.queue.Reset()
	for dt, n := range queue {
		m.queue.WithLabelValues(dt).Set(float64(n))
	}
	m.devices.Reset()
	for _, d := range devs {
		m.devices.WithLabelValues(d.DeviceType, d.Health.String(), d.State.String()).Inc()
	}
	m.workerOnline.Reset()
	m.workerSeen.Reset()
	for _, w := range workers {
		on := 0.0
		if w.State == model.WorkerOnline {
			on = 1
		}
		m.workerOnline.WithLabelValues(w.Hostname).Set(on)
		seen := 0.0
		if !w.LastPing.IsZero() {
			seen = float64(w.LastPing.UnixMilli()) / 1000
		}
		m.workerSeen.WithLabelValues(w.Hostname).Set(seen)
	}
	return nil
}

// Run refreshes the state gauges now and then every interval (DefaultRefresh
// when ≤ 0) until ctx ends. A failed refresh is logged and counted; the
// gauges keep their last values.
func (m *Metrics) Run(ctx context.Context, st store.Store, interval time.Duration, log *slog.Logger) {
	if m == nil {
		return
	}
	if interval <= 0 {
		interval = DefaultRefresh
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := m.Refresh(ctx, st); err != nil && !errors.Is(err, context.Canceled) {
			log.Warn("metrics: refreshing state gauges", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
