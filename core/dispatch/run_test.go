package dispatch

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/sdk"
)

const smokeSteps = `        run:
          steps:
          - lava-test-case job-id --shell test "$LAVA_JOB_ID" = 4242
          - lava-test-case answer --result pass --measurement 42 --units things
`

func jobWith(timeouts, actions string) []byte {
	if timeouts == "" {
		timeouts = "timeouts:\n  job:\n    minutes: 2\n  action:\n    minutes: 1\n"
	}
	return []byte("job_name: dispatch test\ndevice_type: local\nvisibility: public\n" + timeouts + "actions:\n" + actions)
}

// hangDict makes a board that never reaches its shell prompt: cat echoes
// the prompt setting line, split-quoted, so no prompt ever matches.
const hangDict = "  shell: cat\n"

const bootAction = `- boot:
    method: minimal
    prompts: ['lava-local: # ']
`

func runJob(t *testing.T, d *Dispatcher, def, dict []byte, rec *recorder) Outcome {
	t.Helper()
	out := d.Run(context.Background(), Request{JobID: 4242, Definition: def, DeviceName: "local-test", Dictionary: dict, Driver: loadLocal(t)}, rec)
	if rec.misordered > 0 {
		t.Errorf("%d records out of order", rec.misordered)
	}
	return out
}

func wantComplete(t *testing.T, out Outcome, rec *recorder) {
	t.Helper()
	if out.Health != model.JobComplete {
		t.Fatalf("job %s: %s: %s\nlog:\n%s", out.Health, out.ErrorType, out.Error, rec.text())
	}
}

func wantCases(t *testing.T, out Outcome, want map[string]string) {
	t.Helper()
	for k, res := range want {
		suite, name, _ := strings.Cut(k, "/")
		c, ok := caseResult(out.Cases, suite, name)
		if !ok {
			t.Errorf("no case %s in %v", k, out.Cases)
			continue
		}
		if got := strings.ToLower(c.Result.String()); got != res {
			t.Errorf("case %s: %s, want %s", k, got, res)
		}
	}
}

func TestRunInlineDefinition(t *testing.T) {
	d := newDispatcher(t)
	def := jobWith("", bootAction+`- test:
    definitions:
    - from: inline
      name: smoke
      path: inline/smoke.yaml
      repository:
        metadata:
          format: Lava-Test Test Definition 1.0
          name: smoke
`+smokeSteps)
	rec := &recorder{}
	out := runJob(t, d, def, localDict(t, ""), rec)
	wantComplete(t, out, rec)
	wantCases(t, out, map[string]string{
		"0_smoke/job-id": "pass", "0_smoke/answer": "pass",
		"lava/minimal-boot": "pass", "lava/lava-test-retry": "pass", "lava/0_smoke": "pass", "lava/job": "pass",
	})
	c, _ := caseResult(out.Cases, "0_smoke", "answer")
	if c.Measurement == nil || *c.Measurement != 42 || c.Units != "things" {
		t.Errorf("answer: measurement %v %q", c.Measurement, c.Units)
	}
	if c.LogStart <= 0 || c.LogStart >= int64(len(rec.recs)) || rec.recs[c.LogStart].Level != model.LevelTarget {
		t.Errorf("answer: log line %d is not the target line of its signal", c.LogStart)
	}
	if l, _ := caseResult(out.Cases, "lava", "minimal-boot"); l.Measurement == nil {
		t.Errorf("lava suite case without duration: %+v", l)
	}
	if out.Settings["lava_test_results_dir"] == nil || out.Settings["shell"] != "sh" {
		t.Errorf("merged settings lack the dictionary or the driver defaults: %v", out.Settings)
	}
}

// tarGz builds a gzipped tar holding files.
func tarGz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, body := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	gz.Close()
	return buf.Bytes()
}

const testdefYAML = `metadata:
  format: Lava-Test Test Definition 1.0
  name: %s
run:
  steps:
  - lava-test-case job-id --shell test "$LAVA_JOB_ID" = 4242
  - lava-test-case from-%s --result pass
`

