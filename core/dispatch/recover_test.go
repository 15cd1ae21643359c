package dispatch

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/model"
)

// TestRecover: after a worker restart, Recover runs the power_off_command
// of the job's dictionary (in jinja2 and YAML form, a list or one
// command, never the job's recorded settings) and removes the job's
// folder, its output in the job's log; a dictionary without one leaves the
// device with a warning; an unreadable one is an error naming it, and the
// folder still goes.
func TestRecover(t *testing.T) {
	for _, tc := range []struct {
		name     string
		dict     string
		settings map[string]any
		want     []string // lines in the mark file
		wantErr  string
		warn     bool
	}{
		{name: "yaml list", dict: "extends: local\nsettings:\n  power_off_command:\n  - echo off-1 >> MARK\n  - echo off-2 >> MARK\n", want: []string{"off-1", "off-2"}},
		{name: "jinja2", dict: "{% extends 'local.jinja2' %}\n{% set power_off_command = 'echo j-off $LAVA_JOB_ID >> MARK' %}\n", want: []string{"j-off 42"}},
		// The job's recorded settings hold the driver's defaults: never a
		// command line after a restart (the driver sandbox).
		{name: "not from the job's settings", dict: "extends: local\n", settings: map[string]any{"power_off_command": "echo s-off >> MARK"}, warn: true},
		{name: "dictionary over settings", dict: "extends: local\nsettings:\n  power_off_command: echo d-off >> MARK\n", settings: map[string]any{"power_off_command": "echo s-off >> MARK"}, want: []string{"d-off"}},
		{name: "none", dict: "extends: local\n", warn: true},
		{name: "failing command", dict: "extends: local\nsettings:\n  power_off_command: exit 3\n", wantErr: "exit status 3"},
		{name: "unreadable dictionary", dict: "{% extends 'local.jinja2' %}\n{% set x = %}\n", wantErr: "device dictionary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDispatcher(t)
			mark := filepath.Join(t.TempDir(), "mark")
			dir := filepath.Join(d.jobsDir, "42")
			if err := os.MkdirAll(filepath.Join(dir, "kernel"), 0o755); err != nil {
				t.Fatal(err)
			}
			settings := map[string]any{}
			for k, v := range tc.settings {
				settings[k] = strings.ReplaceAll(v.(string), "MARK", mark)
			}
			var log []model.LogRecord
			err := d.Recover(context.Background(), Request{JobID: 42, Definition: []byte("job_name: x\n"),
				Dictionary: []byte(strings.ReplaceAll(tc.dict, "MARK", mark)), Settings: settings},
				SinkFunc(func(r model.LogRecord) { log = append(log, r) }))
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Recover: %v, want error %q", err, tc.wantErr)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("the job's folder is still there: %v", err)
			}
			b, _ := os.ReadFile(mark)
			if got := strings.TrimSuffix(strings.ReplaceAll(string(b), "\n", "|"), "|"); got != strings.Join(tc.want, "|") {
				t.Errorf("mark file %q, want %q", b, tc.want)
			}
			warned := false
			for _, r := range log {
				warned = warned || r.Level == model.LevelWarning && strings.Contains(r.Message, "no power_off_command")
			}
			if warned != tc.warn {
				t.Errorf("warning about a missing power_off_command: %v, want %v (log %v)", warned, tc.warn, log)
			}
			if len(log) == 0 {
				t.Error("nothing in the job's log")
			}
		})
	}
}
