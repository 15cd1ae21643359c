package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/lavalab/lavalab/core/auth"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// snapshot renders what the admin endpoints can change, to check that a
// refused request changed nothing.
func (e *env) snapshot() string {
	e.t.Helper()
	ctx := context.Background()
	var b strings.Builder
	devs, err := e.st.ListDevices(ctx, store.DeviceFilter{IncludeRetired: true})
	must(e.t, err)
	dts, err := e.st.ListDeviceTypes(ctx)
	must(e.t, err)
	ws, err := e.st.ListWorkers(ctx)
	must(e.t, err)
	tags, err := e.st.ListTags(ctx)
	must(e.t, err)
	us, err := e.st.ListUsers(ctx)
	must(e.t, err)
	gs, err := e.st.ListGroups(ctx)
	must(e.t, err)
	for _, w := range ws {
		w.LastPing = w.LastPing.UTC()
	}
	fmt.Fprintf(&b, "%+v\n%+v\n%+v\n%+v\n%+v\n%+v\n", devs, dts, ws, tags, us, gs)
	return b.String()
}

func TestAdminOnly(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		method, path, body string
		status             int // for the admin
	}{
		{"POST", "/api/v1/devices", `{"hostname": "qemu-03", "device_type": "qemu", "worker": "w1", "tags": ["usb"]}`, 201},
		{"PATCH", "/api/v1/devices/qemu-01", `{"description": "on the left", "tags": ["fast"]}`, 200},
		{"POST", "/api/v1/devices/qemu-01/health", `{"health": "maintenance"}`, 200},
		{"POST", "/api/v1/device-types", `{"name": "bbb2", "health_frequency": 24, "health_denominator": "hours"}`, 201},
		{"PATCH", "/api/v1/device-types/qemu", `{"health_check": "job_name: hc", "health_frequency": 10, "health_denominator": "jobs"}`, 200},
		{"PUT", "/api/v1/device-types/qemu/settings", `{"kernel_addr": "0x80000000"}`, 200},
		{"PATCH", "/api/v1/device-types/qemu/settings", `{"ramdisk_addr": "0x83000000"}`, 200},
		{"POST", "/api/v1/workers", `{"hostname": "w2", "job_limit": 2}`, 201},
		{"POST", "/api/v1/workers/w1/token", ``, 200},
		{"POST", "/api/v1/tags", `{"name": "hdmi", "description": "has a screen"}`, 201},
		{"DELETE", "/api/v1/tags/fast", ``, 204},
		{"POST", "/api/v1/users", `{"username": "erin"}`, 201},
		{"GET", "/api/v1/users", ``, 200},
		{"POST", "/api/v1/groups", `{"name": "lab"}`, 201},
		{"POST", "/api/v1/groups/team/members", `{"username": "dave"}`, 200},
		{"GET", "/api/v1/groups", ``, 200},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			before := e.snapshot()
			for _, who := range []struct {
				token  string
				status int
				code   string
			}{{"", 401, "unauthorized"}, {e.bob, 403, "forbidden"}, {"lava_wrong", 401, "unauthorized"}} {
				r := e.json(tt.method, tt.path, who.token, tt.body)
				if r.status != who.status || r.errorOf(t).Code != who.code {
					t.Errorf("token %q: %d %s, want %d", who.token, r.status, r.body, who.status)
				}
			}
			if after := e.snapshot(); after != before {
				t.Fatalf("a refused request changed the store:\n%s\n%s", before, after)
			}
			r := e.json(tt.method, tt.path, e.admin, tt.body)
			if r.status != tt.status {
				t.Fatalf("admin: %d %s", r.status, r.body)
			}
			if tt.method != "GET" && e.snapshot() == before {
				t.Errorf("admin request changed nothing")
			}
		})
	}
	ctx := context.Background()
	d, err := e.st.Device(ctx, "qemu-01")
	must(t, err)
	if d.Description != "on the left" || d.Health != model.DeviceMaintenance || d.Worker != "w1" {
		t.Errorf("device %+v", d)
	}
	dt, err := e.st.DeviceType(ctx, "qemu")
	must(t, err)
	if dt.HealthFrequency != 10 || dt.HealthDenominator != "jobs" || dt.HealthCheck != "job_name: hc" || len(dt.Settings) != 2 {
		t.Errorf("device type %+v", dt)
	}
}

