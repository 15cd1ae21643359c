package lavarpc

import (
	"bytes"
	"context"
	"encoding/base64"
	"flag"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/lavalab/lavalab/core/auth"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/store/sqlite"
)

var update = flag.Bool("update", false, "rewrite the golden XML files")

const qemuJob = `device_type: qemu
job_name: smoke
timeouts:
  job:
    minutes: 10
priority: medium
visibility: public
actions:
- deploy:
    to: tmpfs
    images:
      rootfs:
        url: https://example.invalid/rootfs.img
        image_arg: -drive format=raw,file={rootfs}
- boot:
    method: qemu
    media: tmpfs
    prompts: ['root@debian:~#']
`

// env is a server on a real SQLite store, with users admin, bob (in group
// lab) and carol, a worker, a device, and jobs: 1 public by admin (with
// logs and results), 2 personal by bob.
type env struct {
	st              store.Store
	srv             *Server
	url             string
	tokens          map[string]string
	publicJob, bobs int64
}

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "lava.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{st: st, tokens: map[string]string{}}
	for _, u := range []struct {
		name  string
		admin bool
	}{{"admin", true}, {"bob", false}, {"carol", false}} {
		if _, err := st.CreateUser(ctx, model.User{Username: u.name, IsAdmin: u.admin}); err != nil {
			t.Fatal(err)
		}
		secret, hash := auth.NewToken()
		if _, err := st.CreateToken(ctx, u.name, "test", hash); err != nil {
			t.Fatal(err)
		}
		e.tokens[u.name] = secret
	}
	must(t, st.CreateGroup(ctx, "lab"))
	must(t, st.AddGroupMember(ctx, "lab", "bob"))
	must(t, st.CreateWorker(ctx, model.Worker{Hostname: "w1", Description: "bench worker", State: model.WorkerOffline}))
	must(t, st.CreateDeviceType(ctx, model.DeviceType{Name: "qemu", Display: true, HealthDenominator: "hours", HealthFrequency: 24, Aliases: []string{"kvm"}}))
	must(t, st.CreateDevice(ctx, model.Device{Hostname: "qemu-01", DeviceType: "qemu", Worker: "w1", Health: model.DeviceGood,
		Dictionary: "{% extends 'qemu.jinja2' %}\n{% set memory = 1024 %}\n", Tags: []string{"usb"}}))
	must(t, st.CreateTag(ctx, model.Tag{Name: "hdmi", Description: "HDMI out"}))
	e.srv = New(Options{Store: st})
	r := chi.NewRouter()
	e.srv.Mount(r)
	hs := httptest.NewServer(r)
	t.Cleanup(hs.Close)
	e.url = hs.URL + "/RPC2"

	for _, j := range []model.Job{
		{Description: "smoke", Definition: qemuJob, Priority: 50, Visibility: model.VisibilityPublic, RequestedDeviceType: "qemu", Submitter: "admin"},
		{Description: "secret", Definition: qemuJob, Priority: 50, Visibility: model.VisibilityPersonal, RequestedDeviceType: "qemu", Submitter: "bob"},
		{Description: "group", Definition: qemuJob, Priority: 50, Visibility: model.VisibilityGroup, ViewingGroups: []string{"lab"}, RequestedDeviceType: "qemu", Submitter: "carol"},
	} {
		jobs, err := st.CreateJobs(ctx, []model.Job{j})
		if err != nil {
			t.Fatal(err)
		}
		switch j.Description {
		case "smoke":
			e.publicJob = jobs[0].ID
		case "secret":
			e.bobs = jobs[0].ID
		}
	}
	at := time.Date(2023, 1, 2, 3, 4, 5, 123456000, time.UTC)
	if _, err := st.AppendLogs(ctx, e.publicJob, 0, []model.LogRecord{
		{Index: 0, Time: at, Level: model.LevelInfo, Message: "start: 0 validate"},
		{Index: 1, Time: at, Level: model.LevelTarget, Message: "login: \x1b[0m \"root\""},
		{Index: 2, Time: at, Level: model.LevelResults, Structured: true, Message: `{"case": "uname", "definition": "0_smoke", "result": "pass"}`},
	}); err != nil {
		t.Fatal(err)
	}
	m := 1.5
	must(t, st.AddTestCases(ctx, e.publicJob, []model.TestCase{
		{Suite: "0_smoke", Name: "uname", Result: model.ResultPass, Metadata: []byte(`{"case": "uname", "definition": "0_smoke", "result": "pass"}`), Logged: at, LogStart: 2, LogEnd: 2},
		{Suite: "0_smoke", Name: "speed", Result: model.ResultFail, Measurement: &m, Units: "s", Metadata: []byte(`{"case": "speed", "definition": "0_smoke", "result": "fail"}`), Logged: at},
	}))
	return e
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// post sends a raw body as user ("" = anonymous) and returns the HTTP
// status and body.
func (e *env) post(t testing.TB, user string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/xml")
	if user != "" {
		req.SetBasicAuth(user, e.tokens[user])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b.Bytes()
}

// call makes one XML-RPC call over HTTP; it returns the raw answer too.
func (e *env) call(t testing.TB, user, method string, params ...any) (any, *Fault, []byte) {
	t.Helper()
	var b bytes.Buffer
	if err := EncodeCall(&b, method, params...); err != nil {
		t.Fatal(err)
	}
	code, body := e.post(t, user, b.Bytes())
	if code != http.StatusOK {
		t.Fatalf("%s: HTTP %d: %s", method, code, body)
	}
	v, err := DecodeResponse(bytes.NewReader(body))
	if err != nil {
		f, ok := err.(*Fault)
		if !ok {
			t.Fatalf("%s: undecodable answer: %v\n%s", method, err, body)
		}
		return nil, f, body
	}
	return v, nil, body
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func sorted(s ...string) []string { slices.Sort(s); return s }

// Shapes of lava-facts.md §3.2.
var (
	jobShowKeys  = sorted("id", "description", "device", "device_type", "health_check", "pipeline", "health", "state", "submitter", "submit_time", "start_time", "end_time", "tags", "visibility", "failure_comment", "metadata") // metadata: not LAVA's
	jobListKeys  = sorted("id", "description", "device_type", "health", "state", "submitter")
	jobVerbose   = sorted(append(slices.Clone(jobListKeys), "actual_device", "start_time", "end_time", "error_msg", "error_type")...)
	devListKeys  = sorted("hostname", "type", "health", "state", "current_job", "pipeline")
	devShowKeys  = sorted("hostname", "device_type", "health", "state", "health_job", "description", "pipeline", "has_device_dict", "worker", "current_job", "tags")
	dtListKeys   = sorted("name", "devices", "installed", "template")
	dtShowKeys   = sorted("name", "description", "display", "health_disabled", "health_denominator", "health_frequency", "aliases", "devices", "default_template")
	workerKeys   = sorted("hostname", "description", "state", "health", "devices", "last_ping", "job_limit", "version", "default_config", "default_env", "default_env_dut")
	tagListKeys  = sorted("name", "description")
	tagShowKeys  = sorted("name", "description", "devices")
	queueKeys    = sorted("id", "description", "requested_device_type", "submitter")
	aliasShowKey = sorted("name", "device_type")
)

func structKeys(want []string) func(t *testing.T, v any) {
	return func(t *testing.T, v any) {
		t.Helper()
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("got %T, want a struct", v)
		}
		if got := keys(m); !slices.Equal(got, want) {
			t.Errorf("keys = %v, want %v", got, want)
		}
	}
}

func arrayOf(want []string, min int) func(t *testing.T, v any) {
	return func(t *testing.T, v any) {
		t.Helper()
		a, ok := v.([]any)
		if !ok || len(a) < min {
			t.Fatalf("got %#v, want an array of at least %d", v, min)
		}
		for _, e := range a {
			structKeys(want)(t, e)
		}
	}
}

func equals(want any) func(t *testing.T, v any) {
	return func(t *testing.T, v any) {
		t.Helper()
		if !deepEqual(v, want) {
			t.Errorf("got %#v, want %#v", v, want)
		}
	}
}

func deepEqual(a, b any) bool {
	var x, y bytes.Buffer
	return encodeValue(&x, a, 0) == nil && encodeValue(&y, b, 0) == nil && x.String() == y.String()
}

func TestMethods(t *testing.T) {
	e := newEnv(t)
	pub, bobs := e.publicJob, e.bobs
	tests := []struct {
		name   string
		user   string
		method string
		params []any
		fault  int    // 0 = success
		msg    string // fault message substring
		check  func(t *testing.T, v any)
	}{
		{"version", "", "system.version", nil, 0, "", equals("2023.01")},
		{"api_version", "", "system.api_version", nil, 0, "", equals(2)},
		{"whoami anon", "", "system.whoami", nil, 0, "", equals(nil)},
		{"whoami bob", "bob", "system.whoami", nil, 0, "", equals("bob")},
		{"methodSignature unknown", "", "system.methodSignature", []any{"nope"}, 0, "", equals("undef")},
		{"unknown method", "", "scheduler.nope", nil, CodeNoMethod, "requested method scheduler.nope not found", nil},
		{"too many args", "", "system.version", []any{1}, CodeInvalidParams, "takes 0 arguments (1 given)", nil},
		{"wrong type", "", "scheduler.devices.show", []any{int64(3)}, CodeInvalidParams, "must be a string, not int", nil},
		{"jobs.show", "", "scheduler.jobs.show", []any{itoa(pub)}, 0, "", structKeys(jobShowKeys)},
		{"jobs.show int id", "", "scheduler.jobs.show", []any{pub}, 0, "", structKeys(jobShowKeys)},
		{"jobs.show 404", "", "scheduler.jobs.show", []any{"999"}, 404, "Job '999' was not found.", nil},
		{"jobs.show garbage", "", "scheduler.jobs.show", []any{"x.y"}, 404, "Job 'x.y' was not found.", nil},
		{"jobs.show 403 anon", "", "scheduler.jobs.show", []any{itoa(bobs)}, 403, "Job '" + itoa(bobs) + "' not available to user 'AnonymousUser'.", nil},
		{"jobs.show 403 carol", "carol", "scheduler.jobs.show", []any{itoa(bobs)}, 403, "not available to user 'carol'", nil},
		{"jobs.show own personal", "bob", "scheduler.jobs.show", []any{itoa(bobs)}, 0, "", structKeys(jobShowKeys)},
		{"jobs.show group member", "bob", "scheduler.jobs.show", []any{itoa(bobs + 1)}, 0, "", structKeys(jobShowKeys)},
		{"jobs.show group admin", "admin", "scheduler.jobs.show", []any{itoa(bobs)}, 0, "", structKeys(jobShowKeys)},
		{"jobs.list", "", "scheduler.jobs.list", nil, 0, "", arrayOf(jobListKeys, 1)},
		{"jobs.list 6 args", "", "scheduler.jobs.list", []any{"SUBMITTED", nil, int64(0), int64(25), int64(0), true}, 0, "", arrayOf(jobVerbose, 1)},
		{"jobs.list bad state", "", "scheduler.jobs.list", []any{"SLEEPING"}, 400, "Invalid state 'SLEEPING'", nil},
		{"jobs.list bad health", "", "scheduler.jobs.list", []any{nil, "GREAT"}, 400, "Invalid health 'GREAT'", nil},
		{"jobs.list anonymous sees public only", "", "scheduler.jobs.list", nil, 0, "", func(t *testing.T, v any) {
			if n := len(v.([]any)); n != 1 {
				t.Errorf("anonymous sees %d jobs, want 1", n)
			}
		}},
		{"jobs.list since", "", "scheduler.jobs.list", []any{nil, nil, int64(0), int64(25), int64(60), false}, 0, "", equals([]any{})},
		{"jobs.queue", "", "scheduler.jobs.queue", []any{[]any{"qemu"}, int64(0), int64(25)}, 0, "", arrayOf(queueKeys, 1)},
		{"jobs.definition", "", "scheduler.jobs.definition", []any{itoa(pub)}, 0, "", equals(qemuJob)},
		{"jobs.logs", "", "scheduler.jobs.logs", []any{itoa(pub), int64(0), nil}, 0, "", func(t *testing.T, v any) {
			a := v.([]any)
			if len(a) != 2 || a[0] != false {
				t.Fatalf("got %#v", v)
			}
			got := string(a[1].(Binary))
			want := `- {"dt": "2023-01-02T03:04:05.123456", "lvl": "info", "msg": "start: 0 validate"}` + "\n" +
				`- {"dt": "2023-01-02T03:04:05.123456", "lvl": "target", "msg": "login: \x1b[0m \"root\""}` + "\n" +
				`- {"dt": "2023-01-02T03:04:05.123456", "lvl": "results", "msg": {"case": "uname", "definition": "0_smoke", "result": "pass"}}` + "\n"
			if got != want {
				t.Errorf("logs =\n%s\nwant\n%s", got, want)
			}
		}},
		{"jobs.logs range", "", "scheduler.jobs.logs", []any{itoa(pub), int64(1), int64(2)}, 0, "", func(t *testing.T, v any) {
			if got := string(v.([]any)[1].(Binary)); strings.Count(got, "\n") != 1 || !strings.Contains(got, "login") {
				t.Errorf("logs 1..2 = %q", got)
			}
		}},
		{"jobs.logs past the end", "", "scheduler.jobs.logs", []any{itoa(pub), int64(10)}, 0, "", equals([]any{false, Binary("[]")})},
		{"jobs.validate ok", "", "scheduler.jobs.validate", []any{qemuJob}, 0, "", equals(map[string]any{})},
		{"jobs.validate bad", "", "scheduler.jobs.validate", []any{strings.Replace(qemuJob, "method: qemu", "method: magic", 1)}, 0, "", structKeys(sorted("path", "msg"))},
		{"jobs.submit anon", "", "scheduler.jobs.submit", []any{qemuJob}, 401, "Authentication with user and token required", nil},
		{"jobs.submit", "bob", "scheduler.jobs.submit", []any{qemuJob}, 0, "", func(t *testing.T, v any) {
			if _, ok := v.(int64); !ok {
				t.Errorf("got %#v, want an int", v)
			}
		}},
		{"jobs.submit invalid", "bob", "scheduler.jobs.submit", []any{"job_name: x\n"}, 400, "Problem with submitted job data: ", nil},
		{"jobs.submit no yaml", "bob", "scheduler.jobs.submit", []any{"{"}, 400, "Problem with submitted job data", nil},
		{"jobs.submit no type", "bob", "scheduler.jobs.submit", []any{strings.Replace(qemuJob, "device_type: qemu", "device_type: bbb", 1)}, 404, "Specified device or device type not found.", nil},
		{"jobs.submit no device with tag", "bob", "scheduler.jobs.submit", []any{qemuJob + "tags: [hdmi]\n"}, 400, "Device unavailable: ", nil},
		{"jobs.submit group not member", "carol", "scheduler.jobs.submit", []any{strings.Replace(qemuJob, "visibility: public", "visibility:\n  group: [lab]", 1)}, 400, "carol is not a member of group \"lab\"", nil},
		{"jobs.cancel not submitter", "carol", "scheduler.jobs.cancel", []any{itoa(pub)}, 403, "Permission denied.", nil},
		{"jobs.cancel anon", "", "scheduler.jobs.cancel", []any{itoa(pub)}, 401, "Authentication", nil},
		{"jobs.configuration not started", "", "scheduler.jobs.configuration", []any{itoa(pub)}, 404, "has not started yet", nil},
		{"jobs.resubmit not submitter", "carol", "scheduler.jobs.resubmit", []any{itoa(pub)}, 403, "Permission denied.", nil},
		{"jobs.resubmit", "admin", "scheduler.jobs.resubmit", []any{itoa(pub)}, 0, "", func(t *testing.T, v any) {
			if n, ok := v.(int64); !ok || n <= pub {
				t.Errorf("got %#v, want a new id", v)
			}
		}},
		{"results yaml", "", "results.get_testjob_results_yaml", []any{itoa(pub)}, 0, "", func(t *testing.T, v any) {
			s := v.(string)
			for _, w := range []string{"name: uname", "suite: 0_smoke", "result: pass", "measurement: None", "measurement: \"1.5000000000\"", "logged: '2023-01-02 03:04:05.123456+00:00'", "log_start_line: \"2\""} {
				if !strings.Contains(s, w) {
					t.Errorf("yaml lacks %q:\n%s", w, s)
				}
			}
		}},
		{"results suite yaml", "", "results.get_testsuite_results_yaml", []any{itoa(pub), "0_smoke"}, 0, "", func(t *testing.T, v any) {
			if n := strings.Count(v.(string), "- "); n != 2 {
				t.Errorf("%d cases, want 2:\n%s", n, v)
			}
		}},
		{"results case yaml", "", "results.get_testcase_results_yaml", []any{itoa(pub), "0_smoke", "speed"}, 0, "", func(t *testing.T, v any) {
			if !strings.Contains(v.(string), "result: fail") {
				t.Errorf("got %s", v)
			}
		}},
		{"results suite 404", "", "results.get_testsuite_results_yaml", []any{itoa(pub), "nope"}, 404, "Specified test suite 'nope' not found.", nil},
		{"results case 404", "", "results.get_testcase_results_yaml", []any{itoa(pub), "0_smoke", "nope"}, 404, "Specified test case 'nope' not found.", nil},
		{"results private", "", "results.get_testjob_results_yaml", []any{itoa(bobs)}, 403, "not available", nil},
		{"results csv", "", "results.get_testjob_results_csv", []any{itoa(pub)}, 0, "", func(t *testing.T, v any) {
			if !strings.HasPrefix(v.(string), `"job","suite","result"`) {
				t.Errorf("csv = %q", v)
			}
		}},
		{"suites list", "", "results.get_testjob_suites_list_yaml", []any{itoa(pub)}, 0, "", func(t *testing.T, v any) {
			if !strings.Contains(v.(string), "name: 0_smoke") {
				t.Errorf("got %s", v)
			}
		}},
		{"suite count", "", "results.get_testsuite_results_count", []any{itoa(pub), "0_smoke"}, 0, "", equals(2)},
		{"devices.list", "", "scheduler.devices.list", nil, 0, "", arrayOf(devListKeys, 1)},
		{"devices.show", "", "scheduler.devices.show", []any{"qemu-01"}, 0, "", structKeys(devShowKeys)},
		{"devices.show 404", "", "scheduler.devices.show", []any{"nope"}, 404, "Device 'nope' was not found.", nil},
		{"dictionary anonymous", "", "scheduler.devices.get_dictionary", []any{"qemu-01"}, 401, "Authentication", nil},
		{"dictionary bob", "bob", "scheduler.devices.get_dictionary", []any{"qemu-01", true, nil}, 403, "Permission denied.", nil},
		{"dictionary", "admin", "scheduler.devices.get_dictionary", []any{"qemu-01"}, 0, "", equals(Binary("{% extends 'qemu.jinja2' %}\n{% set memory = 1024 %}\n"))},
		{"dictionary render", "admin", "scheduler.devices.get_dictionary", []any{"qemu-01", true, nil}, 0, "", equals(Binary("device_type: qemu\nsettings:\n    memory: 1024\n"))},
		{"set_dictionary bob", "bob", "scheduler.devices.set_dictionary", []any{"qemu-01", "x"}, 403, "Permission denied.", nil},
		{"set_dictionary bad", "admin", "scheduler.devices.set_dictionary", []any{"qemu-01", "{% extends 'qemu.jinja2' %}\n{{ x }}\n"}, 400, "Invalid device dictionary", nil},
		{"set_dictionary yaml", "admin", "scheduler.devices.set_dictionary", []any{"qemu-01", "extends: qemu\nsettings:\n  memory: 1024\n"}, 0, "", equals(true)},
		{"devices.add dup", "admin", "scheduler.devices.add", []any{"qemu-01", "qemu", "w1"}, 400, "already exists", nil},
		{"devices.add no worker", "admin", "scheduler.devices.add", []any{"qemu-02", "qemu", "w9"}, 404, "Worker 'w9' was not found.", nil},
		{"devices.add", "admin", "scheduler.devices.add", []any{"qemu-02", "qemu", "w1", nil, nil, true, "MAINTENANCE", "spare"}, 0, "", equals(nil)},
		{"devices.update bad health", "admin", "scheduler.devices.update", []any{"qemu-02", nil, nil, nil, true, "SICK"}, 400, "Invalid health 'SICK'", nil},
		{"devices.tags.list", "", "scheduler.devices.tags.list", []any{"qemu-01"}, 0, "", equals([]any{"usb"})},
		{"device_types.list", "", "scheduler.device_types.list", nil, 0, "", arrayOf(dtListKeys, 1)},
		{"device_types.show", "", "scheduler.device_types.show", []any{"qemu"}, 0, "", structKeys(dtShowKeys)},
		{"device_types.show 404", "", "scheduler.device_types.show", []any{"bbb"}, 404, "Device-type 'bbb' was not found.", nil},
		{"device_types.aliases.list", "", "scheduler.device_types.aliases.list", []any{"qemu"}, 0, "", equals([]any{"kvm"})},
		{"aliases.show", "", "scheduler.aliases.show", []any{"kvm"}, 0, "", structKeys(aliasShowKey)},
		{"aliases.add dup", "admin", "scheduler.aliases.add", []any{"kvm", "qemu"}, 400, "already exists", nil},
		{"health check none", "", "scheduler.device_types.get_health_check", []any{"qemu"}, 404, "has no health check", nil},
		{"template", "", "scheduler.device_types.get_template", []any{"qemu"}, 0, "", equals(Binary("{}\n"))},
		{"device_types.add bad denominator", "admin", "scheduler.device_types.add", []any{"bbb", nil, true, false, int64(24), "weeks"}, 400, "health_denominator", nil},
		{"workers.list", "", "scheduler.workers.list", nil, 0, "", equals([]any{"w1"})},
		{"workers.show", "", "scheduler.workers.show", []any{"w1"}, 0, "", structKeys(workerKeys)},
		{"workers.show 404", "", "scheduler.workers.show", []any{"w9"}, 404, "Worker 'w9' was not found.", nil},
		{"workers.update bad health", "admin", "scheduler.workers.update", []any{"w1", nil, "ASLEEP"}, 400, "Invalid health 'ASLEEP'", nil},
		{"workers.add bob", "bob", "scheduler.workers.add", []any{"w2"}, 403, "Permission denied.", nil},
		{"tags.list", "", "scheduler.tags.list", nil, 0, "", arrayOf(tagListKeys, 2)},
		{"tags.show", "", "scheduler.tags.show", []any{"usb"}, 0, "", structKeys(tagShowKeys)},
		{"tags.show 404", "", "scheduler.tags.show", []any{"nope"}, 404, "Tag 'nope' was not found.", nil},
		{"tags.delete 404", "admin", "scheduler.tags.delete", []any{"nope"}, 404, "Tag 'nope' was not found.", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v, f, body := e.call(t, tc.user, tc.method, tc.params...)
			if tc.fault != 0 {
				if f == nil {
					t.Fatalf("got %#v, want fault %d %q", v, tc.fault, tc.msg)
				}
				if f.Code != tc.fault || !strings.Contains(f.Msg, tc.msg) {
					t.Errorf("fault %d %q, want %d containing %q", f.Code, f.Msg, tc.fault, tc.msg)
				}
				return
			}
			if f != nil {
				t.Fatalf("fault %d %q\n%s", f.Code, f.Msg, body)
			}
			if tc.check != nil {
				tc.check(t, v)
			}
		})
	}
}

