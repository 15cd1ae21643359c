package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

func TestSubmit(t *testing.T) {
	e := newEnv(t)
	jsonDef, _ := json.Marshal(jobBody{Definition: qemuJob})
	big := qemuJob + "# " + strings.Repeat("x", MaxJobBody) + "\n"
	tests := []struct {
		name         string
		token, ctype string
		body         string
		status       int
		code         string // error code, "" for success
		inMessage    string // substring of the error message
	}{
		{"yaml content type", e.bob, "application/yaml", qemuJob, 201, "", ""},
		{"text/yaml", e.bob, "text/yaml; charset=utf-8", qemuJob, 201, "", ""},
		{"text/plain", e.bob, "text/plain", qemuJob, 201, "", ""},
		{"no content type", e.bob, "", qemuJob, 201, "", ""},
		{"json", e.bob, "application/json", string(jsonDef), 201, "", ""},
		{"anonymous", "", "application/yaml", qemuJob, 401, "unauthorized", "needs a user"},
		{"wrong token", "lava_not-a-token", "application/yaml", qemuJob, 401, "unauthorized", "invalid API token"},
		{"empty body", e.bob, "application/yaml", "", 400, "invalid_job", "empty"},
		{"malformed yaml", e.bob, "application/yaml", "job_name: [unclosed\n", 400, "invalid_job", "invalid YAML"},
		{"invalid job", e.bob, "application/yaml", jobWith("visibility: public\n", "visibility: everyone\n"), 400, "invalid_job", "visibility"},
		{"missing device type", e.bob, "application/yaml", jobWith("device_type: qemu", "device_type: nosuch"), 400, "invalid_job", `Device type "nosuch" does not exist`},
		{"only retired devices", e.bob, "application/yaml", jobWith("device_type: qemu", "device_type: bbb"), 400, "invalid_job", "No devices of type bbb are available."},
		{"no devices", e.bob, "application/yaml", jobWith("device_type: qemu", "device_type: empty"), 400, "invalid_job", "No devices of type empty are available."},
		{"no device with tags", e.bob, "application/yaml", jobWith("priority: medium\n", "priority: medium\ntags: [usb, fast]\n"), 400, "invalid_job", "which have all of the tags 'usb, fast'"},
		{"unknown tag", e.bob, "application/yaml", jobWith("priority: medium\n", "priority: medium\ntags: [nosuchtag]\n"), 400, "invalid_job", `Device tag "nosuchtag" does not exist`},
		{"unknown group", e.bob, "application/yaml", jobWith("visibility: public\n", "visibility:\n  group: [nogroup]\n"), 400, "invalid_job", `group "nogroup" does not exist`},
		{"oversized", e.bob, "application/yaml", big, 413, "body_too_large", "limit"},
		{"oversized json", e.bob, "application/json", `{"definition": "` + strings.Repeat("x", MaxJobBody) + `"}`, 413, "body_too_large", "limit"},
		{"unknown json field", e.bob, "application/json", `{"definition": "x", "priority": 3}`, 400, "unknown_field", `"priority"`},
		{"malformed json", e.bob, "application/json", `{"definition": `, 400, "invalid_json", "JSON"},
		{"json wrong type", e.bob, "application/json", `{"definition": 3}`, 400, "invalid_json", `"definition"`},
		{"trailing json", e.bob, "application/json", string(jsonDef) + `{}`, 400, "invalid_json", "after"},
		{"unsupported type", e.bob, "image/png", qemuJob, 415, "unsupported_media_type", "image/png"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.jobCount()
			r := e.do("POST", "/api/v1/jobs", tt.token, tt.ctype, tt.body)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			after := e.jobCount()
			if tt.code == "" {
				var res SubmitResult
				r.decode(t, &res)
				if res.ID == 0 || after != before+1 {
					t.Fatalf("id %d, jobs %d -> %d", res.ID, before, after)
				}
				j, err := e.st.Job(context.Background(), store.System(), res.ID)
				must(t, err)
				if j.Definition != qemuJob || j.Submitter != "bob" || j.RequestedDeviceType != "qemu" || j.State != model.JobSubmitted {
					t.Errorf("stored job %+v", j)
				}
				return
			}
			got := r.errorOf(t)
			if got.Code != tt.code || !strings.Contains(got.Message, tt.inMessage) {
				t.Errorf("error %+v, want code %q and message with %q", got, tt.code, tt.inMessage)
			}
			if after != before {
				t.Errorf("a refused submission stored a job: %d -> %d", before, after)
			}
		})
	}
}