func TestAdminBadInput(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		method, path, body string
		status             int
		code, inMessage    string
	}{
		{"POST", "/api/v1/devices", `{"hostname": "x", "device_type": "nosuch", "worker": "w1"}`, 400, "invalid", `device type "nosuch" does not exist`},
		{"POST", "/api/v1/devices", `{"hostname": "x", "device_type": "qemu", "worker": "nosuch"}`, 400, "invalid", `worker "nosuch" does not exist`},
		{"POST", "/api/v1/devices", `{"hostname": "qemu-01", "device_type": "qemu", "worker": "w1"}`, 409, "exists", `device "qemu-01" already exists`},
		{"POST", "/api/v1/devices", `{"hostname": "x", "device_type": "qemu", "colour": "red"}`, 400, "unknown_field", `"colour"`},
		{"POST", "/api/v1/devices", `{"hostname": "x", "device_type": "qemu", "health": "great"}`, 400, "invalid", "great"},
		{"POST", "/api/v1/devices", `{"hostname": "x",`, 400, "invalid_json", "JSON"},
		{"POST", "/api/v1/devices", ``, 400, "invalid_json", "empty"},
		{"POST", "/api/v1/devices", `{"hostname": "x", "dictionary": "` + strings.Repeat("a", MaxBody) + `"}`, 413, "body_too_large", "limit"},
		{"POST", "/api/v1/devices", `{"hostname": "x", "device_type": "qemu", "dictionary": "{% extends 'qemu.jinja2' %}\\n{% for x in y %}"}`, 400, "invalid_dictionary", "jinja2"},
		{"PATCH", "/api/v1/devices/qemu-01", `{"dictionary": "{% extends 'qemu.jinja2' %}\\n{% if x %}"}`, 400, "invalid_dictionary", "jinja2"},
		{"PATCH", "/api/v1/devices/nosuch", `{"description": "x"}`, 404, "not_found", `device "nosuch"`},
		{"PATCH", "/api/v1/devices/qemu-01", `{"worker": "nosuch"}`, 400, "invalid", "nosuch"},
		{"POST", "/api/v1/devices/qemu-01/health", `{"health": "sick"}`, 400, "invalid", "sick"},
		{"POST", "/api/v1/device-types", `{"name": "qemu"}`, 409, "exists", `device type "qemu" already exists`},
		{"POST", "/api/v1/device-types", `{"name": "z", "health_denominator": "weeks"}`, 400, "invalid", "weeks"},
		{"PATCH", "/api/v1/device-types/qemu", `{"health_frequency": -1}`, 400, "invalid", "health_frequency"},
		{"PUT", "/api/v1/device-types/qemu/settings", `["not", "an", "object"]`, 400, "invalid_json", "array"},
		{"PUT", "/api/v1/device-types/qemu/settings", `null`, 400, "invalid_json", "object"},
		{"PUT", "/api/v1/device-types/nosuch/settings", `{}`, 404, "not_found", "nosuch"},
		{"POST", "/api/v1/workers", `{"hostname": "w1"}`, 409, "exists", `worker "w1" already exists`},
		{"POST", "/api/v1/tags", `{"name": ""}`, 400, "invalid", "name"},
		{"DELETE", "/api/v1/tags/nosuch", ``, 404, "not_found", "nosuch"},
		{"POST", "/api/v1/users", `{"username": "bob"}`, 409, "exists", `user "bob" already exists`},
		{"POST", "/api/v1/groups/nosuch/members", `{"username": "bob"}`, 404, "not_found", "nosuch"},
		{"POST", "/api/v1/devices", `{"hostname": "x"}`, 415, "unsupported_media_type", "text/plain"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path+" "+tt.code, func(t *testing.T) {
			before := e.snapshot()
			ctype := "application/json"
			if tt.code == "unsupported_media_type" {
				ctype = "text/plain"
			}
			r := e.do(tt.method, tt.path, e.admin, ctype, tt.body)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			got := r.errorOf(t)
			if got.Code != tt.code || !strings.Contains(got.Message, tt.inMessage) {
				t.Errorf("error %+v, want %s with %q", got, tt.code, tt.inMessage)
			}
			if strings.Contains(got.Message, "UNIQUE") || strings.Contains(got.Message, "constraint") {
				t.Errorf("message shows the database's words: %q", got.Message)
			}
			if e.snapshot() != before {
				t.Error("a refused request changed the store")
			}
		})
	}
}

