package notify

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/lavalab/lavalab/core/model"
)

// Events a notification is queued for.
const (
	EventRunning  = "running"
	EventFinished = "finished"
)

// Spec is a job's notify: block.
type Spec struct {
	Criteria struct {
		Status string `yaml:"status"`
		Type   string `yaml:"type"`
	} `yaml:"criteria"`
	Verbosity  string      `yaml:"verbosity"`
	Recipients []Recipient `yaml:"recipients"`
	Callback   *Callback   `yaml:"callback"`
	Callbacks  []Callback  `yaml:"callbacks"`
}

// Recipient is one entry of recipients.
type Recipient struct {
	To struct {
		Method string `yaml:"method"`
		User   string `yaml:"user"`
		Email  string `yaml:"email"`
	} `yaml:"to"`
}

// Callback is one callback, with LAVA's defaults filled by Parse.
type Callback struct {
	URL         string `yaml:"url" json:"url"`
	Method      string `yaml:"method" json:"method"`
	Token       string `yaml:"token" json:"token,omitempty"`
	Header      string `yaml:"header" json:"header,omitempty"`
	Dataset     string `yaml:"dataset" json:"dataset"`
	ContentType string `yaml:"content-type" json:"content_type"`
}

// Email is the spec stored with an email notification.
type Email struct {
	Verbosity string `json:"verbosity"`
	User      string `json:"user,omitempty"`
}

// Parse reads the notify: block of a job definition: nil when there is
// none. The definition was validated at submit (core/job), so only what
// Queue needs is read here.
func Parse(definition string) (*Spec, error) {
	if !strings.Contains(definition, "notify") {
		return nil, nil
	}
	var doc struct {
		Notify *Spec `yaml:"notify"`
	}
	if err := yaml.Unmarshal([]byte(definition), &doc); err != nil {
		return nil, fmt.Errorf("notify: %w", err)
	}
	s := doc.Notify
	if s == nil {
		return nil, nil
	}
	if s.Callback != nil {
		s.Callbacks = append(s.Callbacks, *s.Callback)
		s.Callback = nil
	}
	for i := range s.Callbacks {
		c := &s.Callbacks[i]
		if c.Method == "" {
			c.Method = "GET"
		}
		if c.Dataset == "" {
			c.Dataset = "minimal"
		}
		if c.ContentType == "" {
			c.ContentType = "urlencoded"
		}
		if c.Token != "" && c.Header == "" {
			c.Header = "Authorization"
		}
		if c.Token == "" {
			c.Header = ""
		}
	}
	if s.Verbosity == "" {
		s.Verbosity = "quiet"
	}
	return s, nil
}

// Matches is LAVA's notification_criteria for a job that went to state
// (Running or Finished) with health, its health before being oldHealth.
func (s *Spec) Matches(state model.JobState, health, oldHealth model.JobHealth) bool {
	switch s.Criteria.Status {
	case "all":
		return state == model.JobRunning || state == model.JobFinished
	case "finished":
		return state == model.JobFinished
	case "running":
		return state == model.JobRunning
	}
	var want model.JobHealth
	switch s.Criteria.Status {
	case "complete":
		want = model.JobComplete
	case "incomplete":
		want = model.JobIncomplete
	default:
		want = model.JobCanceled
	}
	if health != want {
		return false
	}
	switch s.Criteria.Type {
	case "":
		return true
	case "regression":
		return oldHealth == model.JobComplete && health == model.JobIncomplete
	case "progression":
		return oldHealth == model.JobIncomplete && health == model.JobComplete
	}
	return false
}

// UserEmail looks a user's email address up ("" when the user has none).
type UserEmail func(username string) (string, error)

