package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestJobsCommandLine checks the jobs and backup commands' flags and
// errors, in-process.
func TestJobsCommandLine(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args     []string
		code     int
		inOutput string
	}{
		{[]string{"jobs"}, 2, "missing subcommand"},
		{[]string{"jobs", "purge"}, 2, "unknown command"},
		{[]string{"jobs", "rm"}, 2, "--older-than is required"},
		{[]string{"jobs", "rm", "--older-than", "soon"}, 2, "positive number of days"},
		{[]string{"jobs", "rm", "--older-than", "1d", "--state", "running"}, 2, "want finished or submitted"},
		{[]string{"jobs", "rm", "--older-than", "1d", "--batch", "0"}, 2, "--batch 0"},
		{[]string{"jobs", "rm", "--older-than", "1d", "--dry-run"}, 0, "would remove 0 jobs (0 log records)"},
		{[]string{"jobs", "rm", "--older-than", "180d", "--state", "finished,submitted", "--logs-only"}, 0, "removed the logs of 0 jobs"},
		{[]string{"jobs", "list", "--state", "sleeping"}, 2, "--state"},
		{[]string{"jobs", "list", "--health", "fine"}, 2, "--health"},
		{[]string{"jobs", "list", "--newer-than", "x"}, 2, "--newer-than"},
		{[]string{"jobs", "list", "--limit", "0"}, 2, "--limit 0"},
		{[]string{"jobs", "list", "--state", "finished", "--health", "complete", "--newer-than", "2w"}, 0, "0 of 0 matching jobs"},
		{[]string{"jobs", "fail"}, 2, "want 1 argument"},
		{[]string{"jobs", "fail", "x"}, 2, `job id "x"`},
		{[]string{"jobs", "fail", "42"}, 1, "job 42 does not exist"},
		{[]string{"serve", "--retention", "forever"}, 2, "--retention"},
		{[]string{"serve", "--retention-logs-only"}, 2, "needs --retention AGE"},
		{[]string{"serve", "--retention", "180d", "--retention-every", "1s"}, 2, "--retention-every 1s"},
		{[]string{"backup"}, 2, "want 1 argument"},
		{[]string{"backup", filepath.Join(dir, "b.db"), "--db", "mysql://x"}, 1, "want a postgres:// URL"},
		{[]string{"restore", filepath.Join(dir, "missing.db")}, 1, "no such file"},
	} {
		code, stdout, stderr := cli(t, dir, tc.args...)
		if code != tc.code || !strings.Contains(stdout+stderr, tc.inOutput) {
			t.Errorf("lava-server %s: exit %d, want %d with %q\nstdout: %s\nstderr: %s",
				strings.Join(tc.args, " "), code, tc.code, tc.inOutput, stdout, stderr)
		}
	}
}
