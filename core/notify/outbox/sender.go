package outbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lavalab/lavalab/core/lavafmt"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/notify"
	"github.com/lavalab/lavalab/core/results"
	"github.com/lavalab/lavalab/core/store"
)

// Defaults of Options.
const (
	DefaultMaxAttempts = 8
	DefaultBackoff     = 30 * time.Second
	DefaultMaxBackoff  = time.Hour
	DefaultTimeout     = 30 * time.Second
	DefaultConcurrency = 8
	DefaultPoll        = 10 * time.Second
)

// Options configure a Sender.
type Options struct {
	Store  store.Store
	Logger *slog.Logger
	// MaxAttempts bounds the tries of one notification (then failed).
	MaxAttempts int
	// Backoff is the wait after the first failed try, doubled after each
	// further one up to MaxBackoff.
	Backoff, MaxBackoff time.Duration
	// Timeout bounds one try (connection, request, answer).
	Timeout time.Duration
	// Concurrency bounds the tries in flight.
	Concurrency int
	// Poll is how often the outbox is read besides the store's events.
	Poll time.Duration
	// SMTP is the relay emails go through (Host "" = emails fail with
	// "no SMTP relay configured").
	SMTP SMTP
	// BaseURL is the server's public URL, for the job link in emails.
	BaseURL string
	// Registerer gets the notification metrics (nil: not registered).
	Registerer prometheus.Registerer
	// Client sends callbacks (nil: a client with Timeout).
	Client *http.Client
}

// Sender delivers the outbox.
type Sender struct {
	o      Options
	ob     store.Outbox
	sem    chan struct{}
	wg     sync.WaitGroup
	sent   *prometheus.CounterVec
	failed *prometheus.CounterVec
	tries  *prometheus.CounterVec
	states *prometheus.GaugeVec
}

// New makes a Sender; the store must implement store.Outbox.
func New(o Options) (*Sender, error) {
	ob, ok := o.Store.(store.Outbox)
	if !ok {
		return nil, fmt.Errorf("notifications: the %s store has no outbox", o.Store.Backend())
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.Backoff <= 0 {
		o.Backoff = DefaultBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	if o.Client == nil {
		o.Client = &http.Client{Timeout: o.Timeout}
	}
	s := &Sender{o: o, ob: ob, sem: make(chan struct{}, o.Concurrency)}
	s.sent = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lava_notifications_sent_total", Help: "Notifications delivered (callback answered 2xx, email accepted by the relay), by kind.",
	}, []string{"kind"})
	s.failed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lava_notifications_failed_total", Help: "Notifications given up after their last attempt, by kind.",
	}, []string{"kind"})
	s.tries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "lava_notification_attempts_failed_total", Help: "Failed attempts at sending a notification (retried while attempts remain), by kind.",
	}, []string{"kind"})
	s.states = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "lava_notifications", Help: "Notifications in the outbox by state (pending, sent, failed).",
	}, []string{"state"})
	if o.Registerer != nil {
		for _, c := range []prometheus.Collector{s.sent, s.failed, s.tries, s.states} {
			if err := o.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("notifications: registering metrics: %w", err)
			}
		}
	}
	return s, nil
}

// lease is how long a claimed notification is kept from other senders:
// longer than any try.
func (s *Sender) lease() time.Duration { return 2*s.o.Timeout + 5*time.Second }

// Run sends due notifications until ctx ends, then cancels the tries in
// flight and waits for them; those are tried again once their lease ends.
func (s *Sender) Run(ctx context.Context) error {
	evs, err := s.o.Store.Subscribe(ctx, store.TopicNotification)
	if err != nil {
		return fmt.Errorf("notifications: subscribing: %w", err)
	}
	done := make(chan struct{}, 1)
	t := time.NewTimer(0)
	defer t.Stop()
	defer s.wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-evs:
		case <-done:
		case <-t.C:
		}
		s.round(ctx, done)
		s.refresh(ctx)
		t.Reset(s.nextWait())
	}
}

