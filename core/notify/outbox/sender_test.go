package outbox

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/store/sqlite"
)

// openLab is a SQLite store with a device d1 and users.
func openLab(t *testing.T) store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "lava.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	must(t, st.CreateDeviceType(ctx, model.DeviceType{Name: "qemu"}))
	must(t, st.CreateWorker(ctx, model.Worker{Hostname: "w1", State: model.WorkerOnline, Health: model.WorkerActive}))
	must(t, st.CreateDevice(ctx, model.Device{Hostname: "d1", DeviceType: "qemu", Worker: "w1", Health: model.DeviceGood}))
	_, err = st.CreateUser(ctx, model.User{Username: "bob", Email: "bob@example.org"})
	must(t, err)
	return st
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// runJob runs a job through start, a log and an end with results.
func runJob(t *testing.T, st store.Store, def string, h model.JobHealth) model.Job {
	t.Helper()
	ctx := context.Background()
	js, err := st.CreateJobs(ctx, []model.Job{{Description: "notified", Definition: def, RequestedDeviceType: "qemu", Submitter: "bob", Priority: 50}})
	must(t, err)
	as, err := st.Assign(ctx, []store.Assignment{{Job: js[0], Device: "d1"}})
	must(t, err)
	if len(as) != 1 {
		t.Fatal("not assigned")
	}
	_, err = st.StartJob(ctx, js[0].ID)
	must(t, err)
	now := time.Now()
	_, err = st.AppendLogs(ctx, js[0].ID, 0, []model.LogRecord{
		{Index: 0, Time: now, Level: "info", Message: "start: 0 validate"},
		{Index: 1, Time: now, Level: "target", Message: "login: ok"},
	})
	must(t, err)
	m := 1.5
	j, err := st.(store.WorkerProto).EndJob(ctx, js[0].ID, store.JobResult{Health: h}, []model.TestCase{
		{Suite: "0_smoke", Name: "boot", Result: model.ResultPass, Logged: now},
		{Suite: "0_smoke", Name: "speed", Result: model.ResultPass, Measurement: &m, Units: "s", Logged: now},
		{Suite: "lava", Name: "job", Result: model.ResultPass, Logged: now},
	})
	must(t, err)
	return j
}