func TestSettingsSemantics(t *testing.T) {
	e := newEnv(t)
	steps := []struct {
		method, body, want string
	}{
		{"PUT", `{"a": 1, "b": {"x": 1, "y": 2}}`, `{"a":1,"b":{"x":1,"y":2}}`},
		{"PATCH", `{"b": {"y": null, "z": 3}, "c": "s"}`, `{"a":1,"b":{"x":1,"z":3},"c":"s"}`},
		{"PATCH", `{"a": null}`, `{"b":{"x":1,"z":3},"c":"s"}`},
		{"PUT", `{"d": [1, 2]}`, `{"d":[1,2]}`},
		{"PUT", `{}`, `{}`},
	}
	for i, s := range steps {
		r := e.json(s.method, "/api/v1/device-types/qemu/settings", e.admin, s.body)
		if r.status != 200 {
			t.Fatalf("step %d: %d %s", i, r.status, r.body)
		}
		var res struct {
			Settings json.RawMessage `json:"settings"`
		}
		r.decode(t, &res)
		if string(res.Settings) != s.want {
			t.Errorf("step %d: %s %s gave %s, want %s", i, s.method, s.body, res.Settings, s.want)
		}
		g := e.do("GET", "/api/v1/device-types/qemu/settings", "", "", "")
		if !bytes.Contains(g.body, []byte(s.want)) {
			t.Errorf("step %d: GET settings %s", i, g.body)
		}
	}
}

func TestUsersAndTokens(t *testing.T) {
	e := newEnv(t)
	r := e.json("POST", "/api/v1/users", e.admin, `{"username": "erin", "email": "erin@example.invalid", "groups": ["team"]}`)
	var u UserView
	r.decode(t, &u)
	if r.status != 201 || u.Token == "" || u.Username != "erin" {
		t.Fatalf("create user: %d %s", r.status, r.body)
	}
	r = e.do("GET", "/api/v1/users/me", u.Token, "", "")
	var me UserView
	r.decode(t, &me)
	if r.status != 200 || me.Username != "erin" || me.Token != "" || fmt.Sprint(me.Groups) != "[team]" {
		t.Errorf("me: %d %s", r.status, r.body)
	}
	// Bearer works too.
	req, _ := http.NewRequest("GET", "/api/v1/users/me", nil)
	req.Header.Set("Authorization", "Bearer "+u.Token)
	rec := newRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Errorf("Bearer: %d", rec.Code)
	}
	if r := e.do("GET", "/api/v1/users/me", "", "", ""); r.status != 401 {
		t.Errorf("anonymous me: %d", r.status)
	}
	r = e.json("POST", "/api/v1/users/me/tokens", u.Token, `{"description": "ci"}`)
	var tok TokenView
	r.decode(t, &tok)
	if r.status != 201 || tok.Token == "" || tok.Description != "ci" {
		t.Fatalf("new token: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/api/v1/users/me/tokens", u.Token, "", ""); r.status != 201 {
		t.Errorf("new token without body: %d %s", r.status, r.body)
	}
	r = e.do("GET", "/api/v1/users/me/tokens", tok.Token, "", "")
	var p Page[TokenView]
	r.decode(t, &p)
	if r.status != 200 || p.Count != 3 || strings.Contains(string(r.body), tok.Token) || strings.Contains(string(r.body), `"token"`) {
		t.Errorf("tokens: %d %s", r.status, r.body)
	}
	// Someone else cannot delete erin's token.
	if r := e.do("DELETE", fmt.Sprintf("/api/v1/users/me/tokens/%d", tok.ID), e.bob, "", ""); r.status != 404 {
		t.Errorf("bob deletes erin's token: %d %s", r.status, r.body)
	}
	if r := e.do("DELETE", fmt.Sprintf("/api/v1/users/me/tokens/%d", tok.ID), u.Token, "", ""); r.status != 204 {
		t.Errorf("delete token: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/users/me", tok.Token, "", ""); r.status != 401 || !strings.Contains(r.errorOf(t).Message, "invalid API token") {
		t.Errorf("deleted token: %d %s", r.status, r.body)
	}
	for _, h := range []string{"Basic Ym9iOnB3", "Token", "Token a b"} {
		req, _ := http.NewRequest("GET", "/api/v1/jobs", nil)
		req.Header.Set("Authorization", h)
		rec := newRecorder()
		e.h.ServeHTTP(rec, req)
		if rec.Code != 401 {
			t.Errorf("Authorization %q: %d", h, rec.Code)
		}
	}
	// The worker token made by the API is stored hashed and finds the worker.
	r = e.json("POST", "/api/v1/workers", e.admin, `{"hostname": "w9"}`)
	var wv WorkerView
	r.decode(t, &wv)
	w, err := e.st.WorkerByTokenHash(context.Background(), auth.Hash(wv.Token))
	if err != nil || w.Hostname != "w9" || !strings.HasPrefix(wv.Token, auth.WorkerPrefix) {
		t.Errorf("worker token: %v %+v", err, w)
	}
	if r := e.do("GET", "/api/v1/workers/w9", "", "", ""); strings.Contains(string(r.body), "token") {
		t.Errorf("worker show leaks the token: %s", r.body)
	}
}

func TestReads(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		path, contains string
	}{
		{"/api/v1/devices", `"hostname":"qemu-01"`},
		{"/api/v1/devices?device_type=bbb&retired=true", `"hostname":"bbb-01"`},
		{"/api/v1/devices/qemu-01", `"hostname":"qemu-01"`},
		{"/api/v1/device-types", `"name":"qemu"`},
		{"/api/v1/device-types/qemu", `"health_denominator":"hours"`},
		{"/api/v1/workers", `"hostname":"w1"`},
		{"/api/v1/workers/w1", `"state":"Online"`},
		{"/api/v1/tags", `"name":"usb"`},
		{"/api/v1/system/version", `"version":"test-1"`},
		{"/healthz", `"ok"`},
	}
	for _, tt := range tests {
		r := e.do("GET", tt.path, "", "", "")
		if r.status != 200 || !strings.Contains(string(r.body), tt.contains) {
			t.Errorf("%s: %d %s", tt.path, r.status, r.body)
		}
	}
	// The dictionary is shown to admins only.
	if r := e.do("GET", "/api/v1/devices/qemu-01", "", "", ""); strings.Contains(string(r.body), "dictionary") {
		t.Errorf("an anonymous reader sees the dictionary: %s", r.body)
	}
	if r := e.do("GET", "/api/v1/devices/qemu-01", e.admin, "", ""); !strings.Contains(string(r.body), `"dictionary":""`) {
		t.Errorf("an admin does not see the dictionary: %s", r.body)
	}
	if r := e.do("GET", "/api/v1/devices", "", "", ""); strings.Contains(string(r.body), "bbb-01") || strings.Contains(string(r.body), "dictionary") {
		t.Errorf("device list shows retired devices or dictionaries: %s", r.body)
	}
	for _, p := range []string{"/api/v1/devices/nosuch", "/api/v1/device-types/nosuch", "/api/v1/workers/nosuch"} {
		if r := e.do("GET", p, "", "", ""); r.status != 404 || r.errorOf(t).Code != "not_found" {
			t.Errorf("%s: %d %s", p, r.status, r.body)
		}
	}
	if r := e.do("GET", "/api/v1/devices?retired=perhaps", "", "", ""); r.status != 400 {
		t.Errorf("bad retired: %d", r.status)
	}
}

