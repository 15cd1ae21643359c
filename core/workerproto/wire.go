package workerproto

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/lavalab/lavalab/core/model"
)

// Prefix is where the protocol is mounted on the server.
const Prefix = "/worker/v1"

// Headers of every request.
const (
	// HeaderVersion carries the worker's version on every request.
	HeaderVersion = "LAVA-Worker-Version"
	// HeaderJobToken carries the per-job token on job-scoped requests
	// (start, logs, end), next to the worker's own Authorization header.
	HeaderJobToken = "LAVA-Job-Token"
	// HeaderSHA256 is the SHA-256 of a served worker binary or driver
	// module (lower-case hex).
	HeaderSHA256 = "LAVA-SHA256"
	// HeaderBuildVersion is the version of a served worker binary.
	HeaderBuildVersion = "LAVA-Build-Version"
)

// HeaderName carries the worker's --name; the server refuses a token of
// another worker.
const HeaderName = "LAVA-Worker-Name"

// Error codes the worker branches on (in the {"error":{"code"}} body).
const (
	// CodeUnauthorized: wrong or missing worker token (401).
	CodeUnauthorized = "unauthorized"
	// CodeJobToken: wrong or missing job token, or a job of another
	// worker (403).
	CodeJobToken = "job_token"
	// CodeSafeToStop: the worker's version differs from the server's and
	// it runs no job: safe to stop and upgrade (409).
	CodeSafeToStop = "version_mismatch_safe_to_stop"
	// CodeLogGap: a log batch starts beyond the next expected record
	// (409); details.expected is where to resend from.
	CodeLogGap = "log_gap"
	// CodeLogsMissing: an end report came before all its records (409);
	// details.expected is the next record the server expects.
	CodeLogsMissing = "logs_missing"
	// CodeJobFinished: the job is finished (409): stop it, send nothing
	// more for it.
	CodeJobFinished = "job_finished"
	// CodeBadRequest: the request is malformed (400).
	CodeBadRequest = "bad_request"
	// CodeStopping: the server is stopping and ends a held poll (503): a
	// worker polls again, once the server is back.
	CodeStopping = "server_stopping"
)

// DefaultPollWait is how long the server holds a poll when there is
// nothing to do, unless the worker asks for less (PollRequest.WaitMS).
const DefaultPollWait = 25 * time.Second

// Limits of one request.
const (
	// MaxBatchRecords is the most records one log batch may carry.
	MaxBatchRecords = 5000
	// MaxBodyBytes bounds a request body (a log batch or an end report).
	MaxBodyBytes = 8 << 20
	// MaxWorkerLogsBytes bounds a POST /worker/v1/logs body: the batches
	// of a worker's jobs, one JSON object per line (NDJSON).
	MaxWorkerLogsBytes = 64 << 20
	// MaxWorkerLogsJobs is the most job batches one POST /worker/v1/logs
	// may carry.
	MaxWorkerLogsJobs = 4096
	// MaxMessageBytes bounds one record's message (LAVA: 10^6 chars).
	MaxMessageBytes = 1 << 20
)

// PollRequest is the body of POST /worker/v1/poll.
type PollRequest struct {
	// Running lists the jobs the worker is running or still reporting
	// (logs or end not yet acknowledged).
	Running []int64 `json:"running"`
	// Canceling lists the jobs among Running the worker is already
	// stopping (the server does not ask again).
	Canceling []int64 `json:"canceling,omitempty"`
	// WaitMS is how long the server may hold the request when there is
	// nothing to do (0 = the server's default, ~25 s; capped at 60 s).
	WaitMS int64 `json:"wait_ms,omitempty"`
	// Spool is the state of the worker's job spools (records held in
	// memory while its disk refuses them, records lost); the server shows
	// it in /metrics. Absent from older workers.
	Spool *SpoolStatus `json:"spool,omitempty"`
	// Host is the worker's host figures (disk free, artifact cache, jobs
	// running); the server shows the last report. Absent from older
	// workers.
	Host *HostStatus `json:"host,omitempty"`
}

// PollAnswer is the answer to a poll.
type PollAnswer struct {
	// Start lists jobs to start; starting is idempotent by job id.
	Start []StartJob `json:"start"`
	// Cancel lists jobs to stop (Canceling, or finished by the server).
	Cancel []int64 `json:"cancel"`
	// ServerVersion is the server's version.
	ServerVersion string `json:"server_version"`
}

