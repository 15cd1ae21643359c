package web

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/lab"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/sdk"
)

// fakeDrivers is an in-memory Drivers for the driver pages; the real
// registry adapter lives in cmd/lava-server.
type fakeDrivers struct{ list []DriverInfo }

func (f *fakeDrivers) List() []DriverInfo { return f.list }
func (f *fakeDrivers) Refused() []DriverRefusal {
	return []DriverRefusal{{Path: "/drivers/broken.wasm", Reason: "describe: trap"}}
}
func (f *fakeDrivers) Activate(_ context.Context, name, sha string) (DriverInfo, error) {
	var out DriverInfo
	for i := range f.list {
		if f.list[i].Name == name {
			f.list[i].Active = f.list[i].SHA256 == sha
			if f.list[i].Active {
				out = f.list[i]
			}
		}
	}
	if out.Name == "" {
		return out, fmt.Errorf("no version %s of %s", sha, name)
	}
	return out, nil
}
func (f *fakeDrivers) Rollback(context.Context, string) (DriverInfo, error) {
	return DriverInfo{}, fmt.Errorf("nothing to roll back to")
}
func (f *fakeDrivers) Install(context.Context, string, []byte) (DriverInfo, error) {
	return DriverInfo{}, fmt.Errorf("not a wasm module")
}
func (f *fakeDrivers) Module(context.Context, string) ([]byte, error) {
	return nil, fmt.Errorf("no modules: %w", ErrNoModule)
}
func (f *fakeDrivers) ForDeviceType(devType string) (DriverInfo, error) {
	for _, d := range f.list {
		if d.Active && slices.Contains(d.DeviceTypes, devType) {
			return d, nil
		}
	}
	return DriverInfo{}, fmt.Errorf("no driver for %s: %w", devType, ErrNoModule)
}

// ErrNoModule stands for lab.ErrDriverNotFound in the fake.
var ErrNoModule = lab.ErrDriverNotFound

func newDrivers() *fakeDrivers {
	desc := sdk.Description{Name: "qemu-drv", Version: "1.2.0", DeviceTypes: []string{"qemu"}, Summary: "QEMU boards",
		Settings: []sdk.SettingSpec{{Key: "bootm_kernel_addr", Type: sdk.SettingString, Default: "0x80000000", Help: "where U-Boot loads the kernel"}}}
	old := desc
	old.Version = "1.1.0"
	return &fakeDrivers{list: []DriverInfo{
		{Name: "qemu-drv", Version: "1.2.0", SHA256: strings.Repeat("ab", 32), Kind: "wasm", Source: "dir", DeviceTypes: []string{"qemu"}, Active: true, Description: desc},
		{Name: "qemu-drv", Version: "1.1.0", SHA256: strings.Repeat("cd", 32), Kind: "wasm", Source: "dir", DeviceTypes: []string{"qemu"}, Description: old},
	}}
}