// panicStore is the real store with ListTags made to panic.
type panicStore struct{ store.Store }

func (panicStore) ListTags(context.Context) ([]model.Tag, error) { panic("boom") }

func TestPanicRecovered(t *testing.T) {
	e := newEnv(t)
	var logs bytes.Buffer
	h := New(Options{Store: panicStore{e.st}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	for range 2 {
		req, _ := http.NewRequest("GET", "/api/v1/tags", nil)
		rec := newRecorder()
		h.ServeHTTP(rec, req)
		r := resp{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
		if r.status != 500 || r.errorOf(t).Code != "internal" || strings.Contains(string(r.body), "boom") {
			t.Errorf("panic: %d %s", r.status, r.body)
		}
	}
	if !strings.Contains(logs.String(), "panic") || !strings.Contains(logs.String(), "boom") {
		t.Errorf("no log line for the panic: %s", logs.String())
	}
	// The handler still serves other requests.
	req, _ := http.NewRequest("GET", "/api/v1/devices", nil)
	rec := newRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Errorf("after a panic: %d", rec.Code)
	}
}

// TestErrorShape sends one request for each kind of failure and checks
// every answer has the stable shape.
func TestErrorShape(t *testing.T) {
	e := newEnv(t)
	id := e.submit(e.bob, jobWith("visibility: public\n", "visibility: personal\n"))
	ph := New(Options{Store: panicStore{e.st}})
	reqs := []struct {
		h                         http.Handler
		method, path, token, body string
		status                    int
	}{
		{e.h, "GET", "/nowhere", "", "", 404},
		{e.h, "GET", "/api/v1/nowhere", "", "", 404},
		{e.h, "PUT", "/api/v1/jobs", "", "", 405},
		{e.h, "PUT", "/healthz", "", "", 405},
		{e.h, "GET", "/api/v1/jobs", "lava_wrong", "", 401},
		{e.h, "POST", "/api/v1/jobs", "", qemuJob, 401},
		{e.h, "POST", "/api/v1/tags", e.bob, `{"name": "x"}`, 403},
		{e.h, "GET", fmt.Sprintf("/api/v1/jobs/%d", id), e.carol, "", 404},
		{e.h, "GET", "/api/v1/jobs?state=nope", "", "", 400},
		{e.h, "POST", "/api/v1/jobs", e.bob, "{", 400},
		{e.h, "POST", "/api/v1/tags", e.admin, `{"name": "usb"}`, 409},
		{e.h, "POST", "/api/v1/tags", e.admin, `{"name": "` + strings.Repeat("x", MaxBody) + `"}`, 413},
		{ph, "GET", "/api/v1/tags", "", "", 500},
		{ph, "GET", "/healthz", "", "", 500},
	}
	for _, rq := range reqs {
		req, _ := http.NewRequest(rq.method, rq.path, strings.NewReader(rq.body))
		if rq.token != "" {
			req.Header.Set("Authorization", "Token "+rq.token)
		}
		if strings.HasPrefix(rq.body, "{") && rq.path != "/api/v1/jobs" {
			req.Header.Set("Content-Type", "application/json")
		}
		rec := newRecorder()
		rq.h.ServeHTTP(rec, req)
		r := resp{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
		if r.status != rq.status {
			t.Errorf("%s %s: status %d, want %d: %s", rq.method, rq.path, r.status, rq.status, r.body)
			continue
		}
		r.errorOf(t)
	}
}

// TestComposable mounts the API on a router that serves other things.
func TestComposable(t *testing.T) {
	e := newEnv(t)
	root := chi.NewRouter()
	root.Get("/", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("home")) })
	NewAPI(Options{Store: e.st}).Mount(root)
	for path, want := range map[string]int{"/": 200, "/api/v1/tags": 200, "/healthz": 200, "/api/v1/nope": 404} {
		req, _ := http.NewRequest("GET", path, nil)
		rec := newRecorder()
		root.ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("%s: %d, want %d", path, rec.Code, want)
		}
	}
}