// StartJob is everything a worker needs to run one job.
type StartJob struct {
	ID int64 `json:"id"`
	// Token is the per-job token for start, logs and end of this job.
	Token string `json:"token"`
	// Definition is the job YAML verbatim.
	Definition string `json:"definition"`
	Device     string `json:"device"`
	DeviceType string `json:"device_type"`
	// Dictionary is the device dictionary text (jinja2 or YAML form).
	Dictionary string `json:"dictionary"`
	// Settings are the device type's settings overrides (the merged
	// settings the job was scheduled with when the server recorded them).
	Settings map[string]any `json:"settings,omitempty"`
	// DriverSHA256 pins the driver version ("" = the worker's active
	// driver for DeviceType).
	DriverSHA256 string `json:"driver_sha256,omitempty"`
	// Driver names the pinned version as the server knows it (nil when it
	// does not): a worker looks a native driver up in its own list, and
	// names what it lacks.
	Driver      *DriverRef `json:"driver,omitempty"`
	HealthCheck bool       `json:"health_check,omitempty"`
	// SettingsFinal says Settings already hold the dictionary, evaluated
	// through the device type's imported LAVA template (issue 16): the
	// dispatcher layers only the driver's defaults under them.
	SettingsFinal bool `json:"settings_final,omitempty"`
	// DriverName names the driver the device type runs on when it is not
	// the type's own name (issue 16: a type bound to a driver, or LAVA's
	// name of a shipped driver): an unpinned job looks it up.
	DriverName string `json:"driver_name,omitempty"`
}

// DriverRef names a driver version.
type DriverRef struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	// Kind is "wasm" (fetched from the server) or "native" (installed by
	// the worker's admin, never sent by the server).
	Kind string `json:"kind"`
}

// Record is one log record on the wire.
type Record struct {
	Time  time.Time `json:"dt"`
	Level string    `json:"lvl"`
	// Message is the text (JSON text of a mapping when Structured).
	Message    string `json:"msg"`
	Structured bool   `json:"structured,omitempty"`
	NS         string `json:"ns,omitempty"`
}

// LogBatch is the body of POST /worker/v1/jobs/{id}/logs.
type LogBatch struct {
	// First is the index of Records[0] in the job log (0-based).
	First   int64    `json:"first"`
	Records []Record `json:"records"`
	// Job and Token name the job and carry its token in a line of POST
	// /worker/v1/logs (the worker's batches of many jobs in one request);
	// empty in POST /worker/v1/jobs/{id}/logs.
	Job   int64  `json:"job,omitempty"`
	Token string `json:"token,omitempty"`
}

// WorkerLogsAck answers POST /worker/v1/logs: one entry per line of the
// request (a job's batch), in the request's order. A job's batch refused
// (wrong token, log gap, ...) has its Error, as the per-job endpoint would
// have answered it; the others are stored all the same.
type WorkerLogsAck struct {
	Jobs []JobLogAck `json:"jobs"`
}

// JobLogAck is one job's answer in a WorkerLogsAck.
type JobLogAck struct {
	Job int64 `json:"job"`
	// Next is the index of the next record the server expects.
	Next   int64      `json:"next"`
	Status int        `json:"status,omitempty"` // the HTTP status the per-job endpoint would have answered, with Error
	Error  *ErrorInfo `json:"error,omitempty"`
}

// LogAck answers a stored (or already stored) batch.
type LogAck struct {
	// Next is the index of the next record the server expects.
	Next int64 `json:"next"`
}

// EndReport is the body of POST /worker/v1/jobs/{id}/end.
type EndReport struct {
	// Health is complete, incomplete or canceled.
	Health    string `json:"health"`
	ErrorType string `json:"error_type,omitempty"`
	Error     string `json:"error,omitempty"`
	// LastIndex is the index of the job's last record (-1: no record).
	LastIndex int64      `json:"last_index"`
	Cases     []TestCase `json:"cases,omitempty"`
}

// EndAck answers an end report: the job's final health.
type EndAck struct {
	Health string `json:"health"`
}

// TestCase is one result on the wire.
type TestCase struct {
	Suite       string          `json:"suite"`
	Name        string          `json:"name"`
	Result      string          `json:"result"`
	Measurement *float64        `json:"measurement,omitempty"`
	Units       string          `json:"units,omitempty"`
	Set         string          `json:"set,omitempty"`
	Metadata    json.RawMessage `json:"metadata,omitempty"`
	Logged      time.Time       `json:"logged,omitzero"`
	LogStart    int64           `json:"log_start"`
	LogEnd      int64           `json:"log_end"`
}

// ErrorBody is the shape of every error answer (the REST API's).
type ErrorBody struct {
	Error ErrorInfo `json:"error"`
}

