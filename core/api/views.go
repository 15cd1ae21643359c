package api

import (
	"encoding/json"
	"time"

	"github.com/lavalab/lavalab/core/model"
)

// ts renders a time as RFC 3339 in UTC, or null when zero.
func ts(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339Nano)
	return &s
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nonNilMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// JobView is a job as the API shows it.
type JobView struct {
	ID                  int64    `json:"id"`
	SubID               string   `json:"sub_id,omitempty"`
	TargetGroup         string   `json:"target_group,omitempty"`
	Description         string   `json:"description"`
	State               string   `json:"state"`
	Health              string   `json:"health"`
	Priority            int      `json:"priority"`
	Visibility          string   `json:"visibility"`
	ViewingGroups       []string `json:"viewing_groups"`
	RequestedDeviceType string   `json:"requested_device_type"`
	RequestedDevice     string   `json:"requested_device,omitempty"`
	Tags                []string `json:"tags"`
	ActualDevice        string   `json:"actual_device,omitempty"`
	Worker              string   `json:"worker,omitempty"`
	Submitter           string   `json:"submitter"`
	HealthCheck         bool     `json:"health_check"`
	SubmitTime          *string  `json:"submit_time"`
	StartTime           *string  `json:"start_time"`
	EndTime             *string  `json:"end_time"`
	QueueTimeoutSeconds float64  `json:"queue_timeout_seconds,omitempty"`
	ErrorType           string   `json:"error_type,omitempty"`
	FailureComment      string   `json:"failure_comment,omitempty"`
	// DriverSHA256 is the driver version the job was scheduled with.
	DriverSHA256 string `json:"driver_sha256,omitempty"`
	// Settings are the merged settings recorded when the job was
	// scheduled (not in lists).
	Settings map[string]any `json:"settings,omitempty"`
	// Metadata is the definition's metadata, flat ({} when none).
	Metadata map[string]string `json:"metadata"`
	// Notifications are the job's callbacks and emails with their
	// attempts (show only).
	Notifications []NotificationView `json:"notifications,omitempty"`
	// SubJobs are the sub-jobs of a multinode job's group, this one
	// included (show only; issue 21).
	SubJobs []SubJobView `json:"sub_jobs,omitempty"`
}

// NotificationView is one notification of a job as the API shows it
// (the callback's token is not shown).
type NotificationView struct {
	ID          int64                       `json:"id"`
	Event       string                      `json:"event"`
	Kind        string                      `json:"kind"`
	Target      string                      `json:"target"`
	State       string                      `json:"state"`
	NextAttempt *string                     `json:"next_attempt"`
	Attempts    []model.NotificationAttempt `json:"attempts"`
}

func notificationViews(ns []model.Notification) []NotificationView {
	out := make([]NotificationView, 0, len(ns))
	for _, n := range ns {
		v := NotificationView{ID: n.ID, Event: n.Event, Kind: n.Kind, Target: n.Target, State: n.State, Attempts: n.Attempts}
		if v.Attempts == nil {
			v.Attempts = []model.NotificationAttempt{}
		}
		if n.State == model.NotificationPending {
			v.NextAttempt = ts(n.NextAttempt)
		}
		out = append(out, v)
	}
	return out
}

func jobView(j model.Job) JobView {
	return JobView{
		ID: j.ID, SubID: j.SubID, TargetGroup: j.TargetGroup, Description: j.Description,
		State: j.State.String(), Health: j.Health.String(), Priority: j.Priority,
		Visibility: j.Visibility, ViewingGroups: nonNil(j.ViewingGroups),
		RequestedDeviceType: j.RequestedDeviceType, RequestedDevice: j.RequestedDevice,
		Tags: nonNil(j.Tags), ActualDevice: j.ActualDevice, Worker: j.Worker,
		Submitter: j.Submitter, HealthCheck: j.HealthCheck,
		SubmitTime: ts(j.SubmitTime), StartTime: ts(j.StartTime), EndTime: ts(j.EndTime),
		QueueTimeoutSeconds: j.QueueTimeout.Seconds(),
		ErrorType:           j.ErrorType, FailureComment: j.FailureComment, Metadata: nonNilMap(j.Metadata),
		DriverSHA256: j.DriverSHA256, Settings: j.Settings,
	}
}

// DeviceView is a device as the API shows it; Dictionary only on show, and
// to admins only (it may hold power-switch credentials).
type DeviceView struct {
	Hostname         string   `json:"hostname"`
	DeviceType       string   `json:"device_type"`
	Description      string   `json:"description"`
	Worker           string   `json:"worker"`
	State            string   `json:"state"`
	Health           string   `json:"health"`
	Tags             []string `json:"tags"`
	CurrentJob       *int64   `json:"current_job"`
	LastHealthReport *string  `json:"last_health_report"`
	Dictionary       *string  `json:"dictionary,omitempty"`
}

func deviceView(d model.Device, withDict bool) DeviceView {
	v := DeviceView{
		Hostname: d.Hostname, DeviceType: d.DeviceType, Description: d.Description, Worker: d.Worker,
		State: d.State.String(), Health: d.Health.String(), Tags: nonNil(d.Tags),
		LastHealthReport: ts(d.LastHealthReport),
	}
	if d.CurrentJob != 0 {
		id := d.CurrentJob
		v.CurrentJob = &id
	}
	if withDict {
		dict := d.Dictionary
		v.Dictionary = &dict
	}
	return v
}