// nextWait is the poll period, shorter while retries with a short backoff
// are due.
func (s *Sender) nextWait() time.Duration { return min(s.o.Poll, s.o.Backoff) }

// round claims as many due notifications as there are free slots and
// starts a try for each.
func (s *Sender) round(ctx context.Context, done chan<- struct{}) {
	free := s.o.Concurrency - len(s.sem)
	if free <= 0 {
		return
	}
	ns, err := s.ob.ClaimNotifications(ctx, time.Now(), s.lease(), free)
	if err != nil {
		if ctx.Err() == nil {
			s.o.Logger.Warn("notifications: reading the outbox", "err", err)
		}
		return
	}
	for _, n := range ns {
		s.sem <- struct{}{}
		s.wg.Go(func() {
			defer func() {
				<-s.sem
				select {
				case done <- struct{}{}:
				default:
				}
			}()
			s.try(ctx, n)
		})
	}
}

func (s *Sender) refresh(ctx context.Context) {
	c, err := s.ob.CountNotifications(ctx)
	if err != nil {
		return
	}
	for _, st := range []string{model.NotificationPending, model.NotificationSent, model.NotificationFailed} {
		s.states.WithLabelValues(st).Set(float64(c[st]))
	}
}

// Backoff is the wait after the n-th failed try (n ≥ 1).
func (s *Sender) Backoff(n int) time.Duration {
	d := s.o.Backoff
	for i := 1; i < n && d < s.o.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, s.o.MaxBackoff)
}

// try sends one notification once and records the attempt.
func (s *Sender) try(ctx context.Context, n model.Notification) {
	tctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
	code, err := s.send(tctx, n)
	cancel()
	if ctx.Err() != nil {
		// Stopping: the try is not recorded; the notification's lease
		// ends and it is tried again (by this server once restarted or
		// by another instance).
		return
	}
	ctx = context.WithoutCancel(ctx)
	now := time.Now()
	a := model.NotificationAttempt{Time: now, StatusCode: code}
	state, next := model.NotificationSent, now
	log := s.o.Logger.With("job", n.JobID, "notification", n.ID, "kind", n.Kind, "target", n.Target)
	if err != nil {
		a.Error = err.Error()
		tries := len(n.Attempts) + 1
		s.tries.WithLabelValues(n.Kind).Inc()
		if tries >= s.o.MaxAttempts {
			state = model.NotificationFailed
			s.failed.WithLabelValues(n.Kind).Inc()
			log.Warn("notification failed, no attempt left", "attempts", tries, "err", err)
		} else {
			state, next = model.NotificationPending, now.Add(s.Backoff(tries))
			log.Info("notification attempt failed, retrying", "attempt", tries, "retry_at", next, "err", err)
		}
	} else {
		s.sent.WithLabelValues(n.Kind).Inc()
		log.Info("notification sent", "status", code)
	}
	if err := s.ob.RecordNotification(ctx, n.ID, a, state, next); err != nil {
		log.Error("notifications: recording an attempt", "err", err)
	}
}

func (s *Sender) send(ctx context.Context, n model.Notification) (int, error) {
	j, err := s.o.Store.Job(ctx, store.System(), n.JobID)
	if err != nil {
		return 0, fmt.Errorf("job %d: %w", n.JobID, err)
	}
	// The job as it was at the change the notification is for (LAVA sets
	// state and health to the event's before building the data).
	if n.Event == notify.EventRunning {
		j.State, j.Health, j.EndTime = model.JobRunning, model.JobUnknown, time.Time{}
	} else {
		j.State, j.Health = model.JobFinished, n.Health
	}
	switch n.Kind {
	case model.NotifyCallback:
		return s.callback(ctx, j, n)
	case model.NotifyEmail:
		return 0, s.email(ctx, j, n)
	}
	return 0, fmt.Errorf("unknown notification kind %q", n.Kind)
}