func TestSubmitListsEveryError(t *testing.T) {
	e := newEnv(t)
	def := strings.Replace(jobWith("visibility: public\n", "visibility: everyone\n"), "priority: medium", "priority: urgent", 1)
	r := e.do("POST", "/api/v1/jobs", e.bob, "application/yaml", def)
	if r.status != 400 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var b struct {
		Error struct {
			Code    string      `json:"code"`
			Details []job.Issue `json:"details"`
		} `json:"error"`
	}
	r.decode(t, &b)
	paths := map[string]job.Issue{}
	for _, d := range b.Error.Details {
		paths[d.Path] = d
	}
	for _, p := range []string{"visibility", "priority"} {
		if d, ok := paths[p]; !ok || d.Line == 0 || d.Message == "" {
			t.Errorf("details %+v lack %s with a line", b.Error.Details, p)
		}
	}
}

func TestSubmitWarningsAndMultinode(t *testing.T) {
	e := newEnv(t)
	r := e.do("POST", "/api/v1/jobs", e.bob, "application/yaml", jobWith("priority: medium\n", "priority: medium\ncontext:\n  not_a_lava_variable: 1\n"))
	if r.status != 201 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var res SubmitResult
	r.decode(t, &res)
	if len(res.Warnings) == 0 || res.Warnings[0].Path != "context.not_a_lava_variable" {
		t.Errorf("warnings %+v", res.Warnings)
	}
	if r := e.do("POST", "/api/v1/jobs", e.bob, "application/yaml", qemuJob); strings.Contains(string(r.body), "warnings") {
		t.Errorf("a clean job answered warnings: %s", r.body)
	}

	r = e.do("POST", "/api/v1/jobs", e.bob, "application/yaml", multinodeJob)
	if r.status != 201 {
		t.Fatalf("multinode: status %d: %s", r.status, r.body)
	}
	res = SubmitResult{}
	r.decode(t, &res)
	if len(res.IDs) != 2 || res.ID != 0 {
		t.Fatalf("multinode answer %s", r.body)
	}
	for i, id := range res.IDs {
		j, err := e.st.Job(context.Background(), store.System(), id)
		must(t, err)
		if j.TargetGroup == "" || j.SubID != fmt.Sprintf("%d.%d", res.IDs[0], i) {
			t.Errorf("sub-job %d: %+v", i, j)
		}
	}
	// Each role's device type is checked.
	before := e.jobCount()
	r = e.do("POST", "/api/v1/jobs", e.bob, "application/yaml", strings.Replace(multinodeJob, "      client:\n        device_type: qemu", "      client:\n        device_type: bbb", 1))
	if got := r.errorOf(t); r.status != 400 || !strings.Contains(got.Message, `role "client": No devices of type bbb`) {
		t.Errorf("status %d %+v", r.status, got)
	}
	// Two devices of qemu exist, three are needed.
	r = e.do("POST", "/api/v1/jobs", e.bob, "application/yaml", strings.Replace(multinodeJob, "count: 1", "count: 2", 1))
	if got := r.errorOf(t); r.status != 400 || !strings.Contains(got.Message, "Not enough devices") {
		t.Errorf("status %d %+v", r.status, got)
	}
	if e.jobCount() != before {
		t.Error("refused multinode jobs were stored")
	}
}

func TestValidate(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name, ctype, body string
		valid             bool
		errPath           string
	}{
		{"valid", "application/yaml", qemuJob, true, ""},
		{"valid json", "application/json", `{"definition": ` + mustJSON(qemuJob) + `}`, true, ""},
		{"invalid", "application/yaml", jobWith("visibility: public\n", "visibility: everyone\n"), false, "visibility"},
		{"missing type", "application/yaml", jobWith("device_type: qemu", "device_type: nosuch"), false, "device_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.jobCount()
			r := e.do("POST", "/api/v1/jobs/validate", "", tt.ctype, tt.body)
			if r.status != 200 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			var v ValidateResult
			r.decode(t, &v)
			if v.Valid != tt.valid || v.Errors == nil || v.Warnings == nil {
				t.Fatalf("answer %s", r.body)
			}
			if tt.errPath != "" && v.Errors[0].Path != tt.errPath {
				t.Errorf("errors %+v, want path %s", v.Errors, tt.errPath)
			}
			if e.jobCount() != before {
				t.Error("validate stored a job")
			}
		})
	}
}

func mustJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestListJobs(t *testing.T) {
	e := newEnv(t)
	id1 := e.submit(e.bob, qemuJob)
	id2 := e.submit(e.carol, strings.Replace(jobWith("job_name: api test qemu", "job_name: Second ONE"),
		"visibility: public\n", "visibility: public\nmetadata:\n  kernel.version: '6.1'\n  build: 42\n", 1))
	ctx := context.Background()
	_, err := e.st.CancelJob(ctx, id1)
	must(t, err)
	tooMany := ""
	for i := range maxMetadataFilters + 1 {
		tooMany += fmt.Sprintf("&metadata.k%d=v", i)
	}
	tests := []struct {
		query  string
		status int
		ids    []int64
		param  string
	}{
		{"", 200, []int64{id2, id1}, ""},
		{"?state=submitted", 200, []int64{id2}, ""},
		{"?state=FINISHED,Running", 200, []int64{id1}, ""},
		{"?health=canceled", 200, []int64{id1}, ""},
		{"?submitter=carol", 200, []int64{id2}, ""},
		{"?q=second", 200, []int64{id2}, ""},
		{"?device_type=qemu&limit=1", 200, []int64{id2}, ""},
		{"?limit=1&offset=1", 200, []int64{id1}, ""},
		{"?device_type=bbb", 200, []int64{}, ""},
		{"?state=bogus", 400, nil, "state"},
		{"?health=submitted", 400, nil, "health"},
		{"?limit=0", 400, nil, "limit"},
		{"?limit=abc", 400, nil, "limit"},
		{"?offset=-1", 400, nil, "offset"},
		{"?health_check=maybe", 400, nil, "health_check"},
		{"?metadata.kernel.version=6.1", 200, []int64{id2}, ""},
		{"?metadata.kernel.version=6.1&metadata.build=42&submitter=carol", 200, []int64{id2}, ""},
		{"?metadata.kernel.version=6.1&metadata.build=43", 200, []int64{}, ""},
		{"?metadata.kernel.version=6", 200, []int64{}, ""},
		{"?metadata.=x", 400, nil, "metadata."},
		{"?metadata.build=42&metadata.build=43", 400, nil, "metadata.build"},
		{"?q=x" + tooMany, 400, nil, "metadata"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := e.do("GET", "/api/v1/jobs"+tt.query, "", "", "")
			if r.status != tt.status {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			if tt.param != "" {
				got := r.errorOf(t)
				if got.Code != "invalid_parameter" || !strings.Contains(got.Message, `"`+tt.param+`"`) {
					t.Errorf("error %+v does not name %s", got, tt.param)
				}
				return
			}
			var p Page[JobView]
			r.decode(t, &p)
			var ids []int64
			for _, j := range p.Results {
				ids = append(ids, j.ID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(tt.ids) && !(len(ids) == 0 && len(tt.ids) == 0) {
				t.Errorf("ids %v, want %v", ids, tt.ids)
			}
		})
	}
}

func TestShowJobMetadata(t *testing.T) {
	e := newEnv(t)
	with := e.submit(e.bob, strings.Replace(qemuJob, "visibility: public\n", "visibility: public\nmetadata:\n  kernel.version: '6.1'\n  build: 1.10\n", 1))
	without := e.submit(e.bob, qemuJob)
	for id, want := range map[int64]string{with: `{"build":"1.10","kernel.version":"6.1"}`, without: `{}`} {
		r := e.do("GET", fmt.Sprintf("/api/v1/jobs/%d", id), "", "", "")
		var raw map[string]json.RawMessage
		r.decode(t, &raw)
		if r.status != 200 || string(raw["metadata"]) != want {
			t.Errorf("job %d: %d metadata %s, want %s", id, r.status, raw["metadata"], want)
		}
	}
}

func TestShowJobTimestamps(t *testing.T) {
	e := newEnv(t)
	id := e.submit(e.bob, qemuJob)
	r := e.do("GET", fmt.Sprintf("/api/v1/jobs/%d", id), "", "", "")
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	var raw map[string]any
	r.decode(t, &raw)
	st, _ := raw["submit_time"].(string)
	tm, err := time.Parse(time.RFC3339, st)
	if err != nil || !strings.HasSuffix(st, "Z") || time.Since(tm) > time.Hour {
		t.Errorf("submit_time %q: %v", st, err)
	}
	if raw["start_time"] != nil || raw["state"] != "Submitted" || raw["health"] != "Unknown" || raw["submitter"] != "bob" {
		t.Errorf("job %s", r.body)
	}
	for _, p := range []string{"/api/v1/jobs/abc", "/api/v1/jobs/0"} {
		if r := e.do("GET", p, "", "", ""); r.status != 400 || r.errorOf(t).Code != "invalid_parameter" {
			t.Errorf("%s: %d %s", p, r.status, r.body)
		}
	}
	if r := e.do("GET", "/api/v1/jobs/99999", "", "", ""); r.status != 404 || r.errorOf(t).Code != "not_found" {
		t.Errorf("missing job: %d %s", r.status, r.body)
	}
	r = e.do("GET", fmt.Sprintf("/api/v1/jobs/%d/definition", id), "", "", "")
	if r.status != 200 || string(r.body) != qemuJob || !strings.HasPrefix(r.header.Get("Content-Type"), "application/yaml") {
		t.Errorf("definition: %d %q %q", r.status, r.header.Get("Content-Type"), r.body)
	}
}

func TestVisibility(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	must(t, e.st.AddGroupMember(ctx, "team", "bob"))
	personal := e.submit(e.bob, jobWith("visibility: public\n", "visibility: personal\n"))
	group := e.submit(e.bob, jobWith("visibility: public\n", "visibility:\n  group: [team]\n"))
	public := e.submit(e.bob, qemuJob)
	for _, id := range []int64{personal, group} {
		_, err := e.st.AppendLogs(ctx, id, 0, []model.LogRecord{{Time: time.Now(), Level: "info", Message: "secret log"}})
		must(t, err)
		must(t, e.st.AddTestCases(ctx, id, []model.TestCase{{Suite: "lava", Name: "secret-case", Result: model.ResultPass}}))
	}
	who := []struct {
		name, token string
		sees        map[int64]bool
	}{
		{"anonymous", "", map[int64]bool{public: true}},
		{"dave", e.dave, map[int64]bool{public: true}},
		{"carol (team)", e.carol, map[int64]bool{public: true, group: true}},
		{"bob (submitter)", e.bob, map[int64]bool{public: true, group: true, personal: true}},
		{"admin", e.admin, map[int64]bool{public: true, group: true, personal: true}},
	}
	for _, w := range who {
		t.Run(w.name, func(t *testing.T) {
			for _, id := range []int64{personal, group, public} {
				for _, sub := range []string{"", "/definition", "/logs", "/results"} {
					r := e.do("GET", fmt.Sprintf("/api/v1/jobs/%d%s", id, sub), w.token, "", "")
					want := 404
					if w.sees[id] {
						want = 200
					}
					if r.status != want {
						t.Errorf("job %d%s: status %d, want %d: %s", id, sub, r.status, want, r.body)
					}
					if want == 404 && (r.errorOf(t).Code != "not_found" || strings.Contains(string(r.body), "secret")) {
						t.Errorf("job %d%s: hidden job leaks: %s", id, sub, r.body)
					}
				}
				// Cancel and resubmit do not reveal hidden jobs either.
				if !w.sees[id] && w.token != "" {
					for _, act := range []string{"cancel", "resubmit"} {
						if r := e.do("POST", fmt.Sprintf("/api/v1/jobs/%d/%s", id, act), w.token, "", ""); r.status != 404 {
							t.Errorf("%s job %d: %d %s", act, id, r.status, r.body)
						}
					}
				}
			}
			r := e.do("GET", "/api/v1/jobs", w.token, "", "")
			var p Page[JobView]
			r.decode(t, &p)
			if p.Count != len(w.sees) || len(p.Results) != len(w.sees) {
				t.Fatalf("list: count %d, %d results, want %d", p.Count, len(p.Results), len(w.sees))
			}
			for _, j := range p.Results {
				if !w.sees[j.ID] {
					t.Errorf("list shows job %d", j.ID)
				}
			}
		})
	}
	if n := e.jobCount(); n != 3 {
		t.Errorf("%d jobs after the visibility checks, want 3", n)
	}
}

func TestCancelResubmit(t *testing.T) {
	e := newEnv(t)
	id := e.submit(e.bob, qemuJob)
	path := fmt.Sprintf("/api/v1/jobs/%d", id)
	if r := e.do("POST", path+"/cancel", "", "", ""); r.status != 401 {
		t.Errorf("anonymous cancel: %d", r.status)
	}
	if r := e.do("POST", path+"/cancel", e.carol, "", ""); r.status != 403 || r.errorOf(t).Code != "forbidden" {
		t.Errorf("someone else's cancel: %d %s", r.status, r.body)
	}
	j, _ := e.st.Job(context.Background(), store.System(), id)
	if j.State != model.JobSubmitted {
		t.Fatalf("a refused cancel changed the job: %v", j.State)
	}
	r := e.do("POST", path+"/cancel", e.bob, "", "")
	var v JobView
	r.decode(t, &v)
	if r.status != 200 || v.State != "Finished" || v.Health != "Canceled" {
		t.Errorf("cancel: %d %s", r.status, r.body)
	}
	if r := e.do("POST", path+"/cancel", e.admin, "", ""); r.status != 409 || r.errorOf(t).Code != "conflict" {
		t.Errorf("second cancel: %d %s", r.status, r.body)
	}
	// Resubmitting is for the submitter or an admin (as LAVA).
	if r := e.do("POST", path+"/resubmit", e.carol, "", ""); r.status != 403 || r.errorOf(t).Code != "forbidden" {
		t.Errorf("resubmit by another user: %d %s", r.status, r.body)
	}
	r = e.do("POST", path+"/resubmit", e.bob, "", "")
	var res SubmitResult
	r.decode(t, &res)
	if r.status != 201 || res.ID <= id {
		t.Fatalf("resubmit: %d %s", r.status, r.body)
	}
	nj, _ := e.st.Job(context.Background(), store.System(), res.ID)
	if nj.Submitter != "bob" || nj.Definition != qemuJob || nj.State != model.JobSubmitted {
		t.Errorf("resubmitted job %+v", nj)
	}
}

func TestLogsAndResults(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := e.submit(e.bob, qemuJob)
	t0 := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	var recs []model.LogRecord
	for i := range 5 {
		recs = append(recs, model.LogRecord{Time: t0.Add(time.Duration(i) * time.Second), Level: "info", Message: fmt.Sprintf("line %d", i)})
	}
	recs = append(recs, model.LogRecord{Time: t0, Level: "results", Message: `{"case":"x","result":"pass"}`, Structured: true})
	_, err := e.st.AppendLogs(ctx, id, 0, recs)
	must(t, err)
	r := e.do("GET", fmt.Sprintf("/api/v1/jobs/%d/logs?start=1&limit=2", id), "", "", "")
	var lr LogsResult
	r.decode(t, &lr)
	if r.status != 200 || lr.Total != 6 || lr.Next != 3 || len(lr.Records) != 2 || lr.Records[0].Msg != "line 1" || lr.Records[0].Time != "2024-05-06T07:08:10Z" {
		t.Errorf("logs: %d %s", r.status, r.body)
	}
	r = e.do("GET", fmt.Sprintf("/api/v1/jobs/%d/logs?start=5", id), "", "", "")
	if !strings.Contains(string(r.body), `"msg":{"case":"x","result":"pass"}`) {
		t.Errorf("structured record: %s", r.body)
	}
	if r := e.do("GET", fmt.Sprintf("/api/v1/jobs/%d/logs?limit=100000", id), "", "", ""); r.status != 400 {
		t.Errorf("huge limit: %d", r.status)
	}
	m := 3.5
	must(t, e.st.AddTestCases(ctx, id, []model.TestCase{
		{Suite: "lava", Name: "job", Result: model.ResultPass},
		{Suite: "0_smoke", Name: "uname", Result: model.ResultFail, Measurement: &m, Units: "s"},
	}))
	r = e.do("GET", fmt.Sprintf("/api/v1/jobs/%d/results", id), "", "", "")
	var rr ResultsResult
	r.decode(t, &rr)
	if r.status != 200 || fmt.Sprint(rr.Suites) != "[lava 0_smoke]" || len(rr.Cases) != 2 || rr.Cases[1].Result != "fail" || *rr.Cases[1].Measurement != 3.5 {
		t.Errorf("results: %d %s", r.status, r.body)
	}
	r = e.do("GET", fmt.Sprintf("/api/v1/jobs/%d/results?suite=lava", id), "", "", "")
	rr = ResultsResult{}
	r.decode(t, &rr)
	if len(rr.Cases) != 1 || rr.Cases[0].Name != "job" {
		t.Errorf("results of one suite: %s", r.body)
	}
}

func TestJobsCRLFAndMethod(t *testing.T) {
	e := newEnv(t)
	if r := e.do("DELETE", "/api/v1/jobs", e.admin, "", ""); r.status != http.StatusMethodNotAllowed || r.errorOf(t).Code != "method_not_allowed" {
		t.Errorf("DELETE /jobs: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/api/v1/nothing", "", "", ""); r.status != 404 || r.errorOf(t).Code != "not_found" {
		t.Errorf("unknown route: %d %s", r.status, r.body)
	}
	if r := e.do("GET", "/nothing", "", "", ""); r.status != 404 || r.errorOf(t).Code != "not_found" {
		t.Errorf("unknown root route: %d %s", r.status, r.body)
	}
}