func TestPages(t *testing.T) {
	e := newEnv(t, newDrivers())
	j := e.running("bob", "public smoke job", "public")
	e.appendLogs(j.ID, 0, "info|start: 1 tftp-deploy (timeout 00:10:00) [common]", "debug|downloading kernel",
		"info|end: 1 tftp-deploy (duration 00:00:01) [common]", "error|kernel panic: oh no", "U-Boot 2024.01")
	must(t, e.st.AddTestCases(context.Background(), j.ID, []model.TestCase{
		{Suite: "0_smoke", Name: "boot-time", Result: model.ResultPass, Measurement: ptr(3.25), Units: "seconds"},
		{Suite: "0_smoke", Name: "network", Result: model.ResultFail}}))
	anon := e.client()
	admin := e.login("admin")
	id := fmt.Sprint(j.ID)
	for _, tc := range []struct {
		c      *client
		path   string
		status int
		want   []string
	}{
		{anon, "/", 200, []string{"Lab overview", "Queue", "qemu", "w1", "public smoke job", "Log in"}},
		{anon, "/jobs", 200, []string{"Jobs 1–1 of 1", "public smoke job", `href="/jobs/` + id + `"`}},
		{anon, "/jobs?state=running&device_type=qemu&submitter=bob&q=smoke", 200, []string{"public smoke job"}},
		{anon, "/jobs?q=nothing-matches", 200, []string{"No jobs match."}},
		{anon, "/jobs?state=bogus", 400, []string{"invalid job state"}},
		{anon, "/jobs/" + id, 200, []string{"public smoke job", "Running", "qemu-01", "kernel panic: oh no",
			`class="l lvl-error" id="first-error"`, `<details class="act" open data-open="false"><summary>`, "boot-time", "3.25", "seconds",
			"results.csv", "results.xml", `data-follow="true"`, `<span class="yk">job_name</span>`, "/static/log.js"}},
		{anon, "/jobs/999", 404, []string{"does not exist"}},
		{anon, "/jobs/" + id + "/results.csv", 200, []string{"boot-time", "network"}},
		{anon, "/jobs/" + id + "/results.xml", 200, []string{"<testsuite", "boot-time"}},
		{anon, "/jobs/" + id + "/results.yaml", 200, []string{"name: boot-time"}},
		{anon, "/jobs/" + id + "/results.exe", 404, nil},
		{anon, "/submit", 200, []string{"Submit a job", "Validate", "Log in to submit"}},
		{admin, "/submit?from=" + id, 200, []string{"job_name: public smoke job", `value="submit"`}},
		{anon, "/devices", 200, []string{"qemu-01", "qemu-02", "Running", `href="/jobs/` + id + `"`}},
		{anon, "/devices/qemu-01", 200, []string{"Device qemu-01", "Shown to admins only", "Recent jobs", "Health checks", "usb"}},
		{anon, "/devices/nope", 404, nil},
		{admin, "/devices/qemu-01", 200, []string{`action="/devices/qemu-01/health"`, "Maintenance", "extends"}},
		{anon, "/device-types", 200, []string{"qemu", "qemu-drv 1.2.0"}},
		{anon, "/device-types/qemu", 200, []string{"QEMU x86_64", "bootm_kernel_addr", "0x80000000", "0x82000000",
			"where U-Boot loads the kernel", "stray", "not declared by the active driver", strings.Repeat("ab", 32)}},
		{anon, "/device-types/nope", 404, nil},
		{anon, "/workers", 200, []string{"w1", "Online", "test-1", "lab host one", `href="/jobs/` + id + `"`,
			"spool backlog 42 records (3.0 KiB)", "disk free 5.0 GiB; artifact cache 1.5 GiB, 7 hits, 2 misses; 1 jobs"}},
		{anon, "/drivers", 200, []string{"qemu-drv", "1.1.0", "active", "broken.wasm", "describe: trap"}},
		{admin, "/drivers", 200, []string{"Upload a driver", "Roll back", `action="/drivers/activate"`}},
		{anon, "/login", 200, []string{"API token", `name="csrf"`}},
		{admin, "/", 200, []string{"admin (admin)", "Log out"}},
		{anon, "/static/style.css", 200, []string{".lvl-error"}},
		{anon, "/static/log.js", 200, []string{"EventSource"}},
	} {
		r := tc.c.get(tc.path)
		if r.status != tc.status {
			t.Errorf("GET %s: status %d, want %d", tc.path, r.status, tc.status)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(r.body, w) {
				t.Errorf("GET %s: body lacks %q", tc.path, w)
			}
		}
		if strings.HasSuffix(tc.path, ".css") || strings.HasSuffix(tc.path, ".js") || strings.Contains(tc.path, "/results.") {
			continue
		}
		if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("GET %s: Content-Type %q", tc.path, ct)
		}
		if r.header.Get("Content-Security-Policy") == "" {
			t.Errorf("GET %s: no Content-Security-Policy", tc.path)
		}
	}
}

func ptr(f float64) *float64 { return &f }

func TestWithoutDriverRegistry(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client()
	for path, want := range map[string]string{
		"/drivers":           "without a driver registry",
		"/device-types":      "without a driver registry",
		"/device-types/qemu": "without a driver registry",
	} {
		if r := c.get(path); r.status != 200 || !strings.Contains(r.body, want) {
			t.Errorf("GET %s: %d, want 200 with %q", path, r.status, want)
		}
	}
	admin := e.login("admin")
	if r := admin.post("/drivers/rollback", url.Values{"csrf": {admin.csrf()}, "name": {"x"}}); r.status != http.StatusServiceUnavailable {
		t.Errorf("rollback without registry: %d, want 503", r.status)
	}
}