func TestHTTPErrors(t *testing.T) {
	e := newEnv(t)
	call := []byte("<?xml version='1.0'?><methodCall><methodName>system.whoami</methodName><params></params></methodCall>")
	tests := []struct {
		name   string
		header string
		body   []byte
		code   int
		want   string
	}{
		{"no auth", "", call, 200, "<nil/>"},
		{"bad scheme", "Bearer abc", call, 400, "Unsupported HTTP_AUTHORIZATION header, only Basic scheme is supported"},
		{"no value", "Basic", call, 400, "Invalid HTTP_AUTHORIZATION header"},
		{"bad base64", "Basic !!!", call, 400, "Corrupted HTTP_AUTHORIZATION header, bad base64 encoding"},
		{"no colon", "Basic " + base64.StdEncoding.EncodeToString([]byte("bob")), call, 400, "Corrupted HTTP_AUTHORIZATION header, no user:pass"},
		{"wrong token", "Basic " + base64.StdEncoding.EncodeToString([]byte("bob:lava_nope")), call, 401, "Invalid token"},
		{"token of another user", "Basic " + base64.StdEncoding.EncodeToString([]byte("bob:"+e.tokens["carol"])), call, 401, "Invalid token"},
		{"good", "Basic " + base64.StdEncoding.EncodeToString([]byte("bob:"+e.tokens["bob"])), call, 200, "<string>bob</string>"},
		{"malformed xml", "", []byte("<methodCall><methodName>x"), 200, "<int>-32700</int>"},
		{"not a call", "", []byte("<foo/>"), 200, "<int>-32600</int>"},
		{"empty body", "", nil, 200, "<int>-32600</int>"},
		{"bad int", "", []byte("<methodCall><methodName>scheduler.jobs.show</methodName><params><param><value><int>x</int></value></param></params></methodCall>"), 200, "<int>-32600</int>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, e.url, bytes.NewReader(tc.body))
			must(t, err)
			if tc.header != "" {
				req.Header.Set("Authorization", tc.header)
			}
			resp, err := http.DefaultClient.Do(req)
			must(t, err)
			defer resp.Body.Close()
			var b bytes.Buffer
			if _, err := b.ReadFrom(resp.Body); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.code || !strings.Contains(b.String(), tc.want) {
				t.Errorf("HTTP %d %q, want %d containing %q", resp.StatusCode, b.String(), tc.code, tc.want)
			}
			if tc.code == 401 && resp.Header.Get("WWW-Authenticate") != `Basic realm="XML-RPC Authentication token"` {
				t.Errorf("WWW-Authenticate = %q", resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
