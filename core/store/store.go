package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/lavalab/lavalab/core/model"
)

// Errors callers branch on (wrapped with context; test with errors.Is).
var (
	// ErrNotFound: no such row (or not visible to the viewer).
	ErrNotFound = errors.New("not found")
	// ErrExists: a row with that name already exists.
	ErrExists = errors.New("already exists")
	// ErrConflict: the row is not in a state that allows the change
	// (for example cancelling a finished job).
	ErrConflict = errors.New("conflict")
	// ErrInvalid: a value is out of range or refers to nothing.
	ErrInvalid = errors.New("invalid")
)

// Viewer is who reads: visibility of jobs is decided from it, below the API
// and the web pages, in one place (the SQL each backend builds from
// VisibilityClause). The zero Viewer is anonymous.
type Viewer struct {
	Username string
	Admin    bool
	// Groups the user belongs to (filled by the store on authentication).
	Groups []string
}

// System is the viewer for internal callers (scheduler, worker protocol):
// it sees everything.
func System() Viewer { return Viewer{Username: "lava-system", Admin: true} }

// CanView is the visibility rule for one job, the same one the stores apply
// in SQL: admins see all; public jobs are seen by everyone (anonymous too);
// personal jobs by their submitter; group jobs by the submitter and members
// of any of the viewing groups.
func CanView(v Viewer, j model.Job) bool {
	if v.Admin || j.Visibility == model.VisibilityPublic {
		return true
	}
	if v.Username != "" && v.Username == j.Submitter {
		return true
	}
	if j.Visibility == model.VisibilityGroup {
		for _, g := range j.ViewingGroups {
			for _, m := range v.Groups {
				if g == m {
					return true
				}
			}
		}
	}
	return false
}

// Store is everything the lab persists.
type Store interface {
	Users
	Sessions
	Workers
	DeviceTypes
	Devices
	Tags
	Jobs
	Scheduling
	Logs
	Results
	Events
	DriverModules
	Retention
	HealthHistory
	// Leader tries to become the one scheduler among several server
	// instances (PostgreSQL advisory lock; always granted with SQLite, which
	// serves one machine). It returns ok=false when another instance leads.
	// release gives the leadership up; it is also given up when ctx ends.
	Leader(ctx context.Context, name string) (release func(), ok bool, err error)
	// Backend names the implementation ("sqlite", "postgres").
	Backend() string
	Close() error
}

// Users stores users, groups and API tokens (hashed).
type Users interface {
	CreateUser(ctx context.Context, u model.User) (model.User, error)
	User(ctx context.Context, username string) (model.User, error)
	ListUsers(ctx context.Context) ([]model.User, error)
	// SetAdmin grants or removes admin rights.
	SetAdmin(ctx context.Context, username string, admin bool) error
	// CreateToken stores the hash of a new API token for the user.
	CreateToken(ctx context.Context, username, description string, hash []byte) (model.Token, error)
	ListTokens(ctx context.Context, username string) ([]model.Token, error)
	DeleteToken(ctx context.Context, username string, id int64) error
	// UserByTokenHash authenticates: it returns the token's user, with
	// Groups filled, and records the token's last use.
	UserByTokenHash(ctx context.Context, hash []byte) (model.User, error)
	CreateGroup(ctx context.Context, name string) error
	AddGroupMember(ctx context.Context, group, username string) error
	ListGroups(ctx context.Context) ([]model.Group, error)
}

// Sessions stores web sessions, so that the server can end them: at logout,
// and with the API token they were opened with (deleting the token or its
// user deletes its sessions).
type Sessions interface {
	// CreateSession stores a session: the hash of the cookie's secret, the
	// hash of the API token it was opened with (ErrNotFound if there is no
	// such token) and its expiry.
	CreateSession(ctx context.Context, hash, tokenHash []byte, expires time.Time) error
	// SessionUser returns the user of an unexpired session whose token
	// still exists, with Groups filled (ErrNotFound otherwise).
	SessionUser(ctx context.Context, hash []byte) (model.User, error)
	// DeleteSession ends a session; one already gone is not an error.
	DeleteSession(ctx context.Context, hash []byte) error
}