// TestPrivateJobInvisible: a personal job is on no page for another user
// (nor anonymous), while its submitter and an admin see it.
func TestPrivateJobInvisible(t *testing.T) {
	e := newEnv(t, newDrivers())
	const secret = "SECRET-bob-private"
	j := e.running("bob", secret, "personal")
	e.appendLogs(j.ID, 0, "info|"+secret+" log line")
	must(t, e.st.AddTestCases(context.Background(), j.ID, []model.TestCase{{Suite: "s", Name: secret + "-case", Result: model.ResultPass}}))
	id := fmt.Sprint(j.ID)
	pages := []string{"/", "/jobs", "/jobs?q=SECRET", "/jobs?submitter=bob", "/jobs?state=running", "/devices", "/devices/qemu-01",
		"/device-types", "/device-types/qemu", "/workers", "/drivers", "/submit?from=" + id,
		"/jobs/" + id, "/jobs/" + id + "/log/stream", "/jobs/" + id + "/results.csv", "/jobs/" + id + "/results.yaml"}
	link := `href="/jobs/` + id + `"`
	for name, c := range map[string]*client{"dave": e.login("dave"), "anonymous": e.client()} {
		for _, p := range pages {
			r := c.get(p)
			if strings.Contains(r.body, secret) || strings.Contains(r.body, link) {
				t.Errorf("%s sees bob's private job on %s (status %d)", name, p, r.status)
			}
			if strings.HasPrefix(p, "/jobs/") && r.status != http.StatusNotFound {
				t.Errorf("%s GET %s: %d, want 404", name, p, r.status)
			}
		}
		if r := c.get("/devices/qemu-01"); !strings.Contains(r.body, "a private job") {
			t.Errorf("%s: device page does not say its job is private", name)
		}
	}
	// The same pages show it to its submitter and an admin: the test above
	// would notice a leak.
	for _, who := range []string{"bob", "admin"} {
		c := e.login(who)
		for _, p := range []string{"/", "/jobs", "/devices", "/workers", "/jobs/" + id} {
			if r := c.get(p); !strings.Contains(r.body, link) && !strings.Contains(r.body, secret) {
				t.Errorf("%s does not see the job on %s", who, p)
			}
		}
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t, newDrivers())
	j := e.running("bob", "to cancel", "public")
	bob := e.login("bob")
	path := fmt.Sprintf("/jobs/%d/cancel", j.ID)
	other := e.client() // another browser: its own CSRF cookie
	for name, form := range map[string]url.Values{
		"no token":      {},
		"wrong token":   {"csrf": {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}},
		"foreign token": {"csrf": {other.csrf()}},
	} {
		if r := bob.post(path, form); r.status != http.StatusForbidden || !strings.Contains(r.body, "CSRF") {
			t.Errorf("%s: %d %q, want 403 naming CSRF", name, r.status, r.body)
		}
	}
	if got, _ := e.st.Job(context.Background(), store.System(), j.ID); got.State != model.JobRunning {
		t.Fatalf("job is %s after refused cancels, want Running", got.State)
	}
	// Every state-changing form is refused without a token.
	for _, p := range []string{"/login", "/logout", "/submit", fmt.Sprintf("/jobs/%d/resubmit", j.ID), "/devices/qemu-01/health",
		"/drivers/activate", "/drivers/rollback"} {
		if r := bob.post(p, url.Values{"token": {e.tokens["bob"]}, "definition": {qemuJob}, "health": {"Bad"}}); r.status != http.StatusForbidden {
			t.Errorf("POST %s without CSRF token: %d, want 403", p, r.status)
		}
	}
	// dave may not cancel bob's job even with a good token.
	dave := e.login("dave")
	if r := dave.post(path, url.Values{"csrf": {dave.csrf()}}); r.status != http.StatusForbidden {
		t.Errorf("dave cancels bob's job: %d, want 403", r.status)
	}
	if r := bob.post(path, url.Values{"csrf": {bob.csrf()}}); r.status != http.StatusSeeOther {
		t.Fatalf("cancel with token: %d %q", r.status, r.body)
	}
	if got, _ := e.st.Job(context.Background(), store.System(), j.ID); got.State != model.JobCanceling {
		t.Errorf("job is %s after cancel, want Canceling", got.State)
	}
}