// startSender runs a sender until the test ends.
func startSender(t *testing.T, o Options) *Sender {
	t.Helper()
	o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	if o.Backoff == 0 {
		o.Backoff = 20 * time.Millisecond
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	s, err := New(o)
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return s
}

// settled waits until no notification of the job is pending.
func settled(t *testing.T, st store.Store, id int64) []model.Notification {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ns, err := st.(store.Outbox).JobNotifications(context.Background(), id)
		must(t, err)
		if !slices.ContainsFunc(ns, func(n model.Notification) bool { return n.State == model.NotificationPending }) {
			return ns
		}
		if time.Now().After(deadline) {
			t.Fatalf("notifications still pending after 30s: %+v", ns)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type request struct {
	Method, Path, ContentType string
	Header                    http.Header
	Body                      []byte
}

// receiver is a real HTTP server recording the requests it answers.
type receiver struct {
	mu   sync.Mutex
	reqs []request
	code func(n int) int // status of the n-th request (from 1)
	srv  *httptest.Server
}

func newReceiver(t *testing.T, code func(n int) int) *receiver {
	r := &receiver{code: code}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, q *http.Request) {
		b, _ := io.ReadAll(q.Body)
		r.mu.Lock()
		r.reqs = append(r.reqs, request{q.Method, q.URL.Path, q.Header.Get("Content-Type"), q.Header.Clone(), b})
		n := len(r.reqs)
		r.mu.Unlock()
		w.WriteHeader(r.code(n))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.reqs)
}

var pyTimeRE = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{6})?\+00:00$`)

// TestCallbackDatasets: a KernelCI-style job (dataset all, a token in a
// custom header, JSON) and the other datasets, GET and urlencoded, each
// delivered with LAVA's fields to a real HTTP receiver.
func TestCallbackDatasets(t *testing.T) {
	st := openLab(t)
	rcv := newReceiver(t, func(int) int { return 200 })
	def := fmt.Sprintf(`job_name: kernelci
metadata:
  kernel.version: '6.1.0'
  platform: qemu
notify:
  criteria: {status: finished}
  callbacks:
  - {url: '%[1]s/all/{ID}', method: POST, dataset: all, token: kci-secret, header: X-LAVA-Token, content-type: json}
  - {url: '%[1]s/minimal', method: POST, dataset: minimal, content-type: json}
  - {url: '%[1]s/logs', method: POST, dataset: logs, content-type: json}
  - {url: '%[1]s/results', method: POST, dataset: results, content-type: json}
  - {url: '%[1]s/get', token: tok}
  - {url: '%[1]s/form', method: POST, dataset: results}
`, rcv.srv.URL)
	j := runJob(t, st, def, model.JobComplete)
	startSender(t, Options{Store: st})
	ns := settled(t, st, j.ID)
	for _, n := range ns {
		if n.State != model.NotificationSent || len(n.Attempts) != 1 || n.Attempts[0].StatusCode != 200 {
			t.Errorf("notification %s = %s %+v", n.Target, n.State, n.Attempts)
		}
	}
	byPath := map[string]request{}
	for _, r := range rcv.requests() {
		if _, dup := byPath[r.Path]; dup {
			t.Errorf("%s received twice", r.Path)
		}
		byPath[r.Path] = r
	}
	base := []string{"actual_device_id", "definition", "description", "end_time", "failure_comment", "health", "health_string",
		"id", "metadata", "priority", "start_time", "state", "state_string", "status", "status_string", "submit_time", "submitter_username"}
	for path, extra := range map[string][]string{
		fmt.Sprintf("/all/%d", j.ID): {"log", "results", "token"},
		"/minimal":                   nil, "/logs": {"log"}, "/results": {"results"},
	} {
		r, ok := byPath[path]
		if !ok {
			t.Errorf("%s: no request", path)
			continue
		}
		if r.Method != "POST" || r.ContentType != "application/json" {
			t.Errorf("%s: %s %s", path, r.Method, r.ContentType)
		}
		var body map[string]any
		must(t, json.Unmarshal(r.Body, &body))
		var keys []string
		for k := range body {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		want := append(slices.Clone(base), extra...)
		slices.Sort(want)
		if !slices.Equal(keys, want) {
			t.Errorf("%s: keys %v, want %v", path, keys, want)
		}
		if body["id"] != float64(j.ID) || body["status"] != float64(2) || body["status_string"] != "complete" ||
			body["state"] != float64(5) || body["state_string"] != "Finished" || body["health"] != float64(1) ||
			body["health_string"] != "Complete" || body["submitter_username"] != "bob" || body["failure_comment"] != nil ||
			body["priority"] != float64(50) || body["actual_device_id"] != "d1" || body["definition"] != def {
			t.Errorf("%s: body %v", path, body)
		}
		for _, k := range []string{"submit_time", "start_time", "end_time"} {
			if s, _ := body[k].(string); !pyTimeRE.MatchString(s) {
				t.Errorf("%s: %s = %q, want Python's str() of a datetime", path, k, body[k])
			}
		}
		md, _ := json.Marshal(body["metadata"])
		if string(md) != `[{"kernel.version":"6.1.0"},{"platform":"qemu"}]` {
			t.Errorf("%s: metadata = %s", path, md)
		}
		if log, ok := body["log"].(string); ok {
			var recs []map[string]any
			must(t, yaml.Unmarshal([]byte(log), &recs))
			if len(recs) != 2 || recs[1]["lvl"] != "target" || recs[1]["msg"] != "login: ok" || recs[0]["dt"] == nil {
				t.Errorf("%s: log = %q", path, log)
			}
		}
		if res, ok := body["results"].(map[string]any); ok {
			if len(res) != 2 {
				t.Errorf("%s: results suites = %v", path, res)
			}
			var cases []map[string]any
			s, _ := res["0_smoke"].(string)
			must(t, yaml.Unmarshal([]byte(s), &cases))
			if len(cases) != 2 || cases[1]["name"] != "speed" || cases[1]["measurement"] != "1.5000000000" || cases[1]["unit"] != "s" ||
				cases[0]["result"] != "pass" || cases[0]["suite"] != "0_smoke" || cases[0]["job"] != fmt.Sprint(j.ID) {
				t.Errorf("%s: results[0_smoke] = %v", path, cases)
			}
			for _, k := range []string{"name", "job", "suite", "result", "measurement", "unit", "level", "url", "id", "logged", "log_start_line", "log_end_line", "metadata"} {
				if _, ok := cases[0][k]; !ok {
					t.Errorf("%s: result case has no %s: %v", path, k, cases[0])
				}
			}
		}
	}
	if tok := byPath[fmt.Sprintf("/all/%d", j.ID)].Header.Get("X-LAVA-Token"); tok != "kci-secret" {
		t.Errorf("token header = %q", tok)
	}
	if g := byPath["/get"]; g.Method != "GET" || len(g.Body) != 0 || g.Header.Get("Authorization") != "tok" {
		t.Errorf("GET callback = %s body %q auth %q", g.Method, g.Body, g.Header.Get("Authorization"))
	}
	f := byPath["/form"]
	if f.ContentType != "application/x-www-form-urlencoded" {
		t.Errorf("form content type = %q", f.ContentType)
	}
	v, err := url.ParseQuery(string(f.Body))
	must(t, err)
	if v.Get("id") != fmt.Sprint(j.ID) || v.Get("status_string") != "complete" || !slices.Equal(v["results"], []string{"0_smoke", "lava"}) ||
		v.Has("failure_comment") || v.Has("token") {
		t.Errorf("form body = %v", v)
	}
}

// TestRetries: a receiver answering 503 then 200, one down (connection
// refused) for a while then up, one always failing; each attempt is
// recorded, delivery happens exactly once, the failing one gives up after
// MaxAttempts; metrics count them.
func TestRetries(t *testing.T) {
	st := openLab(t)
	flaky := newReceiver(t, func(n int) int {
		if n <= 2 {
			return 503
		}
		return 204
	})
	broken := newReceiver(t, func(int) int { return 500 })
	// A port nothing listens on yet.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	downAddr := ln.Addr().String()
	must(t, ln.Close())

	def := fmt.Sprintf(`job_name: retries
notify:
  criteria: {status: complete}
  callbacks:
  - {url: '%s/flaky', method: POST, content-type: json}
  - {url: '%s/broken', method: POST, content-type: json}
  - {url: 'http://%s/down', method: POST, content-type: json}
`, flaky.srv.URL, broken.srv.URL, downAddr)
	j := runJob(t, st, def, model.JobComplete)
	reg := prometheus.NewRegistry()
	startSender(t, Options{Store: st, MaxAttempts: 40, Backoff: 10 * time.Millisecond, MaxBackoff: 40 * time.Millisecond, Registerer: reg})

	// The down receiver comes up once it has been refused a few times.
	deadline := time.Now().Add(30 * time.Second)
	for {
		ns, err := st.(store.Outbox).JobNotifications(context.Background(), j.ID)
		must(t, err)
		if len(ns[2].Attempts) >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the down receiver was not tried 3 times: %+v", ns[2])
		}
		time.Sleep(5 * time.Millisecond)
	}
	down := &receiver{code: func(int) int { return 200 }}
	ln, err = net.Listen("tcp", downAddr)
	must(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, q *http.Request) {
		down.mu.Lock()
		down.reqs = append(down.reqs, request{Method: q.Method, Path: q.URL.Path})
		down.mu.Unlock()
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	ns := settled(t, st, j.ID)
	fl, br, dn := ns[0], ns[1], ns[2]
	if fl.State != model.NotificationSent || len(fl.Attempts) != 3 || fl.Attempts[0].StatusCode != 503 ||
		fl.Attempts[1].StatusCode != 503 || fl.Attempts[2].StatusCode != 204 || fl.Attempts[0].Error == "" || fl.Attempts[2].Error != "" {
		t.Errorf("flaky = %s %+v", fl.State, fl.Attempts)
	}
	if br.State != model.NotificationFailed || len(br.Attempts) != 40 || br.Attempts[39].StatusCode != 500 ||
		!strings.Contains(br.Attempts[39].Error, "500") {
		t.Errorf("broken = %s, %d attempts, last %+v", br.State, len(br.Attempts), br.Attempts[len(br.Attempts)-1])
	}
	last := dn.Attempts[len(dn.Attempts)-1]
	if dn.State != model.NotificationSent || last.StatusCode != 200 || dn.Attempts[0].StatusCode != 0 ||
		!strings.Contains(dn.Attempts[0].Error, "refused") {
		t.Errorf("down = %s %+v", dn.State, dn.Attempts)
	}
	if n := len(flaky.requests()); n != 3 {
		t.Errorf("flaky receiver got %d requests, want 3", n)
	}
	if n := len(down.requests()); n != 1 {
		t.Errorf("the receiver that was down got %d requests, want 1", n)
	}
	time.Sleep(100 * time.Millisecond) // several backoffs: nothing more is sent
	if n := len(flaky.requests()) + len(down.requests()); n != 4 {
		t.Errorf("requests after delivery: %d, want 4", n)
	}
	got := gather(t, reg)
	if got[`lava_notifications_sent_total{kind="callback"}`] != 2 || got[`lava_notifications_failed_total{kind="callback"}`] != 1 {
		t.Errorf("metrics = %v", got)
	}
}

// gather reads a registry's metrics as name{labels} → value.
func gather(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	must(t, err)
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			v := m.GetCounter().GetValue() + m.GetGauge().GetValue()
			out[mf.GetName()+"{"+strings.Join(ls, ",")+"}"] = v
		}
	}
	return out
}

// TestSlowReceiverDoesNotDelayOthers: a receiver that never answers
// holds one try only: the other callback is delivered meanwhile, and the
// hung one ends with a timeout error.
func TestSlowReceiverDoesNotDelayOthers(t *testing.T) {
	st := openLab(t)
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, q *http.Request) {
		select {
		case <-release:
		case <-q.Context().Done():
		}
	}))
	t.Cleanup(hung.Close)
	defer close(release)
	fast := newReceiver(t, func(int) int { return 200 })
	def := fmt.Sprintf("job_name: slow\nnotify:\n  criteria: {status: finished}\n  callbacks:\n  - {url: '%s/hung', method: POST}\n  - {url: '%s/fast', method: POST}\n",
		hung.URL, fast.srv.URL)
	j := runJob(t, st, def, model.JobIncomplete)
	startSender(t, Options{Store: st, MaxAttempts: 1, Timeout: time.Hour})
	deadline := time.Now().Add(30 * time.Second)
	for len(fast.requests()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the fast receiver got nothing while the slow one hangs")
		}
		time.Sleep(5 * time.Millisecond)
	}
	ns, err := st.(store.Outbox).JobNotifications(context.Background(), j.ID)
	must(t, err)
	if ns[0].State != model.NotificationPending || len(ns[0].Attempts) != 0 {
		t.Errorf("the hung callback = %s %+v, want still in its first try", ns[0].State, ns[0].Attempts)
	}
}

// mailbox is a real SMTP server (go-smtp) that requires AUTH PLAIN.
type mailbox struct {
	mu   sync.Mutex
	msgs []mail
}

type mail struct {
	From string
	To   []string
	Data string
	User string
}

type session struct {
	box *mailbox
	m   mail
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != "lava" || pass != "relay-pass" {
			return fmt.Errorf("bad credentials")
		}
		s.m.User = user
		return nil
	}), nil
}
func (s *session) Mail(from string, _ *smtp.MailOptions) error { s.m.From = from; return nil }
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error   { s.m.To = append(s.m.To, to); return nil }
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.m.Data = string(b)
	s.box.mu.Lock()
	s.box.msgs = append(s.box.msgs, s.m)
	s.box.mu.Unlock()
	return nil
}
func (s *session) Reset()        { s.m = mail{User: s.m.User} }
func (s *session) Logout() error { return nil }

func TestEmail(t *testing.T) {
	st := openLab(t)
	box := &mailbox{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{box: box}, nil }))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	port := ln.Addr().(*net.TCPAddr).Port

	def := `job_name: mailed
metadata: {kernel.version: '6.1'}
notify:
  criteria: {status: finished}
  verbosity: verbose
  recipients:
  - to: {method: email, email: ci@example.org}
  - to: {method: email, user: bob}
`
	j := runJob(t, st, def, model.JobComplete)
	startSender(t, Options{Store: st, BaseURL: "https://lab.example.org",
		SMTP: SMTP{Host: "localhost", Port: port, User: "lava", Password: "relay-pass", From: "lava@lab.example.org"}})
	ns := settled(t, st, j.ID)
	for _, n := range ns {
		if n.State != model.NotificationSent {
			t.Errorf("email to %s: %s %+v", n.Target, n.State, n.Attempts)
		}
	}
	box.mu.Lock()
	msgs := slices.Clone(box.msgs)
	box.mu.Unlock()
	if len(msgs) != 2 {
		t.Fatalf("%d emails, want 2", len(msgs))
	}
	var tos []string
	for _, m := range msgs {
		tos = append(tos, m.To...)
		if m.From != "lava@lab.example.org" || m.User != "lava" {
			t.Errorf("email from %q as %q", m.From, m.User)
		}
		for _, want := range []string{
			fmt.Sprintf("Subject: LAVA notification for Test Job %d notified", j.ID),
			fmt.Sprintf("The job with ID # %d is now in state Finished and health Complete. Job was submitted by bob.", j.ID),
			fmt.Sprintf("Job details and log file: https://lab.example.org/jobs/%d", j.ID),
			"Hostname: d1", "kernel.version: 6.1", "Test Suite 0_smoke", "Test Case speed: pass", "Measurement: 1.5 s",
		} {
			if !strings.Contains(m.Data, want) {
				t.Errorf("email to %v lacks %q:\n%s", m.To, want, m.Data)
			}
		}
	}
	slices.Sort(tos)
	if !slices.Equal(tos, []string{"bob@example.org", "ci@example.org"}) {
		t.Errorf("emails to %v", tos)
	}

	// Wrong credentials: the relay's refusal is recorded (a store of its
	// own, away from the running sender).
	st = openLab(t)
	j2 := runJob(t, st, "job_name: x\nnotify:\n  criteria: {status: finished}\n  recipients:\n  - to: {method: email, email: ci@example.org}\n", model.JobIncomplete)
	s, err := New(Options{Store: st, MaxAttempts: 1, SMTP: SMTP{Host: "localhost", Port: port, User: "lava", Password: "wrong"}})
	must(t, err)
	ob := st.(store.Outbox)
	claimed, err := ob.ClaimNotifications(context.Background(), time.Now(), time.Minute, 10)
	must(t, err)
	for _, n := range claimed {
		if n.JobID == j2.ID {
			s.try(context.Background(), n)
		}
	}
	got, err := ob.JobNotifications(context.Background(), j2.ID)
	must(t, err)
	if len(got) != 1 || got[0].State != model.NotificationFailed || !strings.Contains(got[0].Attempts[0].Error, "AUTH") {
		t.Errorf("refused email = %+v", got)
	}
}

// TestEmailStartTLS: with --smtp-starttls the relay's certificate is
// verified and the message goes over TLS; a relay without STARTTLS is
// refused with a clear error.
func TestEmailStartTLS(t *testing.T) {
	certSrv := httptest.NewTLSServer(http.NotFoundHandler()) // its certificate, for 127.0.0.1
	certSrv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(certSrv.Certificate())
	box := &mailbox{}
	var tlsSeen bool
	var mu sync.Mutex
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		if _, ok := c.TLSConnectionState(); ok {
			mu.Lock()
			tlsSeen = true
			mu.Unlock()
		}
		return &session{box: box}, nil
	}))
	srv.Domain = "localhost"
	srv.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
	srv.TLSConfig = certSrv.TLS
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	port := ln.Addr().(*net.TCPAddr).Port
	cfg := SMTP{Host: "127.0.0.1", Port: port, StartTLS: true, TLSConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"},
		User: "lava", Password: "relay-pass", From: "lava@lab.example.org"}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	must(t, cfg.Send(ctx, "ci@example.org", "s", "body\n"))
	box.mu.Lock()
	n := len(box.msgs)
	box.mu.Unlock()
	mu.Lock()
	seen := tlsSeen
	mu.Unlock()
	if n != 1 || !seen {
		t.Errorf("messages %d, TLS seen %v", n, seen)
	}
	// A relay that is not the certificate's: refused.
	bad := cfg
	bad.TLSConfig = &tls.Config{RootCAs: x509.NewCertPool(), ServerName: "127.0.0.1"}
	if err := bad.Send(ctx, "ci@example.org", "s", "b"); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("unverified relay: %v", err)
	}
}

func TestBackoff(t *testing.T) {
	s := &Sender{o: Options{Backoff: 30 * time.Second, MaxBackoff: 10 * time.Minute}}
	var got []time.Duration
	for n := 1; n <= 7; n++ {
		got = append(got, s.Backoff(n))
	}
	want := []time.Duration{30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 10 * time.Minute, 10 * time.Minute}
	if !slices.Equal(got, want) {
		t.Errorf("backoff = %v, want %v", got, want)
	}
}