// Workers stores lab hosts.
type Workers interface {
	CreateWorker(ctx context.Context, w model.Worker) error
	Worker(ctx context.Context, hostname string) (model.Worker, error)
	ListWorkers(ctx context.Context) ([]model.Worker, error)
	WorkerByTokenHash(ctx context.Context, hash []byte) (model.Worker, error)
	// UpdateWorker applies fn to the stored worker in one transaction.
	UpdateWorker(ctx context.Context, hostname string, fn func(*model.Worker) error) (model.Worker, error)
	// SetWorkerToken replaces the worker's token hash.
	SetWorkerToken(ctx context.Context, hostname string, hash []byte) error
}

// DeviceTypes stores kinds of boards and their setting overrides.
type DeviceTypes interface {
	CreateDeviceType(ctx context.Context, dt model.DeviceType) error
	DeviceType(ctx context.Context, name string) (model.DeviceType, error)
	ListDeviceTypes(ctx context.Context) ([]model.DeviceType, error)
	UpdateDeviceType(ctx context.Context, name string, fn func(*model.DeviceType) error) (model.DeviceType, error)
}

// DeviceFilter selects devices; empty fields match all.
type DeviceFilter struct {
	DeviceType string
	Worker     string
	// IncludeRetired lists retired devices too.
	IncludeRetired bool
}

// Devices stores boards.
type Devices interface {
	// CreateDevice fails with ErrInvalid when the type or worker does not
	// exist, ErrExists when the hostname is taken. Tags are created as needed.
	CreateDevice(ctx context.Context, d model.Device) error
	Device(ctx context.Context, hostname string) (model.Device, error)
	ListDevices(ctx context.Context, f DeviceFilter) ([]model.Device, error)
	// UpdateDevice applies fn in one transaction. fn may change
	// Description, Worker, Dictionary, Tags and DeviceType; state, health
	// and current job change only through the methods made for them.
	UpdateDevice(ctx context.Context, hostname string, fn func(*model.Device) error) (model.Device, error)
	// SetDeviceHealth is the admin's health change. Retiring a device
	// cancels its job. Returns the device as stored.
	SetDeviceHealth(ctx context.Context, hostname string, h model.DeviceHealth) (model.Device, error)
}

// Tags stores device tags.
type Tags interface {
	CreateTag(ctx context.Context, t model.Tag) error
	ListTags(ctx context.Context) ([]model.Tag, error)
	DeleteTag(ctx context.Context, name string) error
}

// JobFilter selects jobs for a list; empty fields match all.
type JobFilter struct {
	States     []model.JobState
	Healths    []model.JobHealth
	DeviceType string
	Device     string
	Submitter  string
	// Text matches the description (case-insensitive substring).
	Text string
	// HealthCheck filters health checks (nil = both).
	HealthCheck *bool
	// Metadata keeps the jobs whose metadata has each name with exactly
	// that value.
	Metadata map[string]string
	// SubmittedAfter and SubmittedBefore bound the submit time (zero =
	// unbounded): after is inclusive, before exclusive.
	SubmittedAfter, SubmittedBefore time.Time
	// Offset and Limit page the list (Limit 0 = 50). Order is newest first.
	Offset, Limit int
	// CountLimit bounds the count ListJobs returns, which otherwise reads
	// every matching job: 0 counts them all; N > 0 stops at N (a count of
	// N then means "N or more"); -1 skips counting (the count is -1).
	CountLimit int
}