// Queue returns the outbox rows of job j's notify: block for the change of
// j to its current state (Running or Finished; oldHealth its health
// before), due at now: one per callback and one per email recipient
// (the submitter when there are neither). A recipient that cannot be
// reached (a user without an email address) is queued already failed, so
// that the job's page says why.
func Queue(j model.Job, oldHealth model.JobHealth, now time.Time, email UserEmail) ([]model.Notification, error) {
	s, err := Parse(j.Definition)
	if err != nil || s == nil {
		return nil, err
	}
	if !s.Matches(j.State, j.Health, oldHealth) {
		return nil, nil
	}
	event := EventFinished
	if j.State == model.JobRunning {
		event = EventRunning
	}
	var out []model.Notification
	add := func(kind, target string, spec any, fail string) error {
		b, err := json.Marshal(spec)
		if err != nil {
			return fmt.Errorf("notify: %w", err)
		}
		n := model.Notification{JobID: j.ID, Event: event, Health: j.Health, Kind: kind, Target: target,
			Spec: b, State: model.NotificationPending, NextAttempt: now, Created: now}
		if fail != "" {
			n.State = model.NotificationFailed
			n.Attempts = []model.NotificationAttempt{{Time: now, Error: fail}}
		}
		out = append(out, n)
		return nil
	}
	for _, c := range s.Callbacks {
		c.URL = SubstituteURL(j, c.URL)
		if err := add(model.NotifyCallback, c.URL, c, ""); err != nil {
			return nil, err
		}
	}
	recipients := s.Recipients
	if len(recipients) == 0 && len(s.Callbacks) == 0 {
		var r Recipient
		r.To.Method, r.To.User = "email", j.Submitter
		recipients = []Recipient{r}
	}
	for _, r := range recipients {
		if r.To.Method != "email" {
			continue // refused at submit; a definition stored before is skipped
		}
		addr, fail := r.To.Email, ""
		if addr == "" && r.To.User != "" {
			a, err := email(r.To.User)
			switch {
			case err != nil:
				fail = fmt.Sprintf("user %q: %v", r.To.User, err)
			case a == "":
				fail = fmt.Sprintf("user %q has no email address", r.To.User)
			}
			addr = a
			if addr == "" {
				addr = "user:" + r.To.User
			}
		}
		if err := add(model.NotifyEmail, addr, Email{Verbosity: s.Verbosity, User: r.To.User}, fail); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SubstituteURL replaces LAVA's { FIELD } variables in a callback URL
// with the job's values (ID, STATUS, STATUS_STRING, STATE, HEALTH,
// DESCRIPTION, SUBMITTER); others are left as they are.
func SubstituteURL(j model.Job, url string) string {
	if !strings.Contains(url, "{") {
		return url
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(url, '{')
		if i < 0 {
			break
		}
		k := strings.IndexByte(url[i:], '}')
		if k < 0 {
			break
		}
		name := strings.ToLower(strings.TrimSpace(url[i+1 : i+k]))
		val, ok := urlVar(j, name)
		b.WriteString(url[:i])
		if ok {
			b.WriteString(val)
		} else {
			b.WriteString(url[i : i+k+1])
		}
		url = url[i+k+1:]
	}
	b.WriteString(url)
	return b.String()
}

func urlVar(j model.Job, name string) (string, bool) {
	switch name {
	case "id":
		return strconv.FormatInt(j.ID, 10), true
	case "status":
		return strconv.Itoa(LegacyStatus(j)), true
	case "status_string":
		return strings.ToLower(LegacyStatusString(j)), true
	case "state":
		return strconv.Itoa(int(j.State)), true
	case "health":
		return strconv.Itoa(int(j.Health)), true
	case "description":
		return j.Description, true
	case "submitter":
		return j.Submitter, true
	}
	return "", false
}

// LegacyStatus is LAVA's get_legacy_status: 0 submitted (Submitted,
// Scheduling, Scheduled), 1 running, 5 canceling, then by health 2
// complete, 3 incomplete (or unknown), 4 canceled.
func LegacyStatus(j model.Job) int {
	switch j.State {
	case model.JobSubmitted, model.JobScheduling, model.JobScheduled:
		return 0
	case model.JobRunning:
		return 1
	case model.JobCanceling:
		return 5
	}
	switch j.Health {
	case model.JobComplete:
		return 2
	case model.JobUnknown, model.JobIncomplete:
		return 3
	}
	return 4
}

// LegacyStatusString is LAVA's get_legacy_status_display.
func LegacyStatusString(j model.Job) string {
	return [...]string{"Submitted", "Running", "Complete", "Incomplete", "Canceled", "Canceling"}[LegacyStatus(j)]
}
