package model

import (
	"encoding/json"
	"time"
)

// Visibility kinds of a job.
const (
	VisibilityPublic   = "public"
	VisibilityPersonal = "personal"
	VisibilityGroup    = "group"
)

// Job is one submitted test job (a multinode job is one Job per sub-job,
// sharing TargetGroup).
type Job struct {
	ID int64
	// SubID is "<id>.<n>" for a multinode sub-job, else "".
	SubID string
	// TargetGroup ties the sub-jobs of a multinode job; "" otherwise.
	TargetGroup string
	// Description is the job_name.
	Description string
	// Definition is the submitted YAML, verbatim.
	Definition string
	State      JobState
	Health     JobHealth
	// Priority is 0..100, high first.
	Priority int
	// Visibility is public, personal or group; ViewingGroups for group.
	Visibility    string
	ViewingGroups []string
	// RequestedDeviceType is the job's device_type.
	RequestedDeviceType string
	// RequestedDevice pins the job to one device ("" = any of the type).
	RequestedDevice string
	Tags            []string
	// ActualDevice is the device the scheduler gave the job ("" = none yet).
	ActualDevice string
	// Worker is the actual device's worker at scheduling time.
	Worker      string
	Submitter   string
	HealthCheck bool
	SubmitTime  time.Time
	StartTime   time.Time // zero until Running
	EndTime     time.Time // zero until Finished
	// QueueTimeout cancels the job if it waits longer (0 = never).
	QueueTimeout time.Duration
	// ErrorType and FailureComment say why a job is Incomplete.
	ErrorType      string
	FailureComment string
	// DriverSHA256 is the driver version the job was scheduled with.
	DriverSHA256 string
	// Settings are the merged settings the job was scheduled with (driver
	// defaults < device-type overrides < device dictionary); nil before.
	Settings map[string]any
	// TokenHash is the SHA-256 of the per-job token given to the worker.
	TokenHash []byte
	// Metadata is the definition's metadata, flat (name → text value, see
	// job.MetadataOf); nil when it has none. The store fills it at creation
	// from Definition when it is nil.
	Metadata map[string]string
}

// Device is one board.
type Device struct {
	Hostname    string
	DeviceType  string
	Description string
	Worker      string
	State       DeviceState
	Health      DeviceHealth
	// Dictionary is the device dictionary text (jinja2 or YAML form).
	Dictionary string
	Tags       []string
	// CurrentJob is the job holding the device (0 = none).
	CurrentJob int64
	// LastHealthReport is when the last health check ended.
	LastHealthReport time.Time
}

// DeviceType is a kind of board, served by a driver.
type DeviceType struct {
	Name        string
	Description string
	// HealthCheck is the health-check job definition ("" = none).
	HealthCheck string
	// HealthFrequency is how often a health check runs, in
	// HealthDenominator units ("hours" or "jobs"); 0 = only when Unknown.
	HealthFrequency   int
	HealthDenominator string
	HealthDisabled    bool
	Aliases           []string
	// Settings are the admin's overrides of the driver's settings.yaml.
	Settings map[string]any
	Display  bool
	// Driver names the driver that runs the type ("" = the driver that
	// declares the type's name) (issue 16).
	Driver string
	// Template is the LAVA device-type template chain the type was
	// imported from (lavatemplate.Chain as JSON; "" = none) (issue 16).
	Template string
}

// Worker is one lab host running lava-worker.
type Worker struct {
	Hostname    string
	Description string
	State       WorkerState
	Health      WorkerHealth
	LastPing    time.Time
	// JobLimit is the number of jobs it may run at once (0 = unlimited).
	JobLimit int
	Version  string
	// TokenHash is the SHA-256 of the worker's token.
	TokenHash []byte
}

// User is a person or robot with API tokens.
type User struct {
	ID       int64
	Username string
	Email    string
	IsAdmin  bool
	Groups   []string
	Created  time.Time
}

// Token is one of a user's API tokens; the secret itself is never stored.
type Token struct {
	ID          int64
	Username    string
	Description string
	Hash        []byte
	Created     time.Time
	LastUsed    time.Time
}

// Group is a named set of users, for job visibility.
type Group struct {
	Name    string
	Members []string
}

// Tag is a device capability a job can require.
type Tag struct {
	Name        string
	Description string
}

// TestSuite is one suite of a job's results ("lava", "0_smoke-tests").
type TestSuite struct {
	ID    int64
	JobID int64
	Name  string
}

// TestCase is one result. Results carry no bug link (removed in 2020.09).
type TestCase struct {
	ID          int64
	JobID       int64
	Suite       string
	Name        string
	Result      TestResult
	Measurement *float64
	Units       string
	// Set is the test set (lava-test-set) the case belongs to, if any.
	Set string
	// Metadata is the results record as sent (JSON object).
	Metadata json.RawMessage
	Logged   time.Time
	// LogStart and LogEnd are record indexes of the case in the job log.
	LogStart int64
	LogEnd   int64
}

// Log levels, LAVA's names.
const (
	LevelDebug     = "debug"
	LevelInfo      = "info"
	LevelWarning   = "warning"
	LevelError     = "error"
	LevelException = "exception"
	LevelInput     = "input"
	LevelTarget    = "target"
	LevelFeedback  = "feedback"
	LevelEvent     = "event"
	LevelResults   = "results"
)

// LogLevels lists every valid level.
func LogLevels() []string {
	return []string{LevelDebug, LevelInfo, LevelWarning, LevelError, LevelException,
		LevelInput, LevelTarget, LevelFeedback, LevelEvent, LevelResults}
}

// ValidLevel reports whether l is one of LAVA's log levels.
func ValidLevel(l string) bool {
	switch l {
	case LevelDebug, LevelInfo, LevelWarning, LevelError, LevelException,
		LevelInput, LevelTarget, LevelFeedback, LevelEvent, LevelResults:
		return true
	}
	return false
}

// LogRecord is one line of a job log. Index counts from 0 per job.
type LogRecord struct {
	Index int64
	Time  time.Time
	Level string
	// Message is the text; for a mapping message (results, structured
	// events) it is the JSON encoding of the mapping and Structured is true.
	Message    string
	Structured bool
	// NS is the namespace of feedback records.
	NS string
}