// DeviceTypeView is a device type as the API shows it.
type DeviceTypeView struct {
	Name              string         `json:"name"`
	Description       string         `json:"description"`
	HealthCheck       string         `json:"health_check"`
	HealthFrequency   int            `json:"health_frequency"`
	HealthDenominator string         `json:"health_denominator"`
	HealthDisabled    bool           `json:"health_disabled"`
	Aliases           []string       `json:"aliases"`
	Settings          map[string]any `json:"settings"`
	Display           bool           `json:"display"`
	// Driver is the driver the type is bound to (issue 16; omitted when
	// the driver that declares the name runs it).
	Driver string `json:"driver,omitempty"`
}

func deviceTypeView(dt model.DeviceType) DeviceTypeView {
	s := dt.Settings
	if s == nil {
		s = map[string]any{}
	}
	den := dt.HealthDenominator
	if den == "" {
		den = "hours"
	}
	return DeviceTypeView{
		Name: dt.Name, Description: dt.Description, HealthCheck: dt.HealthCheck,
		HealthFrequency: dt.HealthFrequency, HealthDenominator: den, HealthDisabled: dt.HealthDisabled,
		Aliases: nonNil(dt.Aliases), Settings: s, Display: dt.Display, Driver: dt.Driver,
	}
}

// WorkerView is a worker as the API shows it (never its token hash).
type WorkerView struct {
	Hostname    string  `json:"hostname"`
	Description string  `json:"description"`
	State       string  `json:"state"`
	Health      string  `json:"health"`
	LastPing    *string `json:"last_ping"`
	JobLimit    int     `json:"job_limit"`
	Version     string  `json:"version"`
	// Token is the secret, only in the answer that made it.
	Token string `json:"token,omitempty"`
}

func workerView(w model.Worker) WorkerView {
	return WorkerView{Hostname: w.Hostname, Description: w.Description, State: w.State.String(),
		Health: w.Health.String(), LastPing: ts(w.LastPing), JobLimit: w.JobLimit, Version: w.Version}
}

// UserView is a user as the API shows it.
type UserView struct {
	Username string   `json:"username"`
	Email    string   `json:"email"`
	Admin    bool     `json:"admin"`
	Groups   []string `json:"groups"`
	Created  *string  `json:"created"`
	// Token is the secret, only in the answer that made it.
	Token string `json:"token,omitempty"`
}

func userView(u model.User) UserView {
	return UserView{Username: u.Username, Email: u.Email, Admin: u.IsAdmin, Groups: nonNil(u.Groups), Created: ts(u.Created)}
}

// TokenView is an API token as the API shows it (never its hash).
type TokenView struct {
	ID          int64   `json:"id"`
	Description string  `json:"description"`
	Created     *string `json:"created"`
	LastUsed    *string `json:"last_used"`
	// Token is the secret, only in the answer that made it.
	Token string `json:"token,omitempty"`
}

func tokenView(t model.Token) TokenView {
	return TokenView{ID: t.ID, Description: t.Description, Created: ts(t.Created), LastUsed: ts(t.LastUsed)}
}

// LogView is one log record. Msg is a string, or the mapping itself for a
// structured record.
type LogView struct {
	Index int64  `json:"index"`
	Time  string `json:"dt"`
	Level string `json:"lvl"`
	Msg   any    `json:"msg"`
	NS    string `json:"ns,omitempty"`
}

func logView(r model.LogRecord) LogView {
	v := LogView{Index: r.Index, Time: r.Time.UTC().Format(time.RFC3339Nano), Level: r.Level, Msg: r.Message, NS: r.NS}
	if r.Structured && json.Valid([]byte(r.Message)) {
		v.Msg = json.RawMessage(r.Message)
	}
	return v
}

// CaseView is one test case.
type CaseView struct {
	ID          int64           `json:"id"`
	Suite       string          `json:"suite"`
	Name        string          `json:"name"`
	Result      string          `json:"result"`
	Measurement *float64        `json:"measurement"`
	Units       string          `json:"units,omitempty"`
	Set         string          `json:"set,omitempty"`
	Metadata    json.RawMessage `json:"metadata,omitempty"`
	Logged      *string         `json:"logged"`
	LogStart    int64           `json:"log_start"`
	LogEnd      int64           `json:"log_end"`
}

func caseView(c model.TestCase) CaseView {
	v := CaseView{ID: c.ID, Suite: c.Suite, Name: c.Name, Result: c.Result.String(), Measurement: c.Measurement,
		Units: c.Units, Set: c.Set, Logged: ts(c.Logged), LogStart: c.LogStart, LogEnd: c.LogEnd}
	if len(c.Metadata) > 0 && json.Valid(c.Metadata) {
		v.Metadata = c.Metadata
	}
	return v
}

// Page is a list answer.
type Page[T any] struct {
	Count   int `json:"count"`
	Limit   int `json:"limit"`
	Offset  int `json:"offset"`
	Results []T `json:"results"`
}