// ErrorInfo is the inside of an ErrorBody.
type ErrorInfo struct {
	Code    string       `json:"code"`
	Message string       `json:"message"`
	Details *ErrorDetail `json:"details,omitempty"`
}

// ErrorDetail carries what the worker needs to recover.
type ErrorDetail struct {
	// Expected is the next record index the server expects (log_gap,
	// logs_missing).
	Expected *int64 `json:"expected,omitempty"`
	// ServerVersion and Binaries come with the safe-to-stop answer:
	// Binaries maps "GOOS/GOARCH" to the SHA-256 of the worker build the
	// server serves at /worker/v1/binaries/{GOOS}/{GOARCH}.
	ServerVersion string            `json:"server_version,omitempty"`
	Binaries      map[string]string `json:"binaries,omitempty"`
}

// ToRecord converts a model record to the wire.
func ToRecord(r model.LogRecord) Record {
	return Record{Time: r.Time, Level: r.Level, Message: r.Message, Structured: r.Structured, NS: r.NS}
}

// FromRecord converts a wire record, checking its level and size.
func FromRecord(idx int64, r Record) (model.LogRecord, error) {
	if !model.ValidLevel(r.Level) {
		return model.LogRecord{}, fmt.Errorf("record %d: level %q is not one of LAVA's levels", idx, r.Level)
	}
	if len(r.Message) > MaxMessageBytes {
		return model.LogRecord{}, fmt.Errorf("record %d: message of %d bytes is over the %d bytes limit", idx, len(r.Message), MaxMessageBytes)
	}
	t := r.Time
	if t.IsZero() {
		t = time.Now()
	}
	return model.LogRecord{Index: idx, Time: t.UTC(), Level: r.Level, Message: r.Message, Structured: r.Structured, NS: r.NS}, nil
}

// ToCase converts a model test case to the wire.
func ToCase(c model.TestCase) TestCase {
	return TestCase{Suite: c.Suite, Name: c.Name, Result: c.Result.String(), Measurement: c.Measurement, Units: c.Units,
		Set: c.Set, Metadata: c.Metadata, Logged: c.Logged, LogStart: c.LogStart, LogEnd: c.LogEnd}
}

// FromCase converts a wire test case.
func FromCase(c TestCase) (model.TestCase, error) {
	res, err := model.ParseTestResult(c.Result)
	if err != nil {
		return model.TestCase{}, fmt.Errorf("test case %q: %w", c.Name, err)
	}
	return model.TestCase{Suite: c.Suite, Name: c.Name, Result: res, Measurement: c.Measurement, Units: c.Units,
		Set: c.Set, Metadata: c.Metadata, Logged: c.Logged, LogStart: c.LogStart, LogEnd: c.LogEnd}, nil
}

// SpoolStatus is the state of a worker's job spools, reported on every
// poll (PollRequest.Spool) and shown in the server's /metrics.
type SpoolStatus struct {
	// Failing is how many jobs' spools cannot write to disk now.
	Failing int64 `json:"failing"`
	// Held is how many records are held in memory only (not on disk).
	Held int64 `json:"held"`
	// WriteErrors counts failed spool writes since the worker started.
	WriteErrors int64 `json:"write_errors"`
	// Lost counts records dropped since the worker started: the disk
	// refused them and the memory bound was reached.
	Lost int64 `json:"lost"`
	// BacklogRecords and BacklogBytes are the records (and their bytes,
	// as spooled) not acknowledged by the server yet: the worker's backlog
	// while the server is slow or unreachable.
	BacklogRecords int64 `json:"backlog_records"`
	BacklogBytes   int64 `json:"backlog_bytes"`
}

// HostStatus is what a worker reports of its host on each poll, beside
// its spools (PollRequest.Host); the server shows the last report of each
// worker in /metrics and on the workers page, and the worker in its own
// /metrics.
type HostStatus struct {
	// DiskFreeBytes is the space free (to the worker's user) in its work
	// folder's file system; -1 where unknown.
	DiskFreeBytes int64 `json:"disk_free_bytes"`
	// ArtifactCacheBytes is the size of the artifact download cache;
	// ArtifactCacheHits and ArtifactCacheMisses count the cached
	// downloads served from it or fetched since the worker started.
	ArtifactCacheBytes  int64 `json:"artifact_cache_bytes"`
	ArtifactCacheHits   int64 `json:"artifact_cache_hits"`
	ArtifactCacheMisses int64 `json:"artifact_cache_misses"`
	// JobsRunning is how many jobs the worker runs or still reports.
	JobsRunning int64 `json:"jobs_running"`
}
