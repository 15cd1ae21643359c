package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/storeopen"
	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/plugins/wasm"
	"github.com/lavalab/lavalab/sdk"
)

// buildSoca9 builds the soca9 driver with a version, once per test binary
// run and version (the Go build cache makes rebuilds cheap).
func buildSoca9(t *testing.T, version string) []byte {
	t.Helper()
	goTool := testenv.NeedTool(t, "go")
	out := filepath.Join(t.TempDir(), "soca9-"+version+".wasm")
	cmd := exec.Command(goTool, "build", "-trimpath", "-ldflags", "-X main.version="+version, "-o", out, "./devicetypes/soca9")
	cmd.Dir = testenv.RepoRoot(t)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building soca9 %s: %v\n%s", version, err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const soca9Job = `job_name: soca9 ramdisk
device_type: soca9
visibility: public
priority: medium
timeouts:
  job:
    minutes: 10
actions:
- deploy:
    to: tftp
    kernel:
      url: http://images.example.invalid/zImage
      type: zimage
    ramdisk:
      url: http://images.example.invalid/rootfs.cpio.gz
      compression: gz
    dtb:
      url: http://images.example.invalid/socfpga.dtb
- boot:
    method: u-boot
    commands: ramdisk
    prompts: ['/ # ']
`

// client talks to a server as one user.
type client struct {
	t     *testing.T
	base  string
	token string
}

func (c client) do(method, path, ctype string, body []byte) (int, []byte) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Token "+c.token)
	}
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return r.StatusCode, b
}

// want sends a request, checks the status and decodes the answer into v.
func (c client) want(status int, method, path, ctype string, body []byte, v any) []byte {
	c.t.Helper()
	code, b := c.do(method, path, ctype, body)
	if code != status {
		c.t.Fatalf("%s %s: %d %s, want %d", method, path, code, b, status)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			c.t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return b
}

type jobAnswer struct {
	ID           int64          `json:"id"`
	State        string         `json:"state"`
	ActualDevice string         `json:"actual_device"`
	DriverSHA256 string         `json:"driver_sha256"`
	Settings     map[string]any `json:"settings"`
}

// scheduled submits soca9Job and waits until the scheduler gave it a device.
func (c client) scheduled(device string) jobAnswer {
	c.t.Helper()
	var sub struct{ ID int64 }
	c.want(201, "POST", "/api/v1/jobs", "application/yaml", []byte(soca9Job), &sub)
	var j jobAnswer
	for range 200 {
		c.want(200, "GET", fmt.Sprintf("/api/v1/jobs/%d", sub.ID), "", nil, &j)
		if j.State == "Scheduled" {
			if device != "" && j.ActualDevice != device {
				c.t.Fatalf("job %d scheduled on %s, want %s", j.ID, j.ActualDevice, device)
			}
			return j
		}
		time.Sleep(25 * time.Millisecond)
	}
	c.t.Fatalf("job %d not scheduled: %+v", sub.ID, j)
	return j
}

// planBootCommand does what a worker does with a scheduled job: fetch the
// module by the job's SHA-256, plan the boot action with the job's recorded
// settings, and return the U-Boot boot command.
func planBootCommand(t *testing.T, c client, h *wasm.Host, j jobAnswer) string {
	t.Helper()
	mod := c.want(200, "GET", "/api/v1/drivers/"+j.DriverSHA256+"/module", "", nil, nil)
	if wasm.SHA256Hex(mod) != j.DriverSHA256 {
		t.Fatalf("module bytes do not hash to %s", j.DriverSHA256)
	}
	m, err := h.Load(context.Background(), "soca9-test", mod)
	if err != nil {
		t.Fatal(err)
	}
	req := sdk.PlanRequest{
		JobID:    fmt.Sprint(j.ID),
		Action:   sdk.Action{Kind: sdk.ActionBoot, Method: "u-boot", Level: "2", Params: sdk.Values{"commands": "ramdisk", "prompts": []any{"/ # "}}},
		Settings: j.Settings,
		Device:   sdk.DeviceFacts{Hostname: j.ActualDevice, DeviceType: "soca9"},
		Worker: sdk.WorkerFacts{ServerIP: "192.0.2.1", Artifacts: map[string]sdk.Artifact{
			"kernel":  {TFTPPath: "1/kernel/zImage", Type: "zimage"},
			"ramdisk": {TFTPPath: "1/ramdisk/rootfs.cpio.gz.uboot", UBootHeader: true},
			"dtb":     {TFTPPath: "1/dtb/socfpga.dtb"},
		}},
	}
	plan, _, err := m.Plan(context.Background(), req)
	if err != nil {
		t.Fatalf("plan with driver %s: %v", j.DriverSHA256[:12], err)
	}
	for _, s := range plan.Steps {
		if s.Kind == sdk.StepCommands {
			cmds := s.Commands.Commands
			return cmds[len(cmds)-1]
		}
	}
	t.Fatal("plan has no U-Boot commands")
	return ""
}

// TestDriverHotLoad is the hot-load story through a real server: upload
// soca9 v1, change its dtb address through the settings API and see the
// next job's plan use it, with no restart; upload v2 and see jobs scheduled
// after it record the new SHA-256 while a job scheduled before keeps the
// old one; a bad module is refused with the reason and the active version
// stays; rollback and activate by SHA-256; the CLI sees the same drivers.
func TestDriverHotLoad(t *testing.T) {
	v1, v2 := buildSoca9(t, "1.0.0"), buildSoca9(t, "1.1.0")
	sha1, sha2 := wasm.SHA256Hex(v1), wasm.SHA256Hex(v2)
	cache := filepath.Join(os.TempDir(), "lavalab-test-wasm-cache")

	dir := t.TempDir()
	_, tok, _ := cli(t, dir, "user", "add", "admin", "--admin")
	_, bobTok, _ := cli(t, dir, "user", "add", "bob")
	for _, args := range [][]string{{"worker", "add", "w1"}, {"device-type", "add", "soca9"},
		{"device", "add", "soca9-01", "--type", "soca9", "--worker", "w1", "--health", "good"},
		{"device", "add", "soca9-02", "--type", "soca9", "--worker", "w1", "--health", "good"}} {
		if code, _, e := cli(t, dir, args...); code != 0 {
			t.Fatalf("%v: %s", args, e)
		}
	}
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
	// The dictionary sets the console; the dtb address comes from the type.
	for i, host := range []string{"soca9-01", "soca9-02"} {
		if _, err := st.UpdateDevice(context.Background(), host, func(d *model.Device) error {
			d.Dictionary = fmt.Sprintf("{%% extends 'soca9.jinja2' %%}\n{%% set connection_command = 'telnet localhost 700%d' %%}\n", i+1)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	addr := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--listen", addr, "--data-dir", dir, "--driver-cache", cache}, &bytes.Buffer{}, &syncWriter{w: &logs})
	}()
	admin := client{t: t, base: "http://" + addr, token: strings.TrimSpace(tok)}
	bob := admin
	bob.token = strings.TrimSpace(bobTok)
	waitUp(t, admin.base, &logs)
	host, err := wasm.NewHost(context.Background(), wasm.Options{CacheDir: cache, Prewarm: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer host.Close(context.Background())

	// Upload v1 (only admins may).
	if code, _ := bob.do("POST", "/api/v1/drivers", "application/wasm", v1); code != 403 {
		t.Errorf("upload by a non-admin: %d, want 403", code)
	}
	var in struct {
		Name, Version, SHA256 string
		Active                bool
	}
	start := time.Now()
	admin.want(201, "POST", "/api/v1/drivers?name=soca9", "application/wasm", v1, &in)
	t.Logf("upload of soca9 v1 (%d bytes) answered in %v", len(v1), time.Since(start))
	if in.SHA256 != sha1 || !in.Active || in.Version != "1.0.0" {
		t.Fatalf("upload v1: %+v", in)
	}

	// The settings API knows the driver's declared settings.
	var set struct {
		Driver    struct{ SHA256 string }
		Effective []struct {
			Key    string
			Value  any
			Source string
		}
	}
	admin.want(200, "GET", "/api/v1/device-types/soca9/settings", "", nil, &set)
	effective := func(key string) (any, string) {
		for _, e := range set.Effective {
			if e.Key == key {
				return e.Value, e.Source
			}
		}
		return nil, ""
	}
	if v, src := effective("bootz_dtb_addr"); v != "0x00001000" || src != "default" || set.Driver.SHA256 != sha1 {
		t.Fatalf("effective bootz_dtb_addr = %v (%s), driver %s", v, src, set.Driver.SHA256)
	}
	j1 := admin.scheduled("")
	if j1.DriverSHA256 != sha1 {
		t.Fatalf("job 1 driver %s, want v1 %s", j1.DriverSHA256, sha1)
	}
	if got := planBootCommand(t, admin, host, j1); got != "bootz 0x01000000 - 0x00001000" {
		t.Fatalf("job 1 boot command %q", got)
	}

	// Wrong settings are refused naming the key; the dtb address changes.
	for _, bad := range []struct{ body, key string }{
		{`{"bootz_dtb_adr": "0x00002000"}`, "bootz_dtb_adr"},
		{`{"bootz_dtb_addr": 4096}`, "bootz_dtb_addr"},
		{`{"baud_rate": "fast"}`, "baud_rate"},
	} {
		var e struct {
			Error struct {
				Code, Message string
				Details       map[string]string
			}
		}
		admin.want(400, "PUT", "/api/v1/device-types/soca9/settings", "application/json", []byte(bad.body), &e)
		if e.Error.Details["key"] != bad.key || !strings.Contains(e.Error.Message, bad.key) {
			t.Errorf("PUT %s: %+v, want the key %s named", bad.body, e.Error, bad.key)
		}
	}
	admin.want(200, "PUT", "/api/v1/device-types/soca9/settings", "application/json", []byte(`{"bootz_dtb_addr": "0x00002000"}`), &set)
	if v, src := effective("bootz_dtb_addr"); v != "0x00002000" || src != "override" {
		t.Fatalf("after PUT: bootz_dtb_addr = %v (%s)", v, src)
	}
	// The next job gets it, with no restart; job 1 keeps what it had.
	j2 := admin.scheduled("")
	if j2.DriverSHA256 != sha1 || j2.Settings["bootz_dtb_addr"] != "0x00002000" {
		t.Fatalf("job 2: %+v", j2)
	}
	if got := planBootCommand(t, admin, host, j2); got != "bootz 0x01000000 - 0x00002000" {
		t.Fatalf("job 2 boot command %q", got)
	}
	if got := planBootCommand(t, admin, host, j1); got != "bootz 0x01000000 - 0x00001000" {
		t.Fatalf("job 1 boot command changed: %q", got)
	}
	dev1 := j1.ActualDevice
	if want := "telnet localhost 700" + strings.TrimPrefix(j1.ActualDevice, "soca9-0"); j1.Settings["connection_command"] != want {
		t.Errorf("job 1 settings lack the dictionary's connection_command: %v", j1.Settings)
	}

	// Upload v2: jobs scheduled from now on record it; job 1 keeps v1.
	admin.want(201, "POST", "/api/v1/drivers", "application/octet-stream", v2, &in)
	if in.SHA256 != sha2 || in.Version != "1.1.0" || !in.Active {
		t.Fatalf("upload v2: %+v", in)
	}
	admin.want(200, "POST", fmt.Sprintf("/api/v1/jobs/%d/cancel", j1.ID), "", nil, nil) // frees its device
	j3 := admin.scheduled(dev1)
	if j3.DriverSHA256 != sha2 {
		t.Fatalf("job 3 driver %s, want v2 %s", j3.DriverSHA256, sha2)
	}
	var again jobAnswer
	admin.want(200, "GET", fmt.Sprintf("/api/v1/jobs/%d", j1.ID), "", nil, &again)
	if again.DriverSHA256 != sha1 {
		t.Fatalf("job 1 driver became %s", again.DriverSHA256)
	}
	if got := planBootCommand(t, admin, host, j3); got != "bootz 0x01000000 - 0x00002000" {
		t.Fatalf("job 3 boot command %q", got)
	}

	// A bad module is refused with the reason; v2 stays active.
	var e struct {
		Error struct{ Code, Message string }
	}
	admin.want(422, "POST", "/api/v1/drivers", "application/wasm", []byte("\x00asm\x01\x00\x00\x00garbage"), &e)
	if e.Error.Code != "driver_refused" || !strings.Contains(e.Error.Message, "refused") || !strings.Contains(e.Error.Message, "invalid module") {
		t.Errorf("bad module: %+v", e.Error)
	}
	admin.want(422, "POST", "/api/v1/drivers?name=juno-r2", "application/wasm", v1, &e)
	if !strings.Contains(e.Error.Message, `describes itself as "soca9"`) {
		t.Errorf("wrong name: %+v", e.Error)
	}
	var detail struct {
		Active   struct{ SHA256 string }
		Versions []struct{ SHA256 string }
	}
	admin.want(200, "GET", "/api/v1/drivers/soca9", "", nil, &detail)
	if detail.Active.SHA256 != sha2 || len(detail.Versions) != 2 {
		t.Fatalf("after the refusals: %+v", detail)
	}
	var list struct {
		Count   int
		Results []struct {
			SHA256 string
			Active bool
		}
	}
	bob.want(200, "GET", "/api/v1/drivers", "", nil, &list)
	if list.Count != 2 {
		t.Errorf("list: %+v", list)
	}

	// Rollback, then activate v2 again by SHA-256.
	admin.want(200, "POST", "/api/v1/drivers/soca9/rollback", "", nil, &in)
	if in.SHA256 != sha1 || !in.Active {
		t.Fatalf("rollback: %+v", in)
	}
	admin.want(200, "POST", "/api/v1/drivers/soca9/activate", "application/json", []byte(`{"sha256": "`+sha2+`"}`), &in)
	if in.SHA256 != sha2 {
		t.Fatalf("activate: %+v", in)
	}
	admin.want(404, "POST", "/api/v1/drivers/soca9/activate", "application/json", []byte(`{"sha256": "`+strings.Repeat("0", 64)+`"}`), nil)
	admin.want(404, "GET", "/api/v1/drivers/"+strings.Repeat("0", 64)+"/module", "", nil, nil)
	if code, _ := bob.do("GET", "/api/v1/drivers/"+sha1+"/module", "", nil); code != 403 {
		t.Errorf("module for a non-admin: %d, want 403", code)
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

	// The CLI works on the same store: list, settings, rollback.
	code, out, errOut := cli(t, dir, "driver", "list", "--driver-cache", cache)
	if code != 0 || !strings.Contains(out, "soca9") || !strings.Contains(out, sha2[:12]) || strings.Count(out, "\n") != 3 {
		t.Errorf("driver list: %d %q %q", code, out, errOut)
	}
	code, out, errOut = cli(t, dir, "device-type", "settings", "soca9", "--set", "bootz_dtb_addr=0x00000100", "--set", "baud_rate=9600", "--driver-cache", cache)
	if code != 0 || !strings.Contains(out, "bootz_dtb_addr: 0x00000100  # override") ||
		!strings.Contains(out, "baud_rate: 9600  # override") || !strings.Contains(out, "bootz_kernel_addr: 0x01000000  # default") {
		t.Errorf("settings --set: %d %q %q", code, out, errOut)
	}
	code, _, errOut = cli(t, dir, "device-type", "settings", "soca9", "--set", "baud_rate=fast", "--driver-cache", cache)
	if code != 1 || !strings.Contains(errOut, `setting "baud_rate": want an int, got the string "fast"`) {
		t.Errorf("settings --set baud_rate=fast: %d %q", code, errOut)
	}
	code, _, errOut = cli(t, dir, "device-type", "settings", "soca9", "--set", "nosuch=1", "--driver-cache", cache)
	if code != 1 || !strings.Contains(errOut, `setting "nosuch": unknown`) {
		t.Errorf("settings --set nosuch: %d %q", code, errOut)
	}
	code, out, _ = cli(t, dir, "device-type", "settings", "soca9", "--unset", "baud_rate", "--driver-cache", cache)
	if code != 0 || !strings.Contains(out, "baud_rate: 115200  # default") {
		t.Errorf("settings --unset: %d %q", code, out)
	}
	code, _, errOut = cli(t, dir, "driver", "rollback", "soca9", "--driver-cache", cache)
	if code != 0 || !strings.Contains(errOut, "version 1.0.0") {
		t.Errorf("driver rollback: %d %q", code, errOut)
	}
	code, _, errOut = cli(t, dir, "driver", "activate", "soca9", sha2[:10], "--driver-cache", cache)
	if code != 0 || !strings.Contains(errOut, "version 1.1.0") {
		t.Errorf("driver activate by prefix: %d %q", code, errOut)
	}
	code, _, errOut = cli(t, dir, "driver", "install", filepath.Join(dir, "lava.db"), "--driver-cache", cache)
	if code != 1 || !strings.Contains(errOut, "refused") {
		t.Errorf("driver install of a non-module: %d %q", code, errOut)
	}
	// driver rm: never the active version; an old one goes from the store.
	code, _, errOut = cli(t, dir, "driver", "rm", "soca9", sha2[:10], "--driver-cache", cache)
	if code != 1 || !strings.Contains(errOut, "the active version") {
		t.Errorf("driver rm of the active version: %d %q", code, errOut)
	}
	code, _, errOut = cli(t, dir, "driver", "rm", "soca9", sha1[:10], "--keep", "1", "--driver-cache", cache)
	if code != 2 {
		t.Errorf("driver rm with both a SHA-256 and --keep: %d %q", code, errOut)
	}
	// Job 2 ran with v1 and is not finished (no worker): v1 is pinned.
	code, _, errOut = cli(t, dir, "driver", "rm", "soca9", "--keep", "1", "--driver-cache", cache)
	if code != 1 || !strings.Contains(errOut, "unfinished jobs are pinned to it (job 2)") {
		t.Errorf("driver rm of a pinned version: %d %q", code, errOut)
	}
	st, err = openAdminStore(context.Background(), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.FinishJob(context.Background(), 2, store.JobResult{Health: model.JobCanceled}); err != nil {
		t.Fatal(err)
	}
	st.Close()
	code, _, errOut = cli(t, dir, "driver", "rm", "soca9", "--keep", "1", "--driver-cache", cache)
	if code != 0 || !strings.Contains(errOut, "version 1.0.0 (sha256 "+sha1+") removed") {
		t.Errorf("driver rm --keep 1: %d %q", code, errOut)
	}
	code, out, errOut = cli(t, dir, "driver", "list", "--driver-cache", cache)
	if code != 0 || strings.Contains(out, sha1[:12]) || !strings.Contains(out, sha2[:12]) {
		t.Errorf("driver list after rm: %d %q %q", code, out, errOut)
	}
	code, _, errOut = cli(t, dir, "driver", "rm", "soca9", sha1[:10], "--driver-cache", cache)
	if code != 1 || !strings.Contains(errOut, "no version with sha256") {
		t.Errorf("driver rm of a removed version: %d %q", code, errOut)
	}
}

// TestDriversDir: the drivers directory is seeded once from the drivers
// shipped with the binary, the server loads it at start, and a module
// dropped in later is live without a restart.
func TestDriversDir(t *testing.T) {
	v1, v2 := buildSoca9(t, "1.0.0"), buildSoca9(t, "1.2.0")
	cache := filepath.Join(os.TempDir(), "lavalab-test-wasm-cache")
	dir := t.TempDir()
	shipped := filepath.Join(dir, "bin-drivers")
	drvDir := filepath.Join(dir, "drivers")
	if err := os.MkdirAll(shipped, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shipped, "soca9.wasm"), v1, 0o644); err != nil {
		t.Fatal(err)
	}
	var seedLog bytes.Buffer
	log := slog.New(slog.NewTextHandler(&seedLog, nil))
	if err := seedDriversDir(drvDir, shipped, log); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(drvDir, "soca9.wasm")); err != nil || !bytes.Equal(b, v1) {
		t.Fatalf("seeded file: %d bytes, %v", len(b), err)
	}
	if !strings.Contains(seedLog.String(), "seeded") || !strings.Contains(seedLog.String(), "drivers=1") {
		t.Errorf("seeding log: %s", seedLog.String())
	}
	// Only on first start: an existing directory is left as the admin made it.
	if err := os.Remove(filepath.Join(drvDir, "soca9.wasm")); err != nil {
		t.Fatal(err)
	}
	if err := seedDriversDir(drvDir, shipped, log); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(drvDir, "soca9.wasm")); err == nil {
		t.Fatal("seeded again into an existing directory")
	}
	if err := os.WriteFile(filepath.Join(drvDir, "soca9.wasm"), v1, 0o644); err != nil {
		t.Fatal(err)
	}

	_, tok, _ := cli(t, dir, "user", "add", "admin", "--admin")
	addr := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--listen", addr, "--data-dir", dir, "--drivers-dir", drvDir, "--driver-cache", cache},
			&bytes.Buffer{}, &syncWriter{w: &logs})
	}()
	admin := client{t: t, base: "http://" + addr, token: strings.TrimSpace(tok)}
	waitUp(t, admin.base, &logs)
	active := func() (string, string) {
		code, b := admin.do("GET", "/api/v1/drivers/soca9", "", nil)
		if code != 200 {
			return "", ""
		}
		var d struct {
			Active struct{ SHA256, Source string }
		}
		_ = json.Unmarshal(b, &d)
		return d.Active.SHA256, d.Active.Source
	}
	waitFor := func(sha string) {
		t.Helper()
		for i := 0; i < 400; i++ {
			if got, src := active(); got == sha {
				if src != "dir" {
					t.Errorf("source %q, want dir", src)
				}
				return
			}
			time.Sleep(25 * time.Millisecond)
		}
		got, _ := active()
		t.Fatalf("active soca9 %q, want %s; log:\n%s", got, sha, logs.String())
	}
	waitFor(wasm.SHA256Hex(v1))
	tmp := filepath.Join(dir, "soca9.wasm.tmp")
	if err := os.WriteFile(tmp, v2, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(drvDir, "soca9.wasm")); err != nil {
		t.Fatal(err)
	}
	waitFor(wasm.SHA256Hex(v2))
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

// waitUp waits until the server at base answers /healthz.
func waitUp(t *testing.T, base string, logs *bytes.Buffer) {
	t.Helper()
	for range 400 {
		if r, err := http.Get(base + "/healthz"); err == nil {
			r.Body.Close()
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("server did not come up: %s", logs.String())
}
