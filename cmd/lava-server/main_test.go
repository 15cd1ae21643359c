package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/auth"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/storeopen"
)

// cli runs lava-server in-process against dir.
func cli(t *testing.T, dir string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = run(context.Background(), append(args, "--data-dir", dir), &o, &e)
	return code, o.String(), e.String()
}

func openDir(t *testing.T, dir string) store.Store {
	t.Helper()
	st, err := storeopen.Open(context.Background(), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestAdminCommands(t *testing.T) {
	dir := t.TempDir()
	hc := filepath.Join(dir, "hc.yaml")
	dict := filepath.Join(dir, "dict.jinja2")
	if err := os.WriteFile(hc, []byte("job_name: health check\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dict, []byte("{% extends 'qemu.jinja2' %}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args     []string
		code     int
		stdout   string // "TOKEN:prefix" checks a lone token line
		inStderr string
	}{
		{[]string{"user", "add", "alice", "--admin"}, 0, "TOKEN:lava_", ""},
		{[]string{"user", "add", "--email", "bob@example.invalid", "bob"}, 0, "TOKEN:lava_", ""},
		{[]string{"user", "add", "bob"}, 1, "", `user "bob" already exists`},
		{[]string{"user", "token", "bob"}, 0, "TOKEN:lava_", ""},
		{[]string{"user", "token", "nobody"}, 1, "", "lava-server user add nobody"},
		{[]string{"user", "add"}, 2, "", "want 1 argument"},
		{[]string{"user", "add", "a", "b"}, 2, "", "want 1 argument"},
		{[]string{"user", "add", "x", "--bogus"}, 2, "", "bogus"},
		{[]string{"user"}, 2, "", "missing subcommand"},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{[]string{"worker", "add", "w1", "--job-limit", "2"}, 0, "TOKEN:lavaw_", ""},
		{[]string{"worker", "add", "w1"}, 1, "", `worker "w1" already exists`},
		{[]string{"worker", "token", "w1"}, 0, "TOKEN:lavaw_", ""},
		{[]string{"device-type", "add", "qemu", "--health-check", hc, "--health-frequency", "12", "--health-denominator", "jobs"}, 0, "", `device type "qemu" created`},
		{[]string{"device-type", "add", "bbb", "--health-denominator", "weeks"}, 2, "", "weeks"},
		{[]string{"device-type", "add", "bbb", "--health-check", filepath.Join(dir, "missing")}, 1, "", "reading the health check"},
		{[]string{"device", "add", "q1", "--type", "x", "--worker", "w1"}, 1, "", `device type "x" does not exist; create it with: lava-server device-type add x`},
		{[]string{"device", "add", "q1", "--type", "qemu", "--worker", "nope"}, 1, "", `worker "nope" does not exist; create it with: lava-server worker add nope`},
		{[]string{"device", "add", "q1", "--worker", "w1"}, 2, "", "--type is required"},
		{[]string{"device", "add", "q1", "--type", "qemu", "--worker", "w1", "--dict", dict, "--tag", "usb", "--tag", "big"}, 0, "", `device "q1" created`},
		{[]string{"device", "add", "q1", "--type", "qemu", "--worker", "w1"}, 1, "", `device "q1" already exists`},
		{[]string{"device", "set-health", "q1", "MAINTENANCE"}, 0, "", "health Maintenance"},
		{[]string{"device", "set-health", "q1", "sick"}, 2, "", "sick"},
		{[]string{"device", "set-health", "nope", "good"}, 1, "", `device "nope" does not exist`},
		{[]string{"device", "maintenance", "q1"}, 2, "", "--reason is required"},
		{[]string{"device", "set-health", "q1", "good", "--by", "carol"}, 0, "", "health Good"},
		{[]string{"device", "maintenance", "q1", "--reason", "PSU swap", "--by", "alice"}, 0, "", "health Maintenance"},
		{[]string{"device", "health-history", "nope"}, 1, "", `device "nope" does not exist`},
		{[]string{"tag", "add", "hdmi"}, 0, "", `tag "hdmi" created`},
		{[]string{"tag", "add", "hdmi"}, 1, "", "already exists"},
		{[]string{"group", "add", "team"}, 0, "", `group "team" created`},
		{[]string{"group", "add-member", "team", "bob"}, 0, "", `user "bob" added to group "team"`},
		{[]string{"group", "add-member", "nope", "bob"}, 1, "", "lava-server group add nope"},
		{[]string{"group", "add-member", "team", "nobody"}, 1, "", "lava-server user add nobody"},
		{[]string{"worker", "maintenance", "w1"}, 0, "", `worker "w1": health Maintenance: its devices get no new job; 0 job(s) already given to it finish`},
		{[]string{"worker", "active", "w1"}, 0, "", `worker "w1": health Active`},
		{[]string{"worker", "maintenance", "w1"}, 0, "", "health Maintenance"},
		{[]string{"worker", "maintenance", "nope"}, 1, "", `worker "nope" does not exist`},
		{[]string{"version"}, 0, "dev\n", ""},
	}
	tokens := map[string]string{}
	for _, tt := range tests {
		name := strings.Join(tt.args, " ")
		code, out, errOut := cli(t, dir, tt.args...)
		if code != tt.code {
			t.Errorf("%s: exit %d, want %d (stderr %q)", name, code, tt.code, errOut)
			continue
		}
		if p, ok := strings.CutPrefix(tt.stdout, "TOKEN:"); ok {
			tok := strings.TrimSuffix(out, "\n")
			if !strings.HasPrefix(tok, p) || strings.ContainsAny(tok, " \n\t") || !strings.HasSuffix(out, "\n") {
				t.Errorf("%s: stdout %q is not a lone token", name, out)
			}
			tokens[name] = tok
		} else if out != tt.stdout {
			t.Errorf("%s: stdout %q, want %q", name, out, tt.stdout)
		}
		if !strings.Contains(errOut, tt.inStderr) {
			t.Errorf("%s: stderr %q lacks %q", name, errOut, tt.inStderr)
		}
	}

	code, out, errOut := cli(t, dir, "device", "health-history", "q1")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 4 || !strings.Contains(lines[3], "Unknown     Maintenance admin") || !strings.Contains(lines[1], `Good        Maintenance admin        by alice "PSU swap"`) ||
		!strings.Contains(lines[2], "Maintenance Good        admin        by carol") {
		t.Errorf("device health-history: %d %q %q", code, out, errOut)
	}
	st := openDir(t, dir)
	ctx := context.Background()
	u, err := st.UserByTokenHash(ctx, auth.Hash(tokens["user add alice --admin"]))
	if err != nil || u.Username != "alice" || !u.IsAdmin {
		t.Errorf("alice's token: %+v %v", u, err)
	}
	u, err = st.UserByTokenHash(ctx, auth.Hash(tokens["user token bob"]))
	if err != nil || u.Username != "bob" || u.IsAdmin || u.Email != "bob@example.invalid" || fmt.Sprint(u.Groups) != "[team]" {
		t.Errorf("bob's second token: %+v %v", u, err)
	}
	if _, err := st.WorkerByTokenHash(ctx, auth.Hash(tokens["worker add w1 --job-limit 2"])); err == nil {
		t.Error("the replaced worker token still works")
	}
	w, err := st.WorkerByTokenHash(ctx, auth.Hash(tokens["worker token w1"]))
	if err != nil || w.Hostname != "w1" || w.JobLimit != 2 || w.Health != model.WorkerMaintenance {
		t.Errorf("worker: %+v %v", w, err)
	}
	dt, err := st.DeviceType(ctx, "qemu")
	if err != nil || dt.HealthCheck != "job_name: health check\n" || dt.HealthFrequency != 12 || dt.HealthDenominator != "jobs" {
		t.Errorf("device type: %+v %v", dt, err)
	}
	if _, err := st.DeviceType(ctx, "bbb"); err == nil {
		t.Error("a refused device-type add stored bbb")
	}
	d, err := st.Device(ctx, "q1")
	if err != nil || d.DeviceType != "qemu" || d.Worker != "w1" || d.Health != model.DeviceMaintenance ||
		fmt.Sprint(d.Tags) != "[big usb]" || !strings.Contains(d.Dictionary, "qemu.jinja2") {
		t.Errorf("device: %+v %v", d, err)
	}
	tags, _ := st.ListTags(ctx)
	if len(tags) != 3 {
		t.Errorf("tags %+v", tags)
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// TestServe runs the server in-process: a job submitted over HTTP is
// scheduled by the in-process scheduler; cancelling the context stops it.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	_, tok, _ := cli(t, dir, "user", "add", "bob")
	tok = strings.TrimSpace(tok)
	for _, args := range [][]string{{"worker", "add", "w1"}, {"device-type", "add", "qemu"}, {"device", "add", "q1", "--type", "qemu", "--worker", "w1"}} {
		if code, _, e := cli(t, dir, args...); code != 0 {
			t.Fatalf("%v: %s", args, e)
		}
	}
	// The worker protocol puts a worker online; here the store does.
	st, err := storeopen.Open(context.Background(), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateWorker(context.Background(), "w1", func(w *model.Worker) error {
		w.State = model.WorkerOnline
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	addr := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--listen", addr, "--data-dir", dir, "--log-format", "json"}, &bytes.Buffer{}, &syncWriter{w: &logs})
	}()
	base := "http://" + addr
	var up bool
	for range 100 {
		if r, err := http.Get(base + "/healthz"); err == nil {
			r.Body.Close()
			up = r.StatusCode == 200
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !up {
		t.Fatal("server did not come up")
	}
	job, err := os.ReadFile("../../bench/submit/qemu-job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", base+"/api/v1/jobs", bytes.NewReader(job))
	req.Header.Set("Authorization", "Token "+tok)
	req.Header.Set("Content-Type", "application/yaml")
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var res struct{ ID int64 }
	_ = json.NewDecoder(r.Body).Decode(&res)
	r.Body.Close()
	if r.StatusCode != 201 || res.ID == 0 {
		t.Fatalf("submit: %d", r.StatusCode)
	}
	state := ""
	for range 100 {
		r, err := http.Get(fmt.Sprintf("%s/api/v1/jobs/%d", base, res.ID))
		if err != nil {
			t.Fatal(err)
		}
		var j struct{ State, ActualDevice string }
		_ = json.NewDecoder(r.Body).Decode(&j)
		r.Body.Close()
		state = j.State
		if state == "Scheduled" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if state != "Scheduled" {
		t.Errorf("the in-process scheduler did not schedule the job: state %q", state)
	}
	if r, err := http.Get(base + "/nowhere"); err != nil || r.StatusCode != 404 || r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("root 404: %v %v", r, err)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exit %d: %s", code, logs.String())
		}
	case <-time.After(40 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func TestServeBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "--log-format", "xml"},
		{"serve", "--tls-cert", "c.pem"},
		{"serve", "extra"},
		{"--nope"},
	} {
		code := run(context.Background(), append(args, "--data-dir", t.TempDir()), &bytes.Buffer{}, &bytes.Buffer{})
		if code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
	code := run(context.Background(), []string{"serve", "--data-dir", t.TempDir(), "--db", "mysql://x"}, &bytes.Buffer{}, &bytes.Buffer{})
	if code != 1 {
		t.Errorf("bad --db: exit %d, want 1", code)
	}
}
