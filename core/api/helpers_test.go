package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/auth"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/store/sqlite"
)

// qemuJob is a small valid job for the qemu device type.
const qemuJob = `job_name: api test qemu
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
- test:
    definitions:
    - from: git
      repository: https://git.example.invalid/tests.git
      path: smoke.yaml
      name: smoke
`

// jobWith returns qemuJob with one line replaced.
func jobWith(old, new string) string {
	if !strings.Contains(qemuJob, old) {
		panic("jobWith: " + old + " not in qemuJob")
	}
	return strings.Replace(qemuJob, old, new, 1)
}

const multinodeJob = `job_name: api mn
timeouts: {job: {minutes: 30}}
visibility: public
protocols:
  lava-multinode:
    roles:
      server:
        device_type: qemu
        count: 1
      client:
        device_type: qemu
        count: 1
    timeout: {minutes: 5}
actions:
- deploy: {to: tmpfs, role: [server, client], images: {rootfs: {url: 'http://x.invalid/r.img'}}}
- boot: {method: qemu, role: [server, client]}
`

// env is a real SQLite store behind the API, with users, a worker, device
// types and devices.
type env struct {
	t     testing.TB
	st    *sqlite.Store
	h     http.Handler
	logs  *bytes.Buffer
	admin string // token of "admin" (admin)
	bob   string // token of "bob"
	carol string // token of "carol", member of group "team"
	dave  string // token of "dave"
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "lava.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, st: st, logs: &bytes.Buffer{}}
	e.h = New(Options{Store: st, Logger: slog.New(slog.NewTextHandler(e.logs, nil)), Version: "test-1"})
	mk := func(name string, admin bool) string {
		if _, err := st.CreateUser(ctx, model.User{Username: name, IsAdmin: admin}); err != nil {
			t.Fatal(err)
		}
		secret, hash := auth.NewToken()
		if _, err := st.CreateToken(ctx, name, "test", hash); err != nil {
			t.Fatal(err)
		}
		return secret
	}
	e.admin, e.bob, e.carol, e.dave = mk("admin", true), mk("bob", false), mk("carol", false), mk("dave", false)
	must(t, st.CreateGroup(ctx, "team"))
	must(t, st.AddGroupMember(ctx, "team", "carol"))
	must(t, st.CreateWorker(ctx, model.Worker{Hostname: "w1"}))
	must(t, st.CreateDeviceType(ctx, model.DeviceType{Name: "qemu"}))
	must(t, st.CreateDeviceType(ctx, model.DeviceType{Name: "bbb"}))
	must(t, st.CreateDeviceType(ctx, model.DeviceType{Name: "empty"}))
	must(t, st.CreateTag(ctx, model.Tag{Name: "usb"}))
	must(t, st.CreateTag(ctx, model.Tag{Name: "fast"}))
	must(t, st.CreateDevice(ctx, model.Device{Hostname: "qemu-01", DeviceType: "qemu", Worker: "w1", Health: model.DeviceGood, Tags: []string{"usb"}}))
	must(t, st.CreateDevice(ctx, model.Device{Hostname: "qemu-02", DeviceType: "qemu", Worker: "w1", Health: model.DeviceGood}))
	must(t, st.CreateDevice(ctx, model.Device{Hostname: "bbb-01", DeviceType: "bbb", Worker: "w1", Health: model.DeviceRetired}))
	return e
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request; ctype "" sends no Content-Type.
func (e *env) do(method, path, token, ctype, body string) resp {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if token != "" {
		req.Header.Set("Authorization", "Token "+token)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return resp{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

func (e *env) json(method, path, token, body string) resp {
	e.t.Helper()
	return e.do(method, path, token, "application/json", body)
}

// decode decodes the body into v, failing the test on error.
func (r resp) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
}

// errorOf checks the stable error shape and returns it.
func (r resp) errorOf(t *testing.T) ErrorInfo {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("status %d: Content-Type %q, want application/json", r.status, ct)
	}
	var b ErrorBody
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		t.Fatalf("status %d: error body %q is not the stable shape: %v", r.status, r.body, err)
	}
	if b.Error.Code == "" || b.Error.Message == "" {
		t.Fatalf("status %d: error body %q lacks code or message", r.status, r.body)
	}
	return b.Error
}

// jobCount is the number of jobs stored.
func (e *env) jobCount() int {
	e.t.Helper()
	_, n, err := e.st.ListJobs(context.Background(), store.System(), store.JobFilter{})
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// submit submits a job as the token's user and returns its id.
func (e *env) submit(token, def string) int64 {
	e.t.Helper()
	r := e.do("POST", "/api/v1/jobs", token, "application/yaml", def)
	if r.status != http.StatusCreated {
		e.t.Fatalf("submit: %d %s", r.status, r.body)
	}
	var res SubmitResult
	r.decode(e.t, &res)
	return res.ID
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