func TestRunTarURLDefinition(t *testing.T) {
	archive := tarGz(t, map[string]string{"tests/tar.yaml": fmt.Sprintf(testdefYAML, "tar", "tar")})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/defs.tar.gz" {
			http.NotFound(w, r)
			return
		}
		w.Write(archive)
	}))
	defer srv.Close()
	d := newDispatcher(t)
	def := jobWith("", bootAction+`- test:
    definitions:
    - from: url
      repository: `+srv.URL+`/defs.tar.gz
      compression: gz
      name: fromtar
      path: tests/tar.yaml
`)
	rec := &recorder{}
	out := runJob(t, d, def, localDict(t, ""), rec)
	wantComplete(t, out, rec)
	wantCases(t, out, map[string]string{"0_fromtar/job-id": "pass", "0_fromtar/from-tar": "pass", "lava/0_fromtar": "pass"})
}

func TestRunGitDefinition(t *testing.T) {
	git := testenv.NeedTool(t, "git")
	repo := t.TempDir()
	gitRun := func(args ...string) {
		t.Helper()
		cmd := exec.Command(git, args...)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	gitRun("init", "-q", "-b", "main")
	if err := os.MkdirAll(filepath.Join(repo, "smoke"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "smoke", "git.yaml"), []byte(fmt.Sprintf(testdefYAML, "git", "git")), 0o644); err != nil {
		t.Fatal(err)
	}
	gitRun("add", ".")
	gitRun("commit", "-q", "-m", "test definition")

	d := newDispatcher(t)
	def := jobWith("", bootAction+`- test:
    definitions:
    - from: git
      repository: `+repo+`
      branch: main
      name: fromgit
      path: smoke/git.yaml
`)
	rec := &recorder{}
	out := runJob(t, d, def, localDict(t, ""), rec)
	wantComplete(t, out, rec)
	wantCases(t, out, map[string]string{"0_fromgit/job-id": "pass", "0_fromgit/from-git": "pass", "lava/0_fromgit": "pass"})
}

// A job cancelled while the board boots is powered off: the
// power_off_command leaves a file behind.
func TestCancelMidBootPowersOff(t *testing.T) {
	d := newDispatcher(t)
	mark := filepath.Join(t.TempDir(), "powered-off")
	dict := localDict(t, hangDict+"  power_off_command: echo off > "+mark+"\n")
	def := jobWith("", `- boot:
    method: minimal
    prompts: ['a prompt the shell never shows']
`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := &recorder{}
	// Cancel once the console is up and the boot waits for its prompt.
	rec.hook = func(r model.LogRecord) {
		if r.Level == model.LevelInput {
			cancel()
		}
	}
	out := d.Run(ctx, Request{JobID: 7, Definition: def, Dictionary: dict, Driver: loadLocal(t)}, rec)
	if out.Health != model.JobCanceled || out.ErrorType != sdk.ErrorCanceled {
		t.Fatalf("outcome %s %s: %s\n%s", out.Health, out.ErrorType, out.Error, rec.text())
	}
	b, err := os.ReadFile(mark)
	if err != nil || strings.TrimSpace(string(b)) != "off" {
		t.Fatalf("the board was not powered off: %v %q\n%s", err, b, rec.text())
	}
	if c, ok := caseResult(out.Cases, "lava", "job"); !ok || c.Result != model.ResultFail {
		t.Errorf("lava/job case: %+v", c)
	}
}

func TestTimeoutAndRetry(t *testing.T) {
	d := newDispatcher(t)
	def := jobWith("", `- boot:
    method: minimal
    failure_retry: 2
    timeout:
      seconds: 1
    prompts: ['a prompt the shell never shows']
`)
	rec := &recorder{}
	out := runJob(t, d, def, localDict(t, hangDict), rec)
	if out.Health != model.JobIncomplete || out.ErrorType != sdk.ErrorInfrastructure {
		t.Fatalf("outcome %s %s: %s", out.Health, out.ErrorType, out.Error)
	}
	for _, want := range []string{"minimal-boot", "timed out", "level 1", "expect-shell-connection"} {
		if !strings.Contains(out.Error, want) {
			t.Errorf("error %q does not say %q", out.Error, want)
		}
	}
	fails := 0
	for _, c := range out.Cases {
		if c.Suite == "lava" && c.Name == "minimal-boot" && c.Result == model.ResultFail {
			fails++
		}
	}
	if fails != 2 {
		t.Errorf("%d failed minimal-boot attempts, want 2 (failure_retry: 2)", fails)
	}
	if !rec.has(model.LevelWarning, "retrying") {
		t.Error("no retry warning in the log")
	}
}

func TestJobTimeout(t *testing.T) {
	d := newDispatcher(t)
	def := jobWith("timeouts:\n  job:\n    seconds: 1\n", `- boot:
    method: minimal
    prompts: ['a prompt the shell never shows']
`)
	rec := &recorder{}
	out := runJob(t, d, def, localDict(t, hangDict), rec)
	if out.Health != model.JobIncomplete || out.ErrorType != sdk.ErrorJob || !strings.Contains(out.Error, "job timed out") {
		t.Fatalf("outcome %s %s: %s", out.Health, out.ErrorType, out.Error)
	}
}

func TestTestRaiseAndCommand(t *testing.T) {
	d := newDispatcher(t)
	mark := filepath.Join(t.TempDir(), "hello")
	dict := localDict(t, "  user_commands:\n    hello:\n      do: echo hello-$LAVA_JOB_ID | tee "+mark+"\n")
	def := jobWith("", `- command:
    name: hello
`+bootAction+`- test:
    definitions:
    - from: inline
      name: raise
      path: inline/raise.yaml
      repository:
        metadata:
          format: Lava-Test Test Definition 1.0
          name: raise
        run:
          steps:
          - lava-test-case before --result pass
          - lava-test-raise something broke
          - lava-test-case after --result pass
`)
	rec := &recorder{}
	out := runJob(t, d, def, dict, rec)
	if out.Health != model.JobIncomplete || out.ErrorType != sdk.ErrorTest || !strings.Contains(out.Error, "something broke") {
		t.Fatalf("outcome %s %s: %s\n%s", out.Health, out.ErrorType, out.Error, rec.text())
	}
	wantCases(t, out, map[string]string{"0_raise/before": "pass", "lava/command": "pass"})
	if _, ok := caseResult(out.Cases, "0_raise", "after"); ok {
		t.Error("a case after lava-test-raise was recorded")
	}
	if !rec.has(model.LevelDebug, "hello-4242") {
		t.Errorf("user command output not logged:\n%s", rec.text())
	}
	if b, _ := os.ReadFile(mark); strings.TrimSpace(string(b)) != "hello-4242" {
		t.Errorf("user command did not run: %q", b)
	}
}

func TestBadInputs(t *testing.T) {
	d := newDispatcher(t)
	for _, tc := range []struct {
		name, def, dict, errType, msg string
	}{
		{"invalid job", "job_name: x\n", "extends: local\n", sdk.ErrorJob, "invalid job definition"},
		{"bad dictionary", string(jobWith("", bootAction)), "{% if x %}", sdk.ErrorConfiguration, "device dictionary"},
		{"unknown command", string(jobWith("", "- command:\n    name: nope\n")), "extends: local\n", sdk.ErrorJob, "user_commands"},
		{"test without boot", string(jobWith("", "- test:\n    definitions:\n    - from: inline\n      name: x\n      path: x.yaml\n      repository:\n        metadata:\n          format: Lava-Test Test Definition 1.0\n          name: x\n        run:\n          steps: [true]\n")), "extends: local\n", sdk.ErrorJob, "boot action"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{}
			out := runJob(t, d, []byte(tc.def), []byte(tc.dict), rec)
			if out.Health != model.JobIncomplete || out.ErrorType != tc.errType || !strings.Contains(out.Error, tc.msg) {
				t.Fatalf("outcome %s %s: %s, want %s containing %q", out.Health, out.ErrorType, out.Error, tc.errType, tc.msg)
			}
			if c, ok := caseResult(out.Cases, "lava", "job"); !ok || c.Result != model.ResultFail {
				t.Errorf("no failed lava/job case")
			}
		})
	}
}