func TestLoginLogout(t *testing.T) {
	e := newEnv(t, nil)
	c := e.client()
	if r := c.post("/login", url.Values{"csrf": {c.csrf()}, "token": {"lava_wrong"}}); r.status != http.StatusUnauthorized || !strings.Contains(r.body, "No such API token") {
		t.Errorf("wrong token: %d", r.status)
	}
	r := c.post("/login", url.Values{"csrf": {c.csrf()}, "token": {e.tokens["bob"]}, "next": {"//evil.example/x"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
		t.Fatalf("login: %d to %q, want 303 to / (no open redirect)", r.status, r.header.Get("Location"))
	}
	sc := r.header.Get("Set-Cookie")
	for _, want := range []string{SessionCookie + "=", "HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(sc, want) {
			t.Errorf("session cookie %q lacks %s", sc, want)
		}
	}
	if strings.Contains(sc, "Secure") {
		t.Errorf("session cookie %q is Secure over plain HTTP", sc)
	}
	if r := c.get("/"); !strings.Contains(r.body, "bob") || !strings.Contains(r.body, "Log out") {
		t.Errorf("logged in page does not name bob")
	}
	if r := c.post("/logout", url.Values{"csrf": {c.csrf()}}); r.status != http.StatusSeeOther {
		t.Errorf("logout: %d", r.status)
	}
	if r := c.get("/"); strings.Contains(r.body, "Log out") {
		t.Errorf("still logged in after logout")
	}
	// A deleted token ends its sessions.
	c2 := e.login("dave")
	toks, err := e.st.ListTokens(context.Background(), "dave")
	must(t, err)
	must(t, e.st.DeleteToken(context.Background(), "dave", toks[0].ID))
	if r := c2.get("/"); strings.Contains(r.body, "Log out") {
		t.Error("session survives its token's deletion")
	}
}

func TestSubmit(t *testing.T) {
	e := newEnv(t, nil)
	bob := e.login("bob")
	broken := strings.Replace(qemuJob, "priority: medium", "priority: urgent", 1)
	r := bob.post("/submit", url.Values{"csrf": {bob.csrf()}, "definition": {broken}, "action": {"validate"}})
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("validate broken: %d", r.status)
	}
	for _, want := range []string{`<li id="src-3" class="err">priority: urgent`, `href="#src-3">line 3`, "priority"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("validation page lacks %q", want)
		}
	}
	r = bob.post("/submit", url.Values{"csrf": {bob.csrf()}, "definition": {strings.Replace(qemuJob, "device_type: qemu", "device_type: nosuchtype", 1)}, "action": {"submit"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "does not exist") {
		t.Errorf("submit to a missing device type: %d", r.status)
	}
	r = bob.post("/submit", url.Values{"csrf": {bob.csrf()}, "definition": {qemuJob}, "action": {"validate"}})
	if r.status != 200 || !strings.Contains(r.body, "The definition is valid") {
		t.Errorf("validate good: %d", r.status)
	}
	r = bob.post("/submit", url.Values{"csrf": {bob.csrf()}, "definition": {qemuJob}, "action": {"submit"}})
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/jobs/") {
		t.Fatalf("submit: %d %q", r.status, r.header.Get("Location"))
	}
	jobs, n, err := e.st.ListJobs(context.Background(), store.System(), store.JobFilter{})
	must(t, err)
	if n != 1 || jobs[0].Submitter != "bob" || jobs[0].Definition != qemuJob {
		t.Errorf("stored %d jobs, %+v", n, jobs)
	}
	anon := e.client()
	if r := anon.post("/submit", url.Values{"csrf": {anon.csrf()}, "definition": {qemuJob}, "action": {"submit"}}); r.status != http.StatusUnauthorized {
		t.Errorf("anonymous submit: %d, want 401", r.status)
	}
	// Resubmit makes a new job of the same definition.
	r = bob.post(fmt.Sprintf("/jobs/%d/resubmit", jobs[0].ID), url.Values{"csrf": {bob.csrf()}})
	if r.status != http.StatusSeeOther {
		t.Errorf("resubmit: %d %q", r.status, r.body)
	}
	if _, n, _ := e.st.ListJobs(context.Background(), store.System(), store.JobFilter{}); n != 2 {
		t.Errorf("%d jobs after resubmit, want 2", n)
	}
}

