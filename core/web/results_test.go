package web

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/model"
)

// The job page's results table: measurements as LAVA shows them, a
// running job's results read from its log, and the log's record count
// without a dangling separator.
func TestJobPageResults(t *testing.T) {
	t.Run("running job: the results records of the log", func(t *testing.T) {
		e := newEnv(t, newDrivers())
		j := e.running("bob", "live results", "public")
		e.appendLogs(j.ID, 0, "info|start: 1 lava-test-shell",
			`results|{"definition": "0_smoke", "case": "size", "result": "pass", "measurement": 81245312, "units": "bytes"}`,
			`results|{"definition": "0_smoke", "case": "ratio", "result": "fail", "measurement": "0.125", "set": "s1"}`,
			`results|{"definition": "0_smoke", "case": "bogus", "result": "maybe"}`,
			"target|still running")
		body := e.client().get(fmt.Sprintf("/jobs/%d", j.ID)).body
		for _, want := range []string{`id="results-live"`, "<td>size</td>", "<td>81245312</td>", "<td>bytes</td>",
			"ratio", "(s1)", "<td>0.125</td>", `class="st-fail"`} {
			if !strings.Contains(body, want) {
				t.Errorf("page lacks %q", want)
			}
		}
		for _, bad := range []string{"No results yet.", "8.1245312e+07", "bogus</td>", "results.csv"} {
			if strings.Contains(body, bad) {
				t.Errorf("page shows %q", bad)
			}
		}
	})
	t.Run("running job without results yet", func(t *testing.T) {
		e := newEnv(t, newDrivers())
		j := e.running("bob", "no results", "public")
		e.appendLogs(j.ID, 0, "info|start: 1 lava-test-shell")
		body := e.client().get(fmt.Sprintf("/jobs/%d", j.ID)).body
		// The script fills the (hidden) table from the stream.
		for _, want := range []string{`<p id="no-results" class="muted">No results yet.</p>`, `<div class="scroll" id="results-wrap" hidden>`, `id="results-live"`} {
			if !strings.Contains(body, want) {
				t.Errorf("page lacks %q", want)
			}
		}
	})
	t.Run("stored cases", func(t *testing.T) {
		e := newEnv(t, newDrivers())
		j := e.running("bob", "stored", "public")
		e.appendLogs(j.ID, 0, "info|start: 1 lava-test-shell")
		m, small := 81245312.0, 0.000125
		must(t, e.st.AddTestCases(context.Background(), j.ID, []model.TestCase{
			{Suite: "0_smoke", Name: "size", Result: model.ResultPass, Measurement: &m, Units: "bytes"},
			{Suite: "0_smoke", Name: "tiny", Result: model.ResultPass, Measurement: &small},
			{Suite: "0_smoke", Name: "none", Result: model.ResultSkip}}))
		body := e.client().get(fmt.Sprintf("/jobs/%d", j.ID)).body
		for _, want := range []string{"<td>81245312</td>", "<td>0.000125</td>", "results.csv"} {
			if !strings.Contains(body, want) {
				t.Errorf("page lacks %q", want)
			}
		}
		for _, bad := range []string{"e+07", "e-04", "No results yet.", `id="results-live"`} {
			if strings.Contains(body, bad) {
				t.Errorf("page shows %q", bad)
			}
		}
		// No error in the log: the jump link and its separator are hidden
		// together; the status (live) brings its own separator (CSS).
		if !strings.Contains(body, `records<span id="jump-error" hidden> · <a href="#first-error">`) {
			t.Errorf("record count line: %s", between(body, "records", "</p>"))
		}
		if strings.Contains(body, "records · ") {
			t.Error("a separator follows the record count outside the hidden link")
		}
	})
}

func between(s, from, to string) string {
	i := strings.Index(s, from)
	if i < 0 {
		return ""
	}
	s = s[i:]
	if j := strings.Index(s, to); j >= 0 {
		return s[:j]
	}
	return s
}

func TestMeasurement(t *testing.T) {
	for _, tc := range []struct {
		m    float64
		want string
	}{{81245312, "81245312"}, {3.25, "3.25"}, {-150, "-150"}, {0.000125, "0.000125"}, {1e21, "1000000000000000000000"}, {0, "0"}} {
		if got := measurement(&tc.m); got != tc.want {
			t.Errorf("measurement(%v) = %q, want %q", tc.m, got, tc.want)
		}
	}
	if got := measurement(nil); got != "" {
		t.Errorf("measurement(nil) = %q", got)
	}
}
