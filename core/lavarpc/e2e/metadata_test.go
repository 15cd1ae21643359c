package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// httpDo sends a request to the lab's server with the token (none: "";
// admin's on /RPC2) and returns the status and body.
func (l *lab) httpDo(t *testing.T, method, path, token, ctype, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, l.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case token != "" && path == "/RPC2":
		req.SetBasicAuth("admin", token) // XML-RPC: user and token, as lavacli sends them
	case token != "":
		req.Header.Set("Authorization", "Token "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, string(b)
}

// TestJobMetadataRoundTrip submits jobs with metadata through each API
// (XML-RPC with lavacli, REST v0.2, /api/v1) and reads the metadata back
// through each (/api/v1/jobs/{id}, REST v0.2 metadata/, XML-RPC jobs.show
// with lavacli and results.get_testjob_metadata), filters job lists on it
// and finds it on the job's page, against a real lava-server.
func TestJobMetadataRoundTrip(t *testing.T) {
	l := startLab(t)
	base := strings.Replace(mustRead(t, corpusJob(t, "valid/qemu-tmpfs-smoke.yaml")),
		"metadata:\n  source: lavalab testdata\n  suite: smoke\n", "", 1)
	if strings.Contains(base, "metadata:\n  source") {
		t.Fatal("the corpus job's metadata was not replaced")
	}
	def := func(via, visibility string) string {
		d := strings.Replace(base, "visibility: public\n", "visibility: "+visibility+"\n", 1)
		return d + "metadata:\n  kernel.version: \"6.1\"\n  kernel.tree: mainline\n  build: 1.10\n  submitted.via: " + via + "\n  note: \"a <b> & c\"\n"
	}
	want := func(via string) map[string]string {
		return map[string]string{"kernel.version": "6.1", "kernel.tree": "mainline", "build": "1.10", "submitted.via": via, "note": "a <b> & c"}
	}

	ids := map[string]int64{}
	// XML-RPC, with lavacli.
	f := writeFile(t, t.TempDir(), "job.yaml", def("xmlrpc", "public"))
	out := l.expect(0, nil, "jobs", "submit", f)
	id, err := strconv.ParseInt(strings.TrimSpace(out), 10, 64)
	if err != nil {
		t.Fatalf("jobs submit printed %q", out)
	}
	ids["xmlrpc"] = id
	// REST v0.2.
	body, _ := json.Marshal(map[string]string{"definition": def("rest", "public")})
	code, resp := l.httpDo(t, "POST", "/api/v0.2/jobs/", l.adminTok, "application/json", string(body))
	var rest struct {
		JobIDs []int64 `json:"job_ids"`
	}
	if code != http.StatusCreated || json.Unmarshal([]byte(resp), &rest) != nil || len(rest.JobIDs) != 1 {
		t.Fatalf("REST v0.2 submit: %d %s", code, resp)
	}
	ids["rest"] = rest.JobIDs[0]
	// /api/v1.
	code, resp = l.httpDo(t, "POST", "/api/v1/jobs", l.adminTok, "application/yaml", def("v1", "public"))
	var v1 struct {
		ID int64 `json:"id"`
	}
	if code != http.StatusCreated || json.Unmarshal([]byte(resp), &v1) != nil || v1.ID == 0 {
		t.Fatalf("/api/v1 submit: %d %s", code, resp)
	}
	ids["v1"] = v1.ID
	// A personal job of admin's with the same metadata: others do not see it.
	code, resp = l.httpDo(t, "POST", "/api/v1/jobs", l.adminTok, "application/yaml", def("v1", "personal"))
	var private struct {
		ID int64 `json:"id"`
	}
	if code != http.StatusCreated || json.Unmarshal([]byte(resp), &private) != nil {
		t.Fatalf("/api/v1 submit: %d %s", code, resp)
	}

	for via, id := range ids {
		t.Run(via, func(t *testing.T) {
			l.t = t
			w := want(via)
			// /api/v1/jobs/{id}.
			code, resp := l.httpDo(t, "GET", fmt.Sprintf("/api/v1/jobs/%d", id), "", "", "")
			var j struct {
				Metadata map[string]string `json:"metadata"`
			}
			if code != 200 || json.Unmarshal([]byte(resp), &j) != nil || !maps.Equal(j.Metadata, w) {
				t.Errorf("/api/v1/jobs/%d: %d metadata %v, want %v\n%s", id, code, j.Metadata, w, resp)
			}
			// REST v0.2 metadata/: LAVA's list of {name: value}.
			code, resp = l.httpDo(t, "GET", fmt.Sprintf("/api/v0.2/jobs/%d/metadata/", id), "", "", "")
			var rm struct {
				Metadata []map[string]string `json:"metadata"`
			}
			if code != 200 || json.Unmarshal([]byte(resp), &rm) != nil {
				t.Fatalf("REST metadata/: %d %s", code, resp)
			}
			checkList(t, "REST v0.2 metadata/", rm.Metadata, w)
			// XML-RPC jobs.show, through lavacli.
			var show struct {
				ID       int64               `yaml:"id"`
				Metadata []map[string]string `yaml:"metadata"`
			}
			out := l.expect(0, nil, "jobs", "show", "--yaml", strconv.FormatInt(id, 10))
			if err := yaml.Unmarshal([]byte(out), &show); err != nil || show.ID != id {
				t.Fatalf("lavacli jobs show --yaml: %v\n%s", err, out)
			}
			checkList(t, "XML-RPC jobs.show", show.Metadata, w)
			l.expect(0, []string{"id          : " + strconv.FormatInt(id, 10)}, "jobs", "show", strconv.FormatInt(id, 10))
			// XML-RPC results.get_testjob_metadata (no lavacli command).
			call := fmt.Sprintf("<?xml version='1.0'?><methodCall><methodName>results.get_testjob_metadata</methodName>"+
				"<params><param><value><string>%d</string></value></param></params></methodCall>", id)
			code, resp = l.httpDo(t, "POST", "/RPC2", l.adminTok, "text/xml", call)
			for k, v := range w {
				v = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(v)
				if m := "<name>" + k + "</name>\n<value><string>" + v + "</string></value>"; code != 200 || !strings.Contains(resp, m) {
					t.Errorf("results.get_testjob_metadata: %d, want %q in\n%s", code, m, resp)
				}
			}
			// The job's page.
			code, resp = l.httpDo(t, "GET", fmt.Sprintf("/jobs/%d", id), "", "", "")
			if code != 200 || !strings.Contains(resp, `<table id="metadata">`) ||
				!strings.Contains(resp, `<td class="mono">kernel.version</td><td>6.1</td>`) ||
				!strings.Contains(resp, `<td>a &lt;b&gt; &amp; c</td>`) {
				t.Errorf("job page %d: %d, no metadata table with the values:\n%s", id, code, resp)
			}
		})
	}

	l.t = t
	list := func(token string, q url.Values) []int64 {
		t.Helper()
		code, resp := l.httpDo(t, "GET", "/api/v1/jobs?"+q.Encode(), token, "", "")
		var page struct {
			Count   int `json:"count"`
			Results []struct {
				ID int64 `json:"id"`
			} `json:"results"`
		}
		if code != 200 || json.Unmarshal([]byte(resp), &page) != nil {
			t.Fatalf("/api/v1/jobs?%s: %d %s", q.Encode(), code, resp)
		}
		var out []int64
		for _, r := range page.Results {
			out = append(out, r.ID)
		}
		if page.Count != len(out) {
			t.Errorf("/api/v1/jobs?%s: count %d for %d jobs", q.Encode(), page.Count, len(out))
		}
		return out
	}
	desc := func(xs ...int64) []int64 {
		slices.Sort(xs)
		slices.Reverse(xs)
		return xs
	}
	for _, tc := range []struct {
		name  string
		token string
		q     url.Values
		want  []int64
	}{
		{"one name", l.adminTok, url.Values{"metadata.kernel.version": {"6.1"}}, desc(ids["xmlrpc"], ids["rest"], ids["v1"], private.ID)},
		{"two names", l.adminTok, url.Values{"metadata.kernel.version": {"6.1"}, "metadata.submitted.via": {"v1"}}, desc(ids["v1"], private.ID)},
		{"anonymous: visibility kept", "", url.Values{"metadata.submitted.via": {"v1"}}, []int64{ids["v1"]}},
		{"bob: visibility kept", l.bobTok, url.Values{"metadata.submitted.via": {"v1"}}, []int64{ids["v1"]}},
		{"with another filter", l.adminTok, url.Values{"metadata.build": {"1.10"}, "submitter": {"bob"}}, nil},
		{"no such value", l.adminTok, url.Values{"metadata.kernel.version": {"6.10"}}, nil},
	} {
		if got := list(tc.token, tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("%s: /api/v1/jobs?%s = %v, want %v", tc.name, tc.q.Encode(), got, tc.want)
		}
	}
	for _, bad := range []string{"metadata.=x", "metadata.a=1&metadata.a=2"} {
		if code, resp := l.httpDo(t, "GET", "/api/v1/jobs?"+bad, "", "", ""); code != 400 || !strings.Contains(resp, "metadata") {
			t.Errorf("/api/v1/jobs?%s: %d %s, want 400 naming the parameter", bad, code, resp)
		}
	}
}

// checkList checks LAVA's [{name: value}] list: one entry per name, sorted.
func checkList(t *testing.T, where string, l []map[string]string, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	var names []string
	for _, e := range l {
		if len(e) != 1 {
			t.Errorf("%s: entry %v, want one {name: value}", where, e)
		}
		for k, v := range e {
			got[k] = v
			names = append(names, k)
		}
	}
	if !maps.Equal(got, want) || !slices.IsSorted(names) {
		t.Errorf("%s = %v, want %v sorted by name", where, l, want)
	}
}
