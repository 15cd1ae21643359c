// Package e2e runs Debian's lavacli (1.2) against a real lava-server
// process: every command group lavacli users rely on, checking exit codes
// and output. It needs lavacli on PATH (core/testenv: skipped outside CI,
// a failure under CI=true).
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/storeopen"
	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/core/testlab"
)

// bins are lava-server, lava-worker and the local driver, built once.
var bins testlab.Bins

func TestMain(m *testing.M) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	b, err := testlab.Build(ctx)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bins = b
	code := m.Run()
	os.RemoveAll(bins.Dir)
	os.Exit(code)
}

// lab is a running lava-server with users and a lavacli configuration.
type lab struct {
	t       *testing.T
	data    string
	db      string
	home    string
	url     string
	st      store.Store
	lavacli string
	// adminTok and bobTok are the users' API tokens.
	adminTok, bobTok string
}

func admin(t *testing.T, data, db string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, bins.Server, append(args, "--data-dir", data, "--db", db)...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("lava-server %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return strings.TrimSpace(out.String())
}

func startLab(t *testing.T) *lab {
	lavacli := testenv.NeedTool(t, "lavacli")
	l := &lab{t: t, data: t.TempDir(), home: t.TempDir(), lavacli: lavacli}
	// With PostgreSQL the test shares the server's store (to feed a
	// running job's log); SQLite is locked by the server process.
	if dsn := os.Getenv(testenv.PostgresDSNEnv); dsn != "" {
		l.db = testenv.PostgresSchema(t, dsn, "lavacli_e2e_")
	}
	adminTok := admin(t, l.data, l.db, "user", "add", "admin", "--admin")
	bobTok := admin(t, l.data, l.db, "user", "add", "bob")
	l.adminTok, l.bobTok = adminTok, bobTok
	admin(t, l.data, l.db, "worker", "add", "w1")
	admin(t, l.data, l.db, "device-type", "add", "qemu")
	admin(t, l.data, l.db, "device", "add", "qemu-01", "--type", "qemu", "--worker", "w1", "--tag", "usb")
	admin(t, l.data, l.db, "tag", "add", "hdmi", "--description", "has HDMI")

	ctx, cancel := context.WithCancel(context.Background())
	// No drivers: this lab runs no job (an empty --drivers-dir keeps the
	// server from compiling the ones built beside it).
	cmd := exec.CommandContext(ctx, bins.Server, "serve", "--listen", "127.0.0.1:0", "--no-scheduler", "--data-dir", l.data, "--db", l.db,
		"--drivers-dir", t.TempDir())
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 10 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	urlc := make(chan string, 1)
	var logMu sync.Mutex
	var serverLog strings.Builder
	go func() {
		re := regexp.MustCompile(`url=(http://\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logMu.Lock()
			serverLog.WriteString(sc.Text() + "\n")
			logMu.Unlock()
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case urlc <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case l.url = <-urlc:
	case <-time.After(2 * time.Minute): // a bound for a broken server on a loaded machine
		logMu.Lock()
		defer logMu.Unlock()
		t.Fatalf("lava-server did not start listening within 2 minutes:\n%s", serverLog.String())
	}
	host := strings.TrimPrefix(l.url, "http://")
	cfg := fmt.Sprintf("default:\n  uri: http://%s/RPC2\n  username: admin\n  token: %s\n"+
		"bob:\n  uri: http://%s/RPC2\n  username: bob\n  token: %s\n"+
		"anon:\n  uri: http://%s/RPC2\n"+
		"wrong:\n  uri: http://%s/RPC2\n  username: bob\n  token: %s\n",
		host, adminTok, host, bobTok, host, host, adminTok)
	l.writeConfig(cfg)
	if l.db != "" {
		st, err := storeopen.Open(context.Background(), l.data, l.db)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		l.st = st
	}
	return l
}

// writeConfig writes lavacli's configuration (its identities).
func (l *lab) writeConfig(cfg string) {
	l.t.Helper()
	if err := os.MkdirAll(filepath.Join(l.home, ".config"), 0o700); err != nil {
		l.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(l.home, ".config", "lavacli.yaml"), []byte(cfg), 0o600); err != nil {
		l.t.Fatal(err)
	}
}

// start starts lavacli in the background for test t; its output
// (stdout+stderr) goes to the returned buffer, read it after cmd.Wait.
func (l *lab) start(t *testing.T, ctx context.Context, args ...string) (*exec.Cmd, *testenv.SyncBuffer) {
	t.Helper()
	cmd := l.command(ctx, args...)
	out := &testenv.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, out
}

func (l *lab) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, l.lavacli, args...)
	env := []string{"HOME=" + l.home, "PATH=" + os.Getenv("PATH"), "LANG=C.UTF-8"}
	cmd.Env = env
	return cmd
}

// run runs lavacli and returns its exit code and output (stdout+stderr).
func (l *lab) run(args ...string) (int, string) {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := l.command(ctx, args...)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		l.t.Fatalf("lavacli %s: timed out\n%s", strings.Join(args, " "), out)
	}
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			l.t.Fatalf("lavacli %s: %v", strings.Join(args, " "), err)
		}
		code = ee.ExitCode()
	}
	return code, string(out)
}

// expect runs lavacli and checks the exit code and that the output holds
// every want (in order).
func (l *lab) expect(code int, wants []string, args ...string) string {
	l.t.Helper()
	got, out := l.run(args...)
	if got != code {
		l.t.Errorf("lavacli %s: exit %d, want %d\n%s", strings.Join(args, " "), got, code, out)
		return out
	}
	rest := out
	for _, w := range wants {
		i := strings.Index(rest, w)
		if i < 0 {
			l.t.Errorf("lavacli %s: output lacks %q (in order)\n%s", strings.Join(args, " "), w, out)
			return out
		}
		rest = rest[i+len(w):]
	}
	return out
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func corpusJob(t *testing.T, rel string) string {
	return filepath.Join(testenv.Data(t, "jobs"), rel)
}

func TestLavacli(t *testing.T) {
	l := startLab(t)
	ctx := context.Background()
	tmp := t.TempDir()
	valid := corpusJob(t, "valid/qemu-tmpfs-smoke.yaml")
	invalid := corpusJob(t, "invalid/boot-method-unknown.yaml")

	t.Run("system", func(t *testing.T) {
		l.t = t
		l.expect(0, []string{"2023.01"}, "system", "version")
		l.expect(0, []string{"admin"}, "system", "whoami")
		l.expect(0, []string{"bob"}, "-i", "bob", "system", "whoami")
		l.expect(0, []string{"<AnonymousUser>"}, "-i", "anon", "system", "whoami")
		l.expect(1, []string{"Unable to connect", "401"}, "-i", "wrong", "system", "whoami")
		l.expect(0, []string{"2"}, "system", "api")
		l.expect(0, []string{"scheduler.jobs.submit", "system.version"}, "system", "methods", "list")
		l.expect(0, []string{"Submit a job definition"}, "system", "methods", "help", "scheduler.jobs.submit")
		l.expect(0, []string{"['int', 'string']"}, "system", "methods", "signature", "scheduler.jobs.submit")
	})

	var id1 int64
	t.Run("jobs", func(t *testing.T) {
		l.t = t
		out := l.expect(0, nil, "jobs", "submit", valid)
		n, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
		if err != nil {
			t.Fatalf("jobs submit printed %q, want a job id", out)
		}
		id1 = n
		ids := fmt.Sprint(id1)
		l.expect(0, []string{"Unable to submit", "Problem with submitted job data", "actions[1].boot.method"}, "jobs", "submit", invalid)
		l.expect(0, []string{"Unable to submit", "401", "Authentication"}, "-i", "anon", "jobs", "submit", valid)
		l.expect(0, []string{"Jobs (from 1 to 25):", "* " + ids + ": Submitted,Unknown [admin] (qemu tmpfs smoke) - qemu"}, "jobs", "list")
		l.expect(0, []string{`"id": ` + ids, `"state": "Submitted"`}, "jobs", "list", "--json")
		l.expect(0, []string{"Jobs (from 1 to 25):"}, "jobs", "list", "--state", "RUNNING")
		l.expect(0, []string{"id          : " + ids, "description : qemu tmpfs smoke", "submitter   : admin",
			"device-type : qemu", "device      : None", "state       : Submitted", "Health      : Unknown",
			"pipeline    : True", "visibility  : Public", "submit time : 20", "start time  : None"}, "jobs", "show", ids)
		l.expect(1, []string{"Unable to call 'jobs.show'", "404", "Job '999' was not found."}, "jobs", "show", "999")
		def, err := os.ReadFile(valid)
		if err != nil {
			t.Fatal(err)
		}
		if out := l.expect(0, nil, "jobs", "definition", ids); strings.TrimRight(out, "\n") != strings.TrimRight(string(def), "\n") {
			t.Errorf("jobs definition differs from the submitted file:\n%s", out)
		}
		l.expect(0, nil, "jobs", "validate", valid)
		l.expect(1, []string{"key: actions[1].boot.method", "msg: unknown action type"}, "jobs", "validate", invalid)
		l.expect(0, []string{"Jobs (from 1 to 25):", "* " + ids + ": admin (qemu tmpfs smoke) - qemu"}, "jobs", "queue")
		// bob may not cancel admin's job.
		l.expect(0, []string{"Unable to cancel job " + ids, "403", "Permission denied."}, "-i", "bob", "jobs", "cancel", ids)
		out = l.expect(0, nil, "jobs", "resubmit", ids)
		id2 := strings.TrimSpace(out)
		if n, err := strconv.ParseInt(id2, 10, 64); err != nil || n <= id1 {
			t.Fatalf("jobs resubmit printed %q, want a new job id", out)
		}
		l.expect(0, nil, "jobs", "cancel", id2)
		l.expect(0, []string{"state       : Finished", "Health      : Canceled", "end time    : 20"}, "jobs", "show", id2)
		l.expect(0, nil, "jobs", "wait", id2)
		l.expect(0, []string{"* " + id2 + ": Finished,Canceled"}, "jobs", "list", "--health", "CANCELED")
	})

	t.Run("logs-follow-and-results", func(t *testing.T) {
		l.t = t
		if id1 == 0 {
			t.Skip("no job submitted")
		}
		testenv.Need(t, l.st != nil, "LAVA_TEST_POSTGRES_DSN is not set: feeding a running job's log needs the server's store shared (SQLite is locked by the server)")
		ids := fmt.Sprint(id1)
		if _, err := l.st.SetDeviceHealth(ctx, "qemu-01", model.DeviceGood); err != nil {
			t.Fatal(err)
		}
		// The worker protocol's part: w1 online, the job scheduled and started.
		if _, err := l.st.UpdateWorker(ctx, "w1", func(w *model.Worker) error {
			w.State, w.LastPing = model.WorkerOnline, time.Now()
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		j, err := l.st.Job(ctx, store.System(), id1)
		if err != nil {
			t.Fatal(err)
		}
		if as, err := l.st.Assign(ctx, []store.Assignment{{Job: j, Device: "qemu-01"}}); err != nil || len(as) != 1 {
			t.Fatalf("assign: %v %v", as, err)
		}
		if _, err := l.st.StartJob(ctx, id1); err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC()
		recs := []model.LogRecord{
			{Index: 0, Time: now, Level: model.LevelInfo, Message: "start: 0 validate"},
			{Index: 1, Time: now, Level: model.LevelDebug, Message: `quote " backslash \ tab	done`},
			{Index: 2, Time: now, Level: model.LevelTarget, Message: "Linux version 6.1 (ünïcode)"},
		}
		if _, err := l.st.AppendLogs(ctx, id1, 0, recs); err != nil {
			t.Fatal(err)
		}
		lctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		follow, fout := l.start(t, lctx, "jobs", "logs", "--polling", "1", ids)
		wait, wout := l.start(t, lctx, "jobs", "wait", "--polling", "1", ids)
		// Feed the log while lavacli follows it (pacing, not an assertion).
		time.Sleep(1500 * time.Millisecond)
		more := []model.LogRecord{
			{Index: 3, Time: now, Level: model.LevelResults, Structured: true,
				Message: `{"definition": "0_smoke", "case": "uname", "result": "pass"}`},
			{Index: 4, Time: now, Level: model.LevelFeedback, NS: "common", Message: "from the DUT"},
			{Index: 5, Time: now, Level: model.LevelError, Message: "last line"},
		}
		if _, err := l.st.AppendLogs(ctx, id1, 3, more); err != nil {
			t.Fatal(err)
		}
		m := 12.5
		cases := []model.TestCase{
			{Suite: "lava", Name: "job", Result: model.ResultPass, Metadata: []byte(`{"definition": "lava", "case": "job", "result": "pass"}`), Logged: now},
			{Suite: "0_smoke", Name: "uname", Result: model.ResultPass, Metadata: []byte(`{"definition": "0_smoke", "case": "uname", "result": "pass"}`), Logged: now, LogStart: 3, LogEnd: 3},
			{Suite: "0_smoke", Name: "speed", Result: model.ResultFail, Measurement: &m, Units: "MB/s", Metadata: []byte(`{"definition": "0_smoke", "case": "speed", "result": "fail"}`), Logged: now},
		}
		if err := l.st.AddTestCases(ctx, id1, cases); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond)
		// lavacli (Python) may take seconds to start on a loaded machine:
		// the job ends only once its wait has seen it Running.
		if !wout.WaitFor("Running", 30*time.Second) {
			t.Errorf("jobs wait printed %q within 30 s, want the Running state", wout.String())
		}
		if _, err := l.st.FinishJob(ctx, id1, store.JobResult{Health: model.JobIncomplete, ErrorType: "Test", FailureComment: "speed too low"}); err != nil {
			t.Fatal(err)
		}
		if err := follow.Wait(); err != nil {
			t.Errorf("lavacli jobs logs: %v\n%s", err, fout.String())
		}
		if err := wait.Wait(); err != nil {
			t.Errorf("lavacli jobs wait: %v\n%s", err, wout.String())
		}
		out := fout.String()
		rest := out
		for _, w := range []string{"start: 0 validate", `quote " backslash \ tab	done`, "Linux version 6.1", "'case': 'uname'",
			"<common> from the DUT", "last line", "[lavacli] Failure comment: speed too low"} {
			i := strings.Index(rest, w)
			if i < 0 {
				t.Fatalf("jobs logs output lacks %q (in order):\n%s", w, out)
			}
			rest = rest[i+len(w):]
		}
		if n := strings.Count(out, "start: 0 validate"); n != 1 {
			t.Errorf("first record printed %d times, want once:\n%s", n, out)
		}
		if !strings.Contains(wout.String(), "Running") {
			t.Errorf("jobs wait printed %q, want the Running state", wout.String())
		}
		l.expect(0, []string{`- {"dt": "`, `"lvl": "info", "msg": "start: 0 validate"}`}, "jobs", "logs", "--raw", "--no-follow", "--end", "1", ids)
		l.expect(0, []string{"device      : qemu-01", "state       : Finished", "Health      : Incomplete", "failure     : speed too low"}, "jobs", "show", ids)
		l.expect(0, []string{"Results:", "* lava.job [pass]", "* 0_smoke.uname [pass]", "* 0_smoke.speed [fail]"}, "results", ids)
		l.expect(0, []string{"Results:", "* 0_smoke.uname [pass]", "* 0_smoke.speed [fail]"}, "results", ids, "0_smoke")
		l.expect(0, []string{"fail"}, "results", ids, "0_smoke", "speed")
		out = l.expect(0, nil, "results", ids, "0_smoke", "--json")
		var rows []map[string]any
		if err := json.Unmarshal([]byte(out), &rows); err != nil || len(rows) != 2 {
			t.Fatalf("results --json: %v\n%s", err, out)
		}
		if rows[1]["measurement"] != "12.5000000000" || rows[1]["unit"] != "MB/s" || rows[0]["log_start_line"] != "3" || rows[0]["job"] != ids {
			t.Errorf("results row = %v", rows)
		}
		l.expect(1, []string{"404", "Specified test suite 'nope' not found."}, "results", ids, "nope")
	})

	t.Run("devices", func(t *testing.T) {
		l.t = t
		l.expect(0, []string{"Devices:", "* qemu-01 (qemu): Idle,"}, "devices", "list")
		l.expect(0, []string{"name        : qemu-01", "device-type : qemu", "state       : Idle", "device-dict : False",
			"worker      : w1", "current job : None", "tags        : ['usb']"}, "devices", "show", "qemu-01")
		l.expect(1, []string{"404", "Device 'nope' was not found."}, "devices", "show", "nope")
		dict := writeFile(t, tmp, "qemu-01.jinja2", "{% extends 'qemu.jinja2' %}\n{% set netdevice = 'tap' %}\n{% set memory = 2048 %}\n")
		l.expect(0, nil, "devices", "dict", "set", "qemu-01", dict)
		l.expect(0, []string{"{% extends 'qemu.jinja2' %}", "{% set memory = 2048 %}"}, "devices", "dict", "get", "qemu-01")
		l.expect(0, []string{"2048"}, "devices", "dict", "get", "qemu-01", "memory")
		l.expect(0, []string{"device_type: qemu", "settings:", "memory: 2048", "netdevice: tap"}, "devices", "dict", "get", "--render", "qemu-01")
		bad := writeFile(t, tmp, "bad.jinja2", "{% extends 'qemu.jinja2' %}\n{% if x %}{% endif %}\n")
		l.expect(1, []string{"400", "Invalid device dictionary"}, "devices", "dict", "set", "qemu-01", bad)
		l.expect(1, []string{"403", "Permission denied."}, "-i", "bob", "devices", "dict", "set", "qemu-01", dict)
		yamlDict := writeFile(t, tmp, "qemu-02.yaml", "extends: qemu\nsettings:\n  memory: 1024\n")
		l.expect(0, nil, "devices", "add", "qemu-02", "--type", "qemu", "--worker", "w1", "--description", "second")
		l.expect(0, nil, "devices", "dict", "set", "qemu-02", yamlDict)
		l.expect(0, []string{"memory: 1024"}, "devices", "dict", "get", "--render", "qemu-02")
		l.expect(1, []string{"404", "Device-type 'nope' was not found."}, "devices", "add", "x-01", "--type", "nope", "--worker", "w1")
		l.expect(1, []string{"400", "already exists"}, "devices", "add", "qemu-02", "--type", "qemu", "--worker", "w1")
		l.expect(0, nil, "devices", "update", "qemu-02", "--health", "MAINTENANCE", "--description", "changed")
		l.expect(0, []string{"health      : Maintenance", "description : changed"}, "devices", "show", "qemu-02")
		l.expect(0, nil, "devices", "tags", "add", "qemu-02", "hdmi")
		l.expect(0, []string{"Tags:", "* hdmi"}, "devices", "tags", "list", "qemu-02")
		l.expect(0, nil, "devices", "tags", "delete", "qemu-02", "hdmi")
		if out := l.expect(0, []string{"Tags:"}, "devices", "tags", "list", "qemu-02"); strings.Contains(out, "hdmi") {
			t.Errorf("tag not deleted:\n%s", out)
		}
		l.expect(0, nil, "devices", "update", "qemu-02", "--health", "RETIRED")
		if out := l.expect(0, []string{"Devices:"}, "devices", "list"); strings.Contains(out, "qemu-02") {
			t.Errorf("retired device listed without --all:\n%s", out)
		}
		l.expect(0, []string{"* qemu-02 (qemu): Idle,Retired"}, "devices", "list", "--all")
	})

	t.Run("device-types", func(t *testing.T) {
		l.t = t
		l.expect(0, []string{"Device-Types:", "* qemu (1)"}, "device-types", "list")
		l.expect(0, []string{"name            : qemu", "health disabled : False", "aliases         : []", "devices         : ['qemu-01']"}, "device-types", "show", "qemu")
		l.expect(1, []string{"404", "Device-type 'nope' was not found."}, "device-types", "show", "nope")
		l.expect(0, nil, "device-types", "add", "bbb", "--description", "BeagleBone Black")
		l.expect(0, []string{"name            : bbb", "description     : BeagleBone Black"}, "device-types", "show", "bbb")
		tpl := writeFile(t, tmp, "bbb.yaml", "bootm_kernel_addr: '0x82000000'\n")
		l.expect(0, nil, "device-types", "template", "set", "bbb", tpl)
		l.expect(0, []string{"bootm_kernel_addr: \"0x82000000\""}, "device-types", "template", "get", "bbb")
		hc := writeFile(t, tmp, "hc.yaml", mustRead(t, corpusJob(t, "valid/qemu-tmpfs-smoke.yaml")))
		l.expect(0, nil, "device-types", "health-check", "set", "qemu", hc)
		l.expect(0, []string{"job_name: qemu tmpfs smoke"}, "device-types", "health-check", "get", "qemu")
		l.expect(1, []string{"404", "has no health check"}, "device-types", "health-check", "get", "bbb")
		l.expect(0, nil, "device-types", "aliases", "add", "bbb", "beaglebone-black")
		l.expect(0, []string{"Aliases:", "* beaglebone-black"}, "device-types", "aliases", "list", "bbb")
		l.expect(0, []string{"name       : beaglebone-black", "device-type: bbb"}, "aliases", "show", "beaglebone-black")
		l.expect(0, nil, "device-types", "aliases", "delete", "bbb", "beaglebone-black")
		l.expect(1, []string{"404", "Alias 'beaglebone-black' was not found."}, "aliases", "show", "beaglebone-black")
		l.expect(0, nil, "device-types", "update", "bbb", "--health-disabled")
		l.expect(0, []string{"health disabled : True"}, "device-types", "show", "bbb")
	})

	t.Run("workers", func(t *testing.T) {
		l.t = t
		l.expect(0, []string{"Workers:", "* w1"}, "workers", "list")
		l.expect(0, []string{"hostname    : w1", "health      : Active", "devices     : qemu-01", "last ping   : ", "job limit   : 0"}, "workers", "show", "w1")
		l.expect(1, []string{"404", "Worker 'nope' was not found."}, "workers", "show", "nope")
		l.expect(0, nil, "workers", "add", "w2", "--description", "second worker")
		l.expect(0, nil, "workers", "update", "w2", "--health", "MAINTENANCE", "--job-limit", "3")
		l.expect(0, []string{"hostname    : w2", "description : second worker", "health      : Maintenance", "job limit   : 3"}, "workers", "show", "w2")
		l.expect(1, []string{"403", "Permission denied."}, "-i", "bob", "workers", "add", "w3")
	})

	t.Run("tags", func(t *testing.T) {
		l.t = t
		l.expect(0, []string{"Tags:", "* hdmi (has HDMI)", "* usb"}, "tags", "list")
		l.expect(0, nil, "tags", "add", "wifi", "--description", "802.11")
		l.expect(0, []string{"name       : usb", "devices    :", "* qemu-01"}, "tags", "show", "usb")
		l.expect(0, nil, "tags", "delete", "wifi")
		l.expect(1, []string{"404", "Tag 'wifi' was not found."}, "tags", "show", "wifi")
	})
}

func mustRead(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