// Jobs stores test jobs.
type Jobs interface {
	// CreateJobs inserts jobs (several for multinode) in one transaction,
	// filling ID, SubID and SubmitTime, and returns them.
	CreateJobs(ctx context.Context, jobs []model.Job) ([]model.Job, error)
	// Job returns one job if the viewer may see it (else ErrNotFound).
	Job(ctx context.Context, v Viewer, id int64) (model.Job, error)
	// ListJobs returns a page of the jobs the viewer may see and the
	// number of such jobs in all.
	ListJobs(ctx context.Context, v Viewer, f JobFilter) ([]model.Job, int, error)
	// CancelJob: Submitted goes straight to Finished/Canceled; Scheduling
	// and Scheduled jobs (not yet started by a worker) are Finished/Canceled
	// and their device freed; Running goes to Canceling (the worker stops
	// it). Finished or Canceling: ErrConflict.
	CancelJob(ctx context.Context, id int64) (model.Job, error)
	// StartJob moves a Scheduled job to Running and its device to Running.
	// Starting a Running job again returns it unchanged (a worker's resend).
	StartJob(ctx context.Context, id int64) (model.Job, error)
	// FinishJob moves a job to Finished with its health (forced to
	// Canceled if it was Canceling), frees its device and updates the
	// device's health (health check: Complete → Good, Incomplete → Bad,
	// Canceled → Unknown; an infrastructure error on a normal job →
	// Unknown; a device in Maintenance, Bad or Retired keeps its health),
	// in one transaction. A finished job: ErrConflict.
	FinishJob(ctx context.Context, id int64, r JobResult) (model.Job, error)
}

// JobResult is how a job ended.
type JobResult struct {
	Health         model.JobHealth
	ErrorType      string
	FailureComment string
}

// InfrastructureError reports whether an error type puts the device's
// health to Unknown (LAVA: Bug, Configuration, Infrastructure).
func InfrastructureError(errorType string) bool {
	switch errorType {
	case "Bug", "Configuration", "Infrastructure":
		return true
	}
	return false
}

// Snapshot is what one scheduling pass needs, read in one go.
type Snapshot struct {
	// Queued are the Submitted jobs without a device whose device type has
	// a device in Devices (none when no device is free), any order, with only
	// the fields planning reads: ID, TargetGroup, Priority, requested
	// device type and device, Tags (sorted), HealthCheck and SubmitTime (a
	// long queue is read on every pass; queue timeouts are ExpireQueued's).
	Queued []model.Job
	// Devices are the devices that could take a job now: Idle, on an
	// Online+Active worker under its job limit, health Good or Unknown
	// (Unknown ones only take health checks).
	Devices []model.Device
	// Types are the device types of those devices, by name.
	Types map[string]model.DeviceType
	// LastHealthCheck is the submit time of each device's latest health
	// check, and JobsSinceHealthCheck the normal jobs started on it since.
	LastHealthCheck      map[string]time.Time
	JobsSinceHealthCheck map[string]int
	// WorkerSlots is, per worker with a job limit, how many more jobs it
	// may take now (absent = unlimited).
	WorkerSlots map[string]int
	// KnownDeviceTypes holds every device type name, to fail jobs whose
	// type was removed.
	KnownDeviceTypes map[string]bool
}

// Assignment gives a job a device. For a health check, Job.ID is 0 and the
// store creates the job from Job (submitter lava-health) in the same
// transaction.
type Assignment struct {
	Job    model.Job
	Device string
	// DriverSHA256 pins the driver version for the job.
	DriverSHA256 string
	// Settings are the merged settings recorded with the job (driver
	// defaults < device-type overrides < device dictionary); nil = none.
	Settings map[string]any
}

// Scheduling is what the scheduler reads and writes.
type Scheduling interface {
	SchedulingSnapshot(ctx context.Context) (Snapshot, error)
	// Assign applies assignments: each job goes Submitted → Scheduled and
	// its device Idle → Reserved in the same transaction (many assignments
	// share one), only if both are still as the snapshot saw them;
	// otherwise that assignment is skipped. It returns the applied ones
	// (health checks with their new IDs).
	Assign(ctx context.Context, as []Assignment) ([]Assignment, error)
	// ExpireQueued cancels Submitted jobs whose queue timeout has passed.
	ExpireQueued(ctx context.Context, now time.Time) ([]int64, error)
	// MarkDeviceGood puts an Unknown device to Good (used when its device
	// type has no health check to run).
	MarkDeviceGood(ctx context.Context, hostname string) error
}

