package testshell

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/testenv"
)

var runSteps = []any{
	"lava-test-case pass-case --result pass",
	"lava-test-case fail-case --result fail",
	"lava-test-case bottles --result pass --measurement 99 --units bottles",
	"lava-test-set start myset",
	"lava-test-case shell-ok --shell true",
	"lava-test-case shell-fail --shell false",
	"lava-test-case shell-pipe --shell 'echo abc | grep -q b'",
	"lava-test-set stop",
	"lava-test-reference ref-case --result pass --reference http://example.org/r",
	`lava-test-case "job-$LAVA_JOB_ID" --result pass`,
	`lava-test-case "param-$JOBPARAM" --result pass`,
	`lava-test-case "env-$FOO" --result skip`,
	"lava-test-event hello-event",
	"echo custom-parsed: PASS",
	"lava-background-process-start bg --cmd 'sleep 30'",
	"lava-background-process-stop bg",
	"test -f $LAVA_RESULT_DIR/results/pass-case/result",
}

// runOverlay builds a one-definition overlay under a temporary root, runs
// stage 0 with the given shell fed the start commands on stdin, and returns
// the parser's records.
func runOverlay(t *testing.T, shell string) []Record {
	t.Helper()
	dir := t.TempDir()
	job := Job{
		ID: "77", DispatcherIP: "192.0.2.1",
		Environment: map[string]any{"FOO": "bar"},
		Stages: [][]Definition{{{
			From: "inline", Name: "smoke", Path: "inline/smoke.yaml",
			Parameters: []Param{{"JOBPARAM", "fromjob"}},
			Inline: map[string]any{
				"metadata": map[string]any{"format": "Lava-Test Test Definition 1.0", "name": "smoke"},
				"parse": map[string]any{
					"pattern":   `^custom-(?P<test_case_id>\w+): (?P<result>\w+)$`,
					"fixupdict": map[string]any{"PASS": "pass"},
				},
				"run": map[string]any{"steps": runSteps},
			},
		}}},
	}
	ov, err := Build(context.Background(), job, Options{ResultsDir: dir + "/lava-%s", Shell: shell})
	if err != nil {
		t.Fatal(err)
	}
	if err := ov.Unpack(context.Background(), "/"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, shell)
	cmd.Stdin = strings.NewReader(strings.Join(ov.StartCommands(0), "\n") + "\n")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\nstdout:\n%s\nstderr:\n%s", shell, err, stdout.String(), stderr.String())
	}
	p, err := NewParser(ParserOptions{Runs: ov.Runs, Level: "3.1"})
	if err != nil {
		t.Fatal(err)
	}
	var recs []Record
	sc := bufio.NewScanner(&stdout)
	n := int64(0)
	for sc.Scan() {
		n++
		recs = append(recs, p.Feed(sc.Text(), n, time.Unix(n, 0))...)
	}
	recs = append(recs, p.Close(n, time.Unix(n, 0))...)
	if _, err := os.Stat(filepath.Join(dir, "lava-77", "0", "lava-test-runner.conf")); err == nil {
		t.Error("lava-test-runner.conf was not renamed")
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
	return recs
}

func checkRunRecords(t *testing.T, recs []Record) {
	t.Helper()
	type want struct{ result, set, measurement string }
	wantCases := map[string]want{
		"pass-case": {"pass", "", ""}, "fail-case": {"fail", "", ""}, "bottles": {"pass", "", "99"},
		"shell-ok": {"pass", "myset", ""}, "shell-fail": {"fail", "myset", ""}, "shell-pipe": {"pass", "myset", ""},
		"ref-case": {"pass", "", ""}, "job-77": {"pass", "", ""}, "param-fromjob": {"pass", "", ""},
		"env-bar": {"skip", "", ""}, "parsed": {"pass", "", ""},
	}
	got := map[string]map[string]any{}
	var lava map[string]any
	var exit, event bool
	for _, r := range recs {
		switch r.Kind {
		case KindResult:
			if r.Msg["definition"] == "lava" {
				lava = r.Msg
				continue
			}
			if r.Msg["definition"] != "0_smoke" || r.Msg["level"] != "3.1" {
				t.Errorf("record %v", r.Msg)
			}
			got[r.Msg["case"].(string)] = r.Msg
		case KindRunnerExit:
			exit = true
		case KindEvent:
			event = r.Text == "hello-event"
		default:
			t.Errorf("unexpected record %+v", r)
		}
	}
	for name, w := range wantCases {
		m, ok := got[name]
		if !ok {
			t.Errorf("no result for %s", name)
			continue
		}
		if m["result"] != w.result {
			t.Errorf("%s: result %v, want %s", name, m["result"], w.result)
		}
		if s, _ := m["set"].(string); s != w.set {
			t.Errorf("%s: set %q, want %q", name, s, w.set)
		}
		if w.measurement != "" && (m["measurement"] != 99.0 || m["units"] != "bottles") {
			t.Errorf("%s: measurement %v %v", name, m["measurement"], m["units"])
		}
	}
	if len(got) != len(wantCases) {
		t.Errorf("got %d cases, want %d: %v", len(got), len(wantCases), got)
	}
	if got["ref-case"]["reference"] != "http://example.org/r" {
		t.Errorf("reference %v", got["ref-case"])
	}
	if st, ok := got["shell-ok"]["starttc"].(int64); !ok || st == 0 || got["shell-ok"]["endtc"].(int64) <= st {
		t.Errorf("shell-ok markers %v %v", got["shell-ok"]["starttc"], got["shell-ok"]["endtc"])
	}
	if lava == nil || lava["case"] != "0_smoke" || lava["result"] != "pass" || lava["uuid"] != "77_1.1" || lava["repository"] != "inline" {
		t.Errorf("lava record %v", lava)
	}
	if !exit || !event {
		t.Errorf("runner exit %v, event %v", exit, event)
	}
}

func TestRunScriptsSh(t *testing.T) {
	checkRunRecords(t, runOverlay(t, "/bin/sh"))
}

func TestRunScriptsBusybox(t *testing.T) {
	bb := testenv.NeedTool(t, "busybox")
	ash := filepath.Join(t.TempDir(), "ash")
	if err := os.Symlink(bb, ash); err != nil {
		t.Fatal(err)
	}
	checkRunRecords(t, runOverlay(t, ash))
}

// TestUnpackNoWriteThroughLinks: an unpacked root file system whose
// lava-{id} folder is a link to the worker's own folder gets no overlay
// written there.
func TestUnpackNoWriteThroughLinks(t *testing.T) {
	rootfs, outside := t.TempDir(), t.TempDir()
	if err := os.Symlink(outside, filepath.Join(rootfs, "lava-77")); err != nil {
		t.Fatal(err)
	}
	job := Job{ID: "77", Stages: [][]Definition{{{From: "inline", Name: "smoke", Path: "inline/smoke.yaml",
		Inline: map[string]any{"metadata": map[string]any{"format": "Lava-Test Test Definition 1.0", "name": "smoke"},
			"run": map[string]any{"steps": []string{"true"}}}}}}}
	ov, err := Build(context.Background(), job, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := ov.Unpack(context.Background(), rootfs); err == nil {
		t.Error("the overlay was unpacked through a link leading out of the root file system")
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("written outside the root file system: %v", entries)
	}
}
