package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/lavalab/lavalab/core/api"
	"github.com/lavalab/lavalab/core/auth"
	"github.com/lavalab/lavalab/core/metrics"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/store/sqlite"
)

const qemuJob = `job_name: web test qemu
device_type: qemu
priority: medium
visibility: public
timeouts:
  job:
    minutes: 10
actions:
- deploy:
    to: tmpfs
    images:
      kernel:
        image_arg: -kernel {kernel}
        url: http://images.example.invalid/bzImage
- boot:
    method: qemu
    media: tmpfs
    prompts: ['/ # ']
`

// env is a real SQLite store behind the pages and the API, served over
// real HTTP.
type env struct {
	t      testing.TB
	st     *sqlite.Store
	srv    *httptest.Server
	tokens map[string]string
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func newEnv(t testing.TB, drivers Drivers) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "lava.db"))
	must(t, err)
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, st: st, tokens: map[string]string{}}
	for _, u := range []struct {
		name  string
		admin bool
	}{{"admin", true}, {"bob", false}, {"dave", false}} {
		_, err := st.CreateUser(ctx, model.User{Username: u.name, IsAdmin: u.admin})
		must(t, err)
		secret, hash := auth.NewToken()
		_, err = st.CreateToken(ctx, u.name, "test", hash)
		must(t, err)
		e.tokens[u.name] = secret
	}
	must(t, st.CreateWorker(ctx, model.Worker{Hostname: "w1", Description: "lab host one"}))
	_, err = st.UpdateWorker(ctx, "w1", func(w *model.Worker) error {
		w.State, w.LastPing, w.Version = model.WorkerOnline, time.Now(), "test-1"
		return nil
	})
	must(t, err)
	must(t, st.CreateDeviceType(ctx, model.DeviceType{Name: "qemu", Description: "QEMU x86_64",
		Settings: map[string]any{"bootm_kernel_addr": "0x82000000", "stray": true}}))
	must(t, st.CreateDevice(ctx, model.Device{Hostname: "qemu-01", DeviceType: "qemu", Worker: "w1", Health: model.DeviceGood,
		Dictionary: "{% extends 'qemu.jinja2' %}\n{% set arch = 'amd64' %}\n", Tags: []string{"usb"}}))
	must(t, st.CreateDevice(ctx, model.Device{Hostname: "qemu-02", DeviceType: "qemu", Worker: "w1", Health: model.DeviceGood}))
	log := slog.New(slog.DiscardHandler)
	// The service holds the driver registry, as the server's does.
	a := api.NewAPI(api.Options{Store: st, Logger: log, Version: "test-1", Drivers: drivers})
	// w1's last report of its spools and host (the workers page).
	reports := metrics.New()
	reports.ObserveWorkerReport("w1", metrics.WorkerReport{At: time.Now(), SpoolBacklogRecords: 42, SpoolBacklogBytes: 3 << 10,
		HasHost: true, DiskFreeBytes: 5 << 30, ArtifactCacheBytes: 1536 << 20, ArtifactCacheHits: 7, ArtifactCacheMisses: 2, JobsRunning: 1})
	w, err := New(Options{Lab: a.Lab(), Key: []byte(strings.Repeat("k", 32)), Logger: log,
		Version: "test-1", Heartbeat: 200 * time.Millisecond, WorkerReports: reports})
	must(t, err)
	r := chi.NewRouter()
	a.Mount(r)
	w.Mount(r)
	e.srv = httptest.NewServer(r)
	t.Cleanup(e.srv.Close)
	return e
}

// client is a browser-like HTTP client: a cookie jar, no redirects
// followed (tests look at them).
type client struct {
	e *env
	c *http.Client
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, c: &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type resp struct {
	status int
	header http.Header
	body   string
}

func (c *client) get(path string) resp {
	c.e.t.Helper()
	r, err := c.c.Get(c.e.srv.URL + path)
	must(c.e.t, err)
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	must(c.e.t, err)
	return resp{r.StatusCode, r.Header, string(b)}
}

func (c *client) post(path string, form url.Values) resp {
	c.e.t.Helper()
	r, err := c.c.PostForm(c.e.srv.URL+path, form)
	must(c.e.t, err)
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	must(c.e.t, err)
	return resp{r.StatusCode, r.Header, string(b)}
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf loads a page and returns its form token.
func (c *client) csrf() string {
	c.e.t.Helper()
	m := csrfRe.FindStringSubmatch(c.get("/login").body)
	if m == nil {
		c.e.t.Fatal("no CSRF token on /login")
	}
	return m[1]
}

// login logs in as user, failing the test if it does not work.
func (e *env) login(user string) *client {
	e.t.Helper()
	c := e.client()
	r := c.post("/login", url.Values{"csrf": {c.csrf()}, "token": {e.tokens[user]}, "next": {"/jobs"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/jobs" {
		e.t.Fatalf("login %s: %d %q", user, r.status, r.body)
	}
	return c
}

// running makes a job of submitter running on qemu-01.
func (e *env) running(submitter, description, visibility string) model.Job {
	e.t.Helper()
	ctx := context.Background()
	def := strings.Replace(strings.Replace(qemuJob, "web test qemu", description, 1), "visibility: public", "visibility: "+visibility, 1)
	jobs, err := e.st.CreateJobs(ctx, []model.Job{{Description: description, Definition: def, RequestedDeviceType: "qemu",
		Submitter: submitter, Visibility: visibility, Priority: 50}})
	must(e.t, err)
	got, err := e.st.Assign(ctx, []store.Assignment{{Job: jobs[0], Device: "qemu-01"}})
	must(e.t, err)
	if len(got) != 1 {
		e.t.Fatal("qemu-01 not free")
	}
	j, err := e.st.StartJob(ctx, jobs[0].ID)
	must(e.t, err)
	return j
}

func (e *env) appendLogs(id, first int64, msgs ...string) {
	e.t.Helper()
	recs := make([]model.LogRecord, len(msgs))
	for i, m := range msgs {
		lvl, text, ok := strings.Cut(m, "|")
		if !ok {
			lvl, text = model.LevelTarget, m
		}
		recs[i] = model.LogRecord{Time: time.Now(), Level: lvl, Message: text}
	}
	_, err := e.st.AppendLogs(context.Background(), id, first, recs)
	must(e.t, err)
}
