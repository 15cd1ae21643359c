package notify

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/testenv"
)

// lavaFields are the keys of LAVA 2023.01's TestJob.create_job_data
// (lava_scheduler_app/models.py), always present, then those added for
// a token, the logs dataset and the results dataset.
var (
	lavaFields = []string{"id", "status", "status_string", "state", "state_string", "health", "health_string",
		"submit_time", "start_time", "end_time", "submitter_username", "failure_comment", "priority",
		"description", "actual_device_id", "definition", "metadata"}
	lavaOptional = []string{"token", "log", "results"}
)

func sortedBodyKeys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestBodyFields(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
	j := model.Job{ID: 42, State: model.JobFinished, Health: model.JobComplete, Submitter: "ci", Priority: 50,
		Description: "kernel", Definition: "job_name: kernel\nmetadata:\n  kernel.version: '6.1'\n  build: 17\n",
		SubmitTime: start.Add(-time.Minute).Truncate(time.Second), StartTime: start, EndTime: start.Add(time.Minute), ActualDevice: "d1"}
	b := Body(j, BodyInput{})
	want := slices.Clone(lavaFields)
	slices.Sort(want)
	if got := sortedBodyKeys(b); !slices.Equal(got, want) {
		t.Errorf("minimal body keys = %v, want %v", got, want)
	}
	for k, v := range map[string]any{
		"id": int64(42), "status": 2, "status_string": "complete", "state": 5, "state_string": "Finished",
		"health": 1, "health_string": "Complete", "submit_time": "2026-01-02 03:03:05+00:00",
		"start_time": "2026-01-02 03:04:05.123456+00:00", "end_time": "2026-01-02 03:05:05.123456+00:00",
		"submitter_username": "ci", "failure_comment": nil, "priority": 50, "description": "kernel",
		"actual_device_id": "d1", "definition": j.Definition,
	} {
		if b[k] != v {
			t.Errorf("%s = %#v, want %#v", k, b[k], v)
		}
	}
	md, _ := b["metadata"].([]map[string]string)
	if len(md) != 2 || md[0]["kernel.version"] != "6.1" || md[1]["build"] != "17" {
		t.Errorf("metadata = %#v, want [{kernel.version: 6.1} {build: 17}]", b["metadata"])
	}
	full := Body(j, BodyInput{Token: "t", Log: []byte("- {}\n"), Results: map[string]string{"lava": "[]\n"}})
	want = append(slices.Clone(lavaFields), lavaOptional...)
	slices.Sort(want)
	if got := sortedBodyKeys(full); !slices.Equal(got, want) {
		t.Errorf("full body keys = %v, want %v", got, want)
	}
	// Legacy status and times of a job not started, canceled in the queue.
	q := Body(model.Job{ID: 1, State: model.JobFinished, Health: model.JobCanceled, Definition: "x: 1"}, BodyInput{})
	if q["status"] != 4 || q["status_string"] != "canceled" || q["start_time"] != "None" || q["actual_device_id"] != nil {
		t.Errorf("canceled body = %v", q)
	}
	if r := Body(model.Job{State: model.JobRunning}, BodyInput{}); r["status"] != 1 || r["status_string"] != "running" {
		t.Errorf("running body status = %v %v", r["status"], r["status_string"])
	}
}

