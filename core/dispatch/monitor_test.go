package dispatch

// Issue 18: the monitors test action.

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/hosttools"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/sdk"
)

// TestMonitorMatch: a pattern match becomes LAVA's results record (or
// none, or a refusal), as lava_dispatcher/actions/test/monitor.py's
// check_patterns makes it.
func TestMonitorMatch(t *testing.T) {
	zephyr := sdk.Monitor{Name: "Kernel Tests", Pattern: `(?P<result>(PASS|FAIL))\s-\s(?P<test_case_id>\w+)`, Fixup: map[string]string{"PASS": "pass", "FAIL": "fail"}}
	plain := sdk.Monitor{Name: "m"}
	for _, tc := range []struct {
		name    string
		m       sdk.Monitor
		text    string
		re      string
		want    map[string]any
		warning string
	}{
		{name: "pass through fixupdict", m: zephyr, text: "PASS - test_alpha", re: zephyr.Pattern,
			want: map[string]any{"definition": "kernel-tests", "case": "test_alpha", "level": "3.1", "result": "pass", "extra": map[string]any{"test_case_id": "test_alpha"}}},
		{name: "fail through fixupdict", m: zephyr, text: "FAIL - test_beta", re: zephyr.Pattern,
			want: map[string]any{"definition": "kernel-tests", "case": "test_beta", "level": "3.1", "result": "fail", "extra": map[string]any{"test_case_id": "test_beta"}}},
		{name: "result without fixupdict", m: plain, text: "skip: Odd Case-1", re: `(?P<result>\w+): (?P<test_case_id>.+)`,
			want: map[string]any{"definition": "m", "case": "odd_case_1", "level": "3.1", "result": "skip", "extra": map[string]any{"test_case_id": "Odd Case-1"}}},
		{name: "unmapped result refused", m: plain, text: "PASS - x", re: `(?P<result>PASS) - (?P<test_case_id>\w+)`, warning: "error: bad test results: PASS"},
		{name: "result without a case id", m: plain, text: "pass", re: `(?P<result>pass)`},
		{name: "measurement with result", m: plain, text: "pass t1 12.5 ms", re: `(?P<result>\w+) (?P<test_case_id>\w+) (?P<measurement>[0-9.]+) (?P<units>\w+)`,
			want: map[string]any{"definition": "m", "case": "t1", "level": "3.1", "result": "pass", "measurement": "12.5", "units": "ms", "extra": map[string]any{"test_case_id": "t1"}}},
		{name: "measurement alone is a pass", m: plain, text: "bench 3.25", re: `(?P<test_case_id>\w+) (?P<measurement>[0-9.]+)`,
			want: map[string]any{"definition": "m", "case": "bench", "level": "3.1", "result": "pass", "measurement": 3.25, "extra": map[string]any{"test_case_id": "bench"}}},
		{name: "no groups", m: plain, text: "anything", re: `any`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := namedGroups(regexp.MustCompile(tc.re), tc.text)
			if g == nil {
				t.Fatalf("%q does not match %q", tc.re, tc.text)
			}
			rec, warn := monitorMatch(tc.m, "3.1", g)
			if warn != tc.warning {
				t.Errorf("warning %q, want %q", warn, tc.warning)
			}
			if !reflect.DeepEqual(rec, tc.want) {
				t.Errorf("record %v, want %v", rec, tc.want)
			}
		})
	}
}

// fakeBoard writes a host tool that answers the local driver's prompt
// setup, then prints out (after a pause; "<pause>" in out pauses again)
// and keeps the console open.
func fakeBoard(t *testing.T, out string) *hosttools.Policy {
	t.Helper()
	dir := t.TempDir()
	script := filepath.Join(dir, "board")
	body := "#!/bin/sh\nread line\necho 'lava-local: # '\n"
	for _, chunk := range strings.Split(out, "<pause>") {
		body += "sleep 0.2\nprintf '%s' '" + strings.ReplaceAll(chunk, "'", `'\''`) + "'\n"
	}
	body += "exec sleep 60\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	return testTools(t, hosttools.Rule{Name: "board", Path: script, DeviceTypes: []string{"local"}})
}

const monitorsJob = `- test:
    timeout: {seconds: 5}
    monitors:
    - name: First_Suite
      start: START-1
      end: END-1
      pattern: '(?P<result>(PASS|FAIL)) - (?P<test_case_id>\w+)'
      fixupdict: {PASS: pass, FAIL: fail}
    - name: second
      start: START-2
      end: END-2
      pattern: 'case (?P<test_case_id>\w+): (?P<result>\w+)'
`

// TestRunMonitors: two monitors in order on a board's console, each case
// in the monitor's suite, the failing one fail, the job Complete.
func TestRunMonitors(t *testing.T) {
	// test_b's line arrives in two parts: its case is read from the whole line.
	d := newDispatcherTools(t, fakeBoard(t, "boot\nSTART-1\nPASS - test_a\nFAIL - te<pause>st_b\nEND-1\nPASS - ignored\nSTART-2\ncase c1: pass\ncase c2: skip\nEND-2\n"))
	rec := &recorder{}
	def := jobWith("", bootAction+monitorsJob)
	out := d.Run(context.Background(), Request{JobID: 7, Definition: def, DeviceName: "mcu", Dictionary: localDict(t, "  shell: board\n"), Driver: loadLocal(t)}, rec)
	wantComplete(t, out, rec)
	wantCases(t, out, map[string]string{
		"first_suite/test_a": "pass", "first_suite/test_b": "fail",
		"second/c1": "pass", "second/c2": "skip",
		"lava/lava-test-monitor-retry": "pass",
	})
	if _, ok := caseResult(out.Cases, "first_suite", "ignored"); ok {
		t.Errorf("a case between END-1 and START-2 was recorded")
	}
	if !rec.has(model.LevelInfo, "ok: end string found") {
		t.Errorf("no end message in the log:\n%s", rec.text())
	}
}

// TestRunMonitorsNoStart: a board that never prints the start string ends
// Incomplete at the action's timeout, with a message naming the start
// string, and is powered off.
func TestRunMonitorsNoStart(t *testing.T) {
	d := newDispatcherTools(t, fakeBoard(t, "booting, then silence\n"))
	rec := &recorder{}
	mark := filepath.Join(t.TempDir(), "off")
	def := jobWith("", bootAction+strings.Replace(monitorsJob, "seconds: 5", "seconds: 2", 1))
	dict := localDict(t, "  shell: board\n  power_off_command: touch "+mark+"\n")
	out := d.Run(context.Background(), Request{JobID: 8, Definition: def, DeviceName: "mcu", Dictionary: dict, Driver: loadLocal(t)}, rec)
	if out.Health != model.JobIncomplete || out.ErrorType != sdk.ErrorTest {
		t.Fatalf("job %s (%s: %s), want Incomplete (Test)\n%s", out.Health, out.ErrorType, out.Error, rec.text())
	}
	for _, want := range []string{`lava-test-monitor-retry timed out`, `monitor First_Suite: the start string "START-1" was not found`} {
		if !strings.Contains(out.Error, want) {
			t.Errorf("error %q does not say %q", out.Error, want)
		}
	}
	if _, err := os.Stat(mark); err != nil {
		t.Errorf("the board was not powered off: %v\n%s", err, rec.text())
	}
}
