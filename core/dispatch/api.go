package dispatch

import (
	"context"
	"github.com/lavalab/lavalab/core/hosttools"
	"log/slog"

	"github.com/lavalab/lavalab/core/drivers"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/sdk"
)

// Sink receives a job's log records in order (model.LogRecord: time, level,
// message; LAVA levels). Record is called from one goroutine at a time and
// must not block for long. Index is set by the dispatcher (0, 1, 2, ...).
type Sink interface {
	Record(rec model.LogRecord)
}

// SinkFunc adapts a function to a Sink.
type SinkFunc func(rec model.LogRecord)

// Record calls f(rec).
func (f SinkFunc) Record(rec model.LogRecord) { f(rec) }

// Options configure a Dispatcher.
type Options struct {
	// WorkDir is the root for per-job folders ({WorkDir}/{job id}/...).
	WorkDir string
	// CacheDir is the artifact cache shared by jobs; "" = {WorkDir}/cache.
	CacheDir string
	// CacheMax caps the artifact cache in bytes (0: no cap; least recently
	// used entries are evicted, never a running job's: artifacts.Downloader).
	CacheMax int64
	// TFTPAddr and HTTPAddr are the addresses the shared TFTP and HTTP
	// artifact servers listen on; "" = pick a free port on all interfaces
	// (TFTP) / on the TFTPHost (HTTP).
	TFTPAddr, HTTPAddr string
	// TFTPHost is the address boards use to reach us ({SERVER_IP});
	// "" = the host's outbound address, else 127.0.0.1.
	TFTPHost string
	// NFSExport is a directory the host's NFS server exports to the boards
	// (an /etc/exports line such as
	// "/var/lib/lava-worker/nfs *(rw,no_root_squash,no_subtree_check)",
	// the way LAVA exports its dispatcher tmp directory). An nfsrootfs is
	// unpacked under NFSExport/jobs/{id}/nfsrootfs/ and removed after the
	// job. "" = this worker serves no NFS: a plan whose serve step asks
	// for NFS fails with an Infrastructure error naming the step.
	NFSExport string
	// NFSServerIP is {NFS_SERVER_IP} for the drivers; "" = TFTPHost.
	NFSServerIP string
	// Tools is the worker admin's allow list of host tools (the driver
	// sandbox, sandbox.go): tool steps, and a native driver's command
	// lines (under the tool sh), run only where it allows them. nil
	// allows none.
	Tools *hosttools.Policy
	// FileURLDirs are the folders file:// artifact and test definition
	// URLs may read from (absolute paths; symbolic links may not lead out
	// of them). Empty = file:// URLs are refused: a job's submitter must
	// not read the worker's files (artifacts.Downloader.FileDirs).
	FileURLDirs []string
	// Logger receives the dispatcher's own diagnostics (not job logs).
	Logger *slog.Logger
}

// Request is one job to run (or plan) on one device.
type Request struct {
	JobID int64
	// Definition is the job YAML verbatim.
	Definition []byte
	// DeviceName names the board; "" = the dictionary's hostname, else "device".
	DeviceName string
	// Dictionary is the device dictionary text (jinja2 or YAML form).
	Dictionary []byte
	// Settings are admin overrides for the device type, merged over the
	// driver's defaults (and under the dictionary).
	Settings map[string]any
	// Driver is the device type's driver, already loaded.
	Driver drivers.Driver
	// SettingsFinal says Settings already hold the dictionary's values,
	// evaluated through the device type's imported LAVA template (issue
	// 16): they are layered over the driver's defaults only, not under the
	// dictionary again.
	SettingsFinal bool
	// Multinode reaches the group's coordinator of a multinode sub-job
	// (issue 21); nil: a multinode sub-job ends Incomplete at once.
	Multinode MultinodeClient
}

// Outcome is how a job ended.
type Outcome struct {
	// Health is Complete, Incomplete or Canceled.
	Health model.JobHealth
	// ErrorType is one of sdk.Error* ("" for Complete); Error says what
	// failed and where.
	ErrorType, Error string
	// Cases are the job's test cases (suite lava and <idx>_<name> suites),
	// in the order they were recorded; LogStart/LogEnd are record indexes.
	Cases []model.TestCase
	// Settings are the merged settings the job ran with.
	Settings map[string]any
}

// StagePlan is the plan of one job action: what --plan-only prints.
type StagePlan struct {
	// Level is the action's pipeline level ("1", "2", ...).
	Level string `json:"level"`
	// Action is the action as the driver saw it.
	Action sdk.Action `json:"action"`
	// TimeoutMS is the action's timeout after LAVA's rules.
	TimeoutMS int64 `json:"timeout_ms"`
	// FailureRetry is the action's failure_retry (1 = no retry).
	FailureRetry int `json:"failure_retry"`
	// Steps are the driver's steps.
	Steps []sdk.Step `json:"steps"`
}

// Ensure the signatures stay as published (the worker builds against them).
var (
	_ func(context.Context, Options) (*Dispatcher, error)              = New
	_ func(*Dispatcher) error                                          = (*Dispatcher).Close
	_ func(*Dispatcher, context.Context, Request, Sink) Outcome        = (*Dispatcher).Run
	_ func(*Dispatcher, context.Context, Request) ([]StagePlan, error) = (*Dispatcher).Plan
)