// TestBodyFieldsAreLAVAs reads the keys LAVA's create_job_data writes from
// LAVA's own lava-server package and compares them with lavaFields.
func TestBodyFieldsAreLAVAs(t *testing.T) {
	dir := testenv.LAVADebian(t)
	src, err := os.ReadFile(filepath.Join(dir, "usr/lib/python3/dist-packages/lava_scheduler_app/models.py"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(src)
	i := strings.Index(text, "def create_job_data(")
	if i < 0 {
		t.Fatal("no create_job_data in LAVA's models.py")
	}
	text = text[i:]
	text = text[:strings.Index(text, "return data")]
	open := strings.Index(text, "data = {")
	closing := strings.Index(text[open:], "\n        }") + open
	var got []string
	for _, m := range regexp.MustCompile(`"([a-z_]+)":`).FindAllStringSubmatch(text[open:closing], -1) {
		got = append(got, m[1])
	}
	if !slices.Equal(got, lavaFields) {
		t.Errorf("LAVA's create_job_data keys = %v, the test's = %v", got, lavaFields)
	}
	var extra []string
	for _, m := range regexp.MustCompile(`data\["([a-z_]+)"\] =`).FindAllStringSubmatch(text[closing:], -1) {
		extra = append(extra, m[1])
	}
	if !slices.Equal(extra, lavaOptional) {
		t.Errorf("LAVA's optional keys = %v, the test's = %v", extra, lavaOptional)
	}
}

func TestForm(t *testing.T) {
	got := Form(map[string]any{"id": int64(3), "failure_comment": nil, "metadata": []map[string]string{{"a": "b"}},
		"results": map[string]string{"lava": "x", "0_smoke": "y"}, "status_string": "complete"})
	want := "id=3&metadata=a&results=0_smoke&results=lava&status_string=complete"
	if got != want {
		t.Errorf("Form = %s\nwant   %s", got, want)
	}
}

func TestMatches(t *testing.T) {
	for _, tc := range []struct {
		status, typ string
		state       model.JobState
		health, old model.JobHealth
		want        bool
	}{
		{"all", "", model.JobRunning, model.JobUnknown, model.JobUnknown, true},
		{"all", "", model.JobFinished, model.JobCanceled, model.JobUnknown, true},
		{"running", "", model.JobRunning, model.JobUnknown, model.JobUnknown, true},
		{"running", "", model.JobFinished, model.JobComplete, model.JobUnknown, false},
		{"finished", "", model.JobRunning, model.JobUnknown, model.JobUnknown, false},
		{"finished", "", model.JobFinished, model.JobIncomplete, model.JobUnknown, true},
		{"complete", "", model.JobFinished, model.JobComplete, model.JobUnknown, true},
		{"complete", "", model.JobFinished, model.JobIncomplete, model.JobUnknown, false},
		{"complete", "", model.JobRunning, model.JobUnknown, model.JobUnknown, false},
		{"incomplete", "", model.JobFinished, model.JobIncomplete, model.JobUnknown, true},
		{"canceled", "", model.JobFinished, model.JobCanceled, model.JobUnknown, true},
		// LAVA compares with the job's own health before the change,
		// Unknown at its end: regression and progression do not fire.
		{"incomplete", "regression", model.JobFinished, model.JobIncomplete, model.JobUnknown, false},
		{"incomplete", "regression", model.JobFinished, model.JobIncomplete, model.JobComplete, true},
		{"complete", "progression", model.JobFinished, model.JobComplete, model.JobIncomplete, true},
	} {
		s := &Spec{}
		s.Criteria.Status, s.Criteria.Type = tc.status, tc.typ
		if got := s.Matches(tc.state, tc.health, tc.old); got != tc.want {
			t.Errorf("%s/%s on %v/%v (was %v) = %v, want %v", tc.status, tc.typ, tc.state, tc.health, tc.old, got, tc.want)
		}
	}
}

func TestParseDefaults(t *testing.T) {
	s, err := Parse("notify:\n  criteria: {status: complete}\n  callback:\n    url: http://x/{ID}/{ STATUS_STRING }/{NOPE}\n")
	if err != nil {
		t.Fatal(err)
	}
	c := s.Callbacks[0]
	if c.Method != "GET" || c.Dataset != "minimal" || c.ContentType != "urlencoded" || c.Header != "" || s.Verbosity != "quiet" {
		t.Errorf("defaults = %+v verbosity %q", c, s.Verbosity)
	}
	s, _ = Parse("notify:\n  criteria: {status: complete}\n  callback: {url: u, token: t}\n")
	if s.Callbacks[0].Header != "Authorization" {
		t.Errorf("token header default = %q, want Authorization", s.Callbacks[0].Header)
	}
	j := model.Job{ID: 7, State: model.JobFinished, Health: model.JobComplete}
	if got := SubstituteURL(j, "http://x/{ID}/{ STATUS_STRING }/{NOPE}"); got != "http://x/7/complete/{NOPE}" {
		t.Errorf("SubstituteURL = %s", got)
	}
	if s, err := Parse("job_name: x\n"); s != nil || err != nil {
		t.Errorf("no notify: %v %v", s, err)
	}
}