func (s *Sender) callback(ctx context.Context, j model.Job, n model.Notification) (int, error) {
	var c notify.Callback
	if err := json.Unmarshal(n.Spec, &c); err != nil {
		return 0, fmt.Errorf("callback settings: %w", err)
	}
	var req *http.Request
	var err error
	if c.Method == "GET" {
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, c.URL, nil)
	} else {
		in := notify.BodyInput{Token: c.Token}
		if c.Dataset == "logs" || c.Dataset == "all" {
			if in.Log, err = s.log(ctx, j); err != nil {
				return 0, err
			}
		}
		if c.Dataset == "results" || c.Dataset == "all" {
			if in.Results, err = s.results(ctx, j); err != nil {
				return 0, err
			}
		}
		body := notify.Body(j, in)
		var data []byte
		ctype := "application/x-www-form-urlencoded"
		if c.ContentType == "json" {
			ctype = "application/json"
			if data, err = json.Marshal(body); err != nil {
				return 0, fmt.Errorf("callback body: %w", err)
			}
		} else {
			data = []byte(notify.Form(body))
		}
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(data))
		if err == nil {
			req.Header.Set("Content-Type", ctype)
		}
	}
	if err != nil {
		return 0, fmt.Errorf("callback request: %w", err)
	}
	if c.Token != "" {
		req.Header.Set(c.Header, c.Token)
	}
	resp, err := s.o.Client.Do(req)
	if err != nil {
		return 0, redact(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("receiver answered %s", resp.Status)
	}
	return resp.StatusCode, nil
}

// redact keeps the error of a failed request short (the URL is the
// notification's target, shown beside it).
func redact(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) && ue.Unwrap() != nil {
		if s := ue.Unwrap().Error(); s != "" {
			return errors.New(s)
		}
	}
	return err
}

// log is the whole job log as output.yaml text ("" when there is none
// yet, still sent).
func (s *Sender) log(ctx context.Context, j model.Job) ([]byte, error) {
	b := bytes.NewBuffer([]byte{})
	for from := int64(0); ; {
		recs, err := s.o.Store.ReadLogs(ctx, j.ID, from, 5000)
		if err != nil {
			return nil, fmt.Errorf("job %d log: %w", j.ID, err)
		}
		if len(recs) == 0 {
			break
		}
		if err := lavafmt.WriteOutputYAML(b, recs); err != nil {
			return nil, fmt.Errorf("job %d log: %w", j.ID, err)
		}
		from += int64(len(recs))
	}
	return b.Bytes(), nil
}

// results maps each suite to its cases as LAVA's results YAML.
func (s *Sender) results(ctx context.Context, j model.Job) (map[string]string, error) {
	cases, err := s.o.Store.ListTestCases(ctx, j.ID, "", 0, 0)
	if err != nil {
		return nil, fmt.Errorf("job %d results: %w", j.ID, err)
	}
	by := map[string][]model.TestCase{}
	for _, c := range cases {
		by[c.Suite] = append(by[c.Suite], c)
	}
	out := make(map[string]string, len(by))
	for suite, cs := range by {
		var b bytes.Buffer
		if err := results.WriteYAML(&b, lavafmt.Rows(j.ID, cs)); err != nil {
			return nil, fmt.Errorf("job %d results: %w", j.ID, err)
		}
		out[suite] = b.String()
	}
	return out, nil
}

func (s *Sender) email(ctx context.Context, j model.Job, n model.Notification) error {
	var e notify.Email
	if err := json.Unmarshal(n.Spec, &e); err != nil {
		return fmt.Errorf("email settings: %w", err)
	}
	var cases []model.TestCase
	if e.Verbosity == "verbose" && j.State == model.JobFinished {
		var err error
		if cases, err = s.o.Store.ListTestCases(ctx, j.ID, "", 0, 0); err != nil {
			return fmt.Errorf("job %d results: %w", j.ID, err)
		}
	}
	url := strings.TrimSuffix(s.o.BaseURL, "/") + "/jobs/" + strconv.FormatInt(j.ID, 10)
	return s.o.SMTP.Send(ctx, n.Target, notify.Subject(j), notify.EmailText(j, e.Verbosity, url, cases))
}