// Logs stores job log records, append-only, keyed by (job, index).
type Logs interface {
	// AppendLogs stores records whose indexes start at first. Records
	// already stored (a resent batch) are skipped, not duplicated; a gap
	// (first beyond the next expected index) fails with ErrConflict and
	// changes nothing. It returns the next expected index.
	AppendLogs(ctx context.Context, jobID, first int64, recs []model.LogRecord) (next int64, err error)
	// LogCount returns the number of records stored for the job.
	LogCount(ctx context.Context, jobID int64) (int64, error)
	// ReadLogs returns up to limit records from index from on.
	ReadLogs(ctx context.Context, jobID, from int64, limit int) ([]model.LogRecord, error)
}

// Results stores test suites and cases.
type Results interface {
	// AddTestCases stores cases (suites are created as needed).
	AddTestCases(ctx context.Context, jobID int64, cases []model.TestCase) error
	ListTestSuites(ctx context.Context, jobID int64) ([]model.TestSuite, error)
	// ListTestCases returns a job's cases, optionally of one suite, in order.
	ListTestCases(ctx context.Context, jobID int64, suite string, offset, limit int) ([]model.TestCase, error)
}

// Topics of events.
const (
	// TopicJobSubmitted: a job entered the queue (scheduler wakes). Key:
	// the job id.
	TopicJobSubmitted = "job_submitted"
	// TopicDeviceFree: a device became Idle, or its health or worker
	// changed so it may take a job (scheduler wakes). Key: the device
	// hostname (the worker's, or the device type's name, when a worker or
	// device type changed).
	TopicDeviceFree = "device_free"
	// TopicJobScheduled: a job got a device (its worker wakes). Key: the
	// worker hostname.
	TopicJobScheduled = "job_scheduled"
	// TopicJobCanceling: a job is to be stopped (its worker wakes). Key:
	// the worker hostname.
	TopicJobCanceling = "job_canceling"
	// TopicJobFinished: a job ended (log followers wake). Key: the job id.
	TopicJobFinished = "job_finished"
	// TopicLogs: records were appended (log followers wake); Key is the job id.
	TopicLogs = "logs"
)

// KeyTopic names, for Subscribe, only the events of topic about key (and
// the topic's events without a key, which wake every follower). A follower
// of one job subscribes to its job's events, not every job's: at 1,000
// running jobs every job's log events are about 5,000 a second, which
// filled a whole-topic subscriber's buffer so that it missed its own job's
// (bench/logingest -follow sse: p99 0.70-0.86 s).
func KeyTopic(topic, key string) string { return topic + keyTopicSep + key }

// SplitKeyTopic splits a KeyTopic; ok is false for a whole topic.
func SplitKeyTopic(t string) (topic, key string, ok bool) {
	return strings.Cut(t, keyTopicSep)
}

// keyTopicSep separates a KeyTopic's topic and key (no topic contains it).
const keyTopicSep = "\x00"

// Event is a change other parts may wait for. Key is the job id, device
// hostname or worker hostname the event is about, as text.
type Event struct {
	Topic string
	Key   string
}

// Events delivers changes across processes (PostgreSQL LISTEN/NOTIFY) or
// within one (SQLite). The store publishes after each commit; delivery is
// best effort (a slow subscriber may miss events, so subscribers also
// re-read on a slow timer).
type Events interface {
	// Subscribe returns a channel of events of the given topics, closed
	// when ctx ends.
	Subscribe(ctx context.Context, topics ...string) (<-chan Event, error)
	// Publish sends an event to every subscriber of every instance.
	Publish(ctx context.Context, ev Event) error
}