// An admin's health change keeps who and why; the history answers them,
// newest first, to anyone who may see the device.
func TestDeviceHealthHistory(t *testing.T) {
	e := newEnv(t)
	if r := e.json("POST", "/api/v1/devices/qemu-01/health", e.admin, `{"health": "maintenance", "reason": "PSU swap"}`); r.status != 200 {
		t.Fatalf("maintenance: %d %s", r.status, r.body)
	}
	if r := e.json("POST", "/api/v1/devices/qemu-01/health", e.admin, `{"health": "good"}`); r.status != 200 {
		t.Fatalf("good: %d %s", r.status, r.body)
	}
	if r := e.json("POST", "/api/v1/devices/qemu-01/health", e.admin, `{"health": "good", "reason": "`+strings.Repeat("x", 1001)+`"}`); r.status != 400 {
		t.Fatalf("a 1001-byte reason: %d %s", r.status, r.body)
	}
	r := e.json("GET", "/api/v1/devices/qemu-01/health-history", e.bob, "")
	if r.status != 200 {
		t.Fatalf("history: %d %s", r.status, r.body)
	}
	var page Page[HealthChangeView]
	r.decode(t, &page)
	if page.Count != 2 || len(page.Results) != 2 {
		t.Fatalf("history %+v", page)
	}
	newest, first := page.Results[0], page.Results[1]
	if first.To != "Maintenance" || first.Cause != "admin" || first.Actor != "admin" || first.Reason != "PSU swap" || first.At.IsZero() {
		t.Errorf("maintenance entry %+v", first)
	}
	if newest.From != "Maintenance" || newest.To != "Good" || newest.Reason != "" {
		t.Errorf("newest entry %+v", newest)
	}
	if r := e.json("GET", "/api/v1/devices/qemu-01/health-history?limit=1", e.bob, ""); r.status != 200 || strings.Count(string(r.body), `"cause"`) != 1 {
		t.Errorf("limit=1: %d %s", r.status, r.body)
	}
	if r := e.json("GET", "/api/v1/devices/qemu-01/health-history?limit=0", e.bob, ""); r.status != 400 {
		t.Errorf("limit=0: %d", r.status)
	}
	if r := e.json("GET", "/api/v1/devices/nope/health-history", e.bob, ""); r.status != 404 {
		t.Errorf("unknown device: %d", r.status)
	}
}
