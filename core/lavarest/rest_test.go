package lavarest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/lavalab/lavalab/core/auth"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store/sqlite"
)

const qemuJob = `device_type: qemu
job_name: smoke
timeouts:
  job:
    minutes: 10
priority: medium
visibility: public
actions:
- boot:
    method: qemu
    media: tmpfs
    prompts: ['root@debian:~#']
`

func TestREST(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "lava.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tokens := map[string]string{}
	for _, u := range []string{"admin", "bob", "eve"} {
		if _, err := st.CreateUser(ctx, model.User{Username: u, IsAdmin: u == "admin"}); err != nil {
			t.Fatal(err)
		}
		secret, hash := auth.NewToken()
		if _, err := st.CreateToken(ctx, u, "t", hash); err != nil {
			t.Fatal(err)
		}
		tokens[u] = secret
	}
	if err := st.CreateWorker(ctx, model.Worker{Hostname: "w1"}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateDeviceType(ctx, model.DeviceType{Name: "qemu", Display: true}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateDevice(ctx, model.Device{Hostname: "qemu-01", DeviceType: "qemu", Worker: "w1", Dictionary: "{% extends 'qemu.jinja2' %}\n"}); err != nil {
		t.Fatal(err)
	}
	jobs, err := st.CreateJobs(ctx, []model.Job{{Description: "mine", Definition: qemuJob, Visibility: model.VisibilityPersonal, RequestedDeviceType: "qemu", Submitter: "bob"}})
	if err != nil {
		t.Fatal(err)
	}
	priv := strconv.FormatInt(jobs[0].ID, 10)
	// A job of admin's visible to group lab, whose member eve sees it.
	if err := st.CreateGroup(ctx, "lab"); err != nil {
		t.Fatal(err)
	}
	if err := st.AddGroupMember(ctx, "lab", "eve"); err != nil {
		t.Fatal(err)
	}
	labJobs, err := st.CreateJobs(ctx, []model.Job{{Description: "lab", Definition: qemuJob, Visibility: model.VisibilityGroup, ViewingGroups: []string{"lab"}, RequestedDeviceType: "qemu", Submitter: "admin",
		Metadata: map[string]string{"kernel.version": "6.1", "build": "42"}}})
	if err != nil {
		t.Fatal(err)
	}
	lab := strconv.FormatInt(labJobs[0].ID, 10)
	at := time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC)
	if _, err := st.AppendLogs(ctx, jobs[0].ID, 0, []model.LogRecord{{Index: 0, Time: at, Level: "info", Message: "hello"}}); err != nil {
		t.Fatal(err)
	}
	if err := st.AddTestCases(ctx, jobs[0].ID, []model.TestCase{{Suite: "lava", Name: "job", Result: model.ResultPass, Logged: at}}); err != nil {
		t.Fatal(err)
	}
	r := chi.NewRouter()
	New(Options{Store: st}).Mount(r)
	hs := httptest.NewServer(r)
	defer hs.Close()

	tests := []struct {
		name, user, method, path, ctype, body string
		code                                  int
		want                                  string
	}{
		{"version", "", "GET", "/system/version/", "", "", 200, `{"version":"2023.01"}`},
		{"whoami anon", "", "GET", "/system/whoami/", "", "", 200, `{"user":""}`},
		{"whoami bob", "bob", "GET", "/system/whoami/", "", "", 200, `{"user":"bob"}`},
		{"bad token", "nobody", "GET", "/system/whoami/", "", "", 401, `"detail":"Invalid token."`},
		{"jobs anon hides personal", "", "GET", "/jobs/", "", "", 200, `"count":0`},
		{"jobs bob", "bob", "GET", "/jobs/?limit=1", "", "", 200, `"count":1,"next":null,"previous":null,"results":[{`},
		{"job hidden anon", "", "GET", "/jobs/" + priv + "/", "", "", 404, `{"detail":"Not found."}`},
		{"logs hidden anon", "", "GET", "/jobs/" + priv + "/logs/", "", "", 404, `{"detail":"Not found."}`},
		{"job bob", "bob", "GET", "/jobs/" + priv + "/", "", "", 200, `"state":"Submitted"`},
		{"logs", "bob", "GET", "/jobs/" + priv + "/logs/", "", "", 200, `- {"dt": "2023-01-02T03:04:05.000000", "lvl": "info", "msg": "hello"}`},
		{"yaml", "bob", "GET", "/jobs/" + priv + "/yaml/", "", "", 200, "name: job"},
		{"csv", "bob", "GET", "/jobs/" + priv + "/csv/", "", "", 200, `"job","suite","result"`},
		{"junit", "bob", "GET", "/jobs/" + priv + "/junit/", "", "", 200, "<testsuite"},
		{"tap13", "bob", "GET", "/jobs/" + priv + "/tap13/", "", "", 200, "TAP version 13"},
		{"suites", "bob", "GET", "/jobs/" + priv + "/suites/", "", "", 200, `"name":"lava"`},
		{"tests", "bob", "GET", "/jobs/" + priv + "/tests/", "", "", 200, `"result":"pass"`},
		{"suite yaml", "bob", "GET", "/jobs/" + priv + "/suites/lava/yaml/", "", "", 200, "suite: lava"},
		{"submit anon", "", "POST", "/jobs/", "application/json", `{"definition": "x"}`, 401, "Authentication credentials were not provided."},
		{"submit", "bob", "POST", "/jobs/", "application/json", mustJSON(map[string]string{"definition": qemuJob}), 201, `"job_ids":[`},
		{"submit form", "bob", "POST", "/jobs/", "application/x-www-form-urlencoded", url.Values{"definition": {qemuJob}}.Encode(), 201, `"message":"job(s) successfully submitted"`},
		{"submit invalid", "bob", "POST", "/jobs/", "application/json", `{"definition": "job_name: x"}`, 400, "Problem with submitted job data"},
		{"validate ok", "", "POST", "/jobs/validate/", "application/json", mustJSON(map[string]string{"definition": qemuJob}), 200, `{"message":"Job valid."}`},
		{"validate bad", "", "POST", "/jobs/validate/", "application/json", `{"definition": "job_name: x"}`, 200, `"message":"Job invalid: `},
		{"cancel other", "admin", "GET", "/jobs/" + priv + "/cancel/", "", "", 200, `{"message":"Job cancel signal sent."}`},
		{"resubmit", "bob", "POST", "/jobs/" + priv + "/resubmit/", "", "", 201, `"job_ids":[`},
		{"group member sees", "eve", "GET", "/jobs/" + lab + "/", "", "", 200, `"description":"lab"`},
		{"metadata none", "bob", "GET", "/jobs/" + priv + "/metadata/", "", "", 200, `{"metadata":[]}`},
		{"metadata", "eve", "GET", "/jobs/" + lab + "/metadata/", "", "", 200, `{"metadata":[{"build":"42"},{"kernel.version":"6.1"}]}`},
		{"metadata hidden", "bob", "GET", "/jobs/" + lab + "/metadata/", "", "", 404, `{"detail":"Not found."}`},
		{"resubmit group member", "eve", "POST", "/jobs/" + lab + "/resubmit/", "", "", 403, "permission"},
		{"resubmit admin", "admin", "POST", "/jobs/" + lab + "/resubmit/", "", "", 201, `"job_ids":[`},
		{"submit group not member", "bob", "POST", "/jobs/", "application/json", mustJSON(map[string]string{"definition": strings.Replace(qemuJob, "visibility: public", "visibility:\n  group: [lab]", 1)}), 400, "not a member of group"},
		{"submit oversized", "bob", "POST", "/jobs/", "application/yaml", strings.Repeat("x", MaxBody+1), 413, "too large"},
		{"devices", "", "GET", "/devices/", "", "", 200, `"hostname":"qemu-01"`},
		{"device 404", "", "GET", "/devices/nope/", "", "", 404, `{"detail":"Not found."}`},
		{"dictionary anonymous", "", "GET", "/devices/qemu-01/dictionary/", "", "", 401, "credentials"},
		{"dictionary bob", "bob", "GET", "/devices/qemu-01/dictionary/?render=true", "", "", 403, "permission"},
		{"dictionary", "admin", "GET", "/devices/qemu-01/dictionary/", "", "", 200, "{% extends 'qemu.jinja2' %}"},
		{"set dictionary bob", "bob", "POST", "/devices/qemu-01/dictionary/", "text/plain", "x", 403, "permission"},
		{"set dictionary", "admin", "POST", "/devices/qemu-01/dictionary/", "application/x-www-form-urlencoded", url.Values{"dictionary": {"extends: qemu\n"}}.Encode(), 200, "updated"},
		{"devicetypes", "", "GET", "/devicetypes/", "", "", 200, `"name":"qemu"`},
		{"template", "", "GET", "/devicetypes/qemu/template/", "", "", 200, "{}"},
		{"workers", "", "GET", "/workers/", "", "", 200, `"hostname":"w1"`},
		{"tags", "", "GET", "/tags/", "", "", 200, `"results":[]`},
		{"bad limit", "", "GET", "/jobs/?limit=x", "", "", 400, "limit"},
		{"no slash", "", "GET", "/system/version", "", "", 200, `"version"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, hs.URL+"/api/v0.2"+tc.path, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			if tc.user == "nobody" {
				req.Header.Set("Authorization", "Token lava_nope")
			} else if tc.user != "" {
				req.Header.Set("Authorization", "Token "+tokens[tc.user])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.code || !strings.Contains(string(b), tc.want) {
				t.Errorf("%s %s: %d %s, want %d containing %q", tc.method, tc.path, resp.StatusCode, b, tc.code, tc.want)
			}
		})
	}

	// Bad input anywhere: odd ids, names, paging and bodies get 4xx (or
	// a result), never a 500.
	odd := []string{"abc", "-1", "0", "99999999999999999999", "1.5", "%00", "%FF%FE", "..%2F..", priv}
	paths := []string{"/jobs/%s/", "/jobs/%s/logs/?start=%[1]s&end=%[1]s", "/jobs/%s/yaml/", "/jobs/%s/csv/", "/jobs/%s/junit/",
		"/jobs/%s/tap13/", "/jobs/%s/suites/", "/jobs/%s/tests/", "/jobs/%s/metadata/", "/jobs/%s/suites/%[1]s/tests/",
		"/jobs/%s/suites/%[1]s/yaml/", "/jobs/%s/suites/%[1]s/csv/", "/jobs/%s/cancel/", "/jobs/%s/resubmit/",
		"/devices/%s/", "/devices/%s/dictionary/?render=%[1]s", "/devicetypes/%s/", "/devicetypes/%s/template/",
		"/devicetypes/%s/health-check/", "/workers/%s/", "/tags/%s/", "/jobs/?limit=%s&offset=%[1]s", "/devices/?limit=%s",
		"/jobs/validate/", "/jobs/"}
	bodies := []struct{ ctype, body string }{{"", ""}, {"application/json", "{"}, {"application/json", `{"definition": 5}`},
		{"application/json", "[]"}, {"application/x-www-form-urlencoded", "definition=%ZZ"}, {"application/yaml", "\x00\xff: ["}}
	n := 0
	for _, p := range paths {
		for _, id := range odd {
			for _, method := range []string{"GET", "POST"} {
				for _, b := range bodies {
					if method == "GET" && b.body != "" {
						continue
					}
					for _, user := range []string{"", "admin"} {
						path := p
						if strings.Contains(p, "%") {
							path = fmt.Sprintf(p, id)
						}
						req, err := http.NewRequest(method, hs.URL+"/api/v0.2"+path, strings.NewReader(b.body))
						if err != nil {
							continue // not a URL a client could send
						}
						if b.ctype != "" {
							req.Header.Set("Content-Type", b.ctype)
						}
						if user != "" {
							req.Header.Set("Authorization", "Token "+tokens[user])
						}
						resp, err := http.DefaultClient.Do(req)
						if err != nil {
							t.Fatal(err)
						}
						body, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						n++
						if resp.StatusCode >= 500 {
							t.Errorf("%s %s (%s %q) as %q: %d %s", method, req.URL.Path, b.ctype, b.body, user, resp.StatusCode, body)
						}
					}
				}
			}
		}
	}
	t.Logf("%d odd requests", n)
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