func TestAdminForms(t *testing.T) {
	e := newEnv(t, newDrivers())
	bob, admin := e.login("bob"), e.login("admin")
	if r := bob.post("/devices/qemu-02/health", url.Values{"csrf": {bob.csrf()}, "health": {"Maintenance"}}); r.status != http.StatusForbidden {
		t.Errorf("bob sets health: %d", r.status)
	}
	if r := admin.post("/devices/qemu-02/health", url.Values{"csrf": {admin.csrf()}, "health": {"Maintenance"}, "reason": {"PSU swap"}}); r.status != http.StatusSeeOther {
		t.Errorf("admin sets health: %d %s", r.status, r.body)
	}
	if d, _ := e.st.Device(context.Background(), "qemu-02"); d.Health != model.DeviceMaintenance {
		t.Errorf("health %s, want Maintenance", d.Health)
	}
	// The device page shows the change in its health history: who and why.
	if r := bob.get("/devices/qemu-02"); r.status != 200 || !strings.Contains(r.body, "Health history") ||
		!strings.Contains(r.body, "by admin “PSU swap”") || !strings.Contains(r.body, `<td class="st-maintenance">Maintenance</td>`) {
		t.Errorf("device page health history: %d %s", r.status, r.body)
	}
	if r := bob.post("/drivers/activate", url.Values{"csrf": {bob.csrf()}, "name": {"qemu-drv"}, "sha256": {strings.Repeat("cd", 32)}}); r.status != http.StatusForbidden {
		t.Errorf("bob activates: %d", r.status)
	}
	r := admin.post("/drivers/activate", url.Values{"csrf": {admin.csrf()}, "name": {"qemu-drv"}, "sha256": {strings.Repeat("cd", 32)}})
	if r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "1.1.0") {
		t.Errorf("admin activates: %d %q", r.status, r.header.Get("Location"))
	}
	if r := admin.post("/drivers/rollback", url.Values{"csrf": {admin.csrf()}, "name": {"qemu-drv"}}); r.status != http.StatusBadRequest || !strings.Contains(r.body, "nothing to roll back") {
		t.Errorf("refused rollback: %d", r.status)
	}
}

// TestLogStream reads the live log as a browser does: records already
// stored, then records appended while it listens, then the end.
func TestLogStream(t *testing.T) {
	e := newEnv(t, nil)
	j := e.running("bob", "streamed", "public")
	e.appendLogs(j.ID, 0, "info|one", "info|two")
	req, err := http.NewRequest("GET", fmt.Sprintf("%s/jobs/%d/log/stream?from=1", e.srv.URL, j.ID), nil)
	must(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	must(t, err)
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	sc := bufio.NewScanner(resp.Body)
	next := func(want string) {
		t.Helper()
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "data:") || strings.HasPrefix(sc.Text(), "event:") {
				if !strings.Contains(sc.Text(), want) {
					t.Fatalf("got %q, want %q", sc.Text(), want)
				}
				return
			}
		}
		t.Fatalf("stream ended before %q: %v", want, sc.Err())
	}
	next(`{"i":1,`) // from=1: "one" is skipped
	if !strings.Contains(sc.Text(), `"m":"two"`) {
		t.Fatalf("first record %q, want two", sc.Text())
	}
	e.appendLogs(j.ID, 2, "target|three <b>")
	next(`"m":"three \u003cb\u003e"`)
	e.appendLogs(j.ID, 3, "info|four")
	_, err = e.st.FinishJob(context.Background(), j.ID, store.JobResult{Health: model.JobComplete})
	must(t, err)
	next(`"m":"four"`)
	next("event: end")
}

// TestBoundedCounts: past QueueCountLimit queued jobs the home page shows
// "1000+", and the jobs list counts CountPagesAhead pages from the current
// one ("of 500+" on page 1, "of 550+" on page 2) and still links onwards.
func TestBoundedCounts(t *testing.T) {
	e := newEnv(t, nil)
	batch := make([]model.Job, QueueCountLimit+1)
	for i := range batch {
		batch[i] = model.Job{Description: fmt.Sprintf("queued %d", i), Definition: qemuJob, RequestedDeviceType: "qemu",
			Submitter: "bob", Visibility: model.VisibilityPublic, Priority: 50}
	}
	_, err := e.st.CreateJobs(context.Background(), batch)
	must(t, err)
	anon := e.client()
	ahead := CountPagesAhead * JobsPerPage
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/", []string{fmt.Sprintf(`<span class="big">%d+</span>`, QueueCountLimit), fmt.Sprintf(">%d+</a>", QueueCountLimit)}},
		{"/jobs", []string{fmt.Sprintf("Jobs 1–%d of %d+", JobsPerPage, ahead), fmt.Sprintf("page 1 of %d+", CountPagesAhead), `rel="next"`}},
		{"/jobs?page=2", []string{fmt.Sprintf("of %d+", JobsPerPage+ahead), fmt.Sprintf("page 2 of %d+", CountPagesAhead+1), `rel="next"`}},
	} {
		r := anon.get(tc.path)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d", tc.path, r.status)
		}
		for _, w := range tc.want {
			if !strings.Contains(r.body, w) {
				t.Errorf("%s lacks %q", tc.path, w)
			}
		}
	}
}
