package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/model"
)

const mnDef = `job_name: mn page
visibility: public
timeouts:
  job: {minutes: 10}
protocols:
  lava-multinode:
    roles:
      server: {device_type: qemu, count: 1}
      client: {device_type: qemu, count: 1}
actions:
- boot:
    role: [server, client]
    method: qemu
    media: tmpfs
    prompts: ['# ']
`

// TestMultinodeGroupShown (issue 21): a sub-job's page links every
// sub-job of its group with its role, and the API lists them.
func TestMultinodeGroupShown(t *testing.T) {
	e := newEnv(t, newDrivers())
	def, rep := job.Parse([]byte(mnDef))
	if !rep.OK() {
		t.Fatal(rep.Err())
	}
	var js []model.Job
	for _, s := range def.Split() {
		js = append(js, model.Job{Description: "mn page", Definition: string(s.Text), RequestedDeviceType: "qemu", Submitter: "bob", Visibility: model.VisibilityPublic})
	}
	jobs, err := e.st.CreateJobs(context.Background(), js)
	must(t, err)
	r := e.client().get(fmt.Sprintf("/jobs/%d", jobs[1].ID))
	if r.status != 200 {
		t.Fatalf("job page: %d", r.status)
	}
	for _, want := range []string{
		fmt.Sprintf(`<a href="/jobs/%d">%s</a> server`, jobs[0].ID, jobs[0].SubID),
		fmt.Sprintf(`<a href="/jobs/%d">%s</a> client`, jobs[1].ID, jobs[1].SubID),
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("job page lacks %q", want)
		}
	}
	resp, err := http.Get(fmt.Sprintf("%s/api/v1/jobs/%d", e.srv.URL, jobs[0].ID))
	must(t, err)
	defer resp.Body.Close()
	var v struct {
		SubJobs []struct {
			ID    int64  `json:"id"`
			SubID string `json:"sub_id"`
			Role  string `json:"role"`
			State string `json:"state"`
		} `json:"sub_jobs"`
	}
	must(t, json.NewDecoder(resp.Body).Decode(&v))
	if len(v.SubJobs) != 2 || v.SubJobs[0].Role != "server" || v.SubJobs[1].Role != "client" || v.SubJobs[1].ID != jobs[1].ID || v.SubJobs[0].State != "Submitted" {
		t.Errorf("API sub_jobs %+v", v.SubJobs)
	}
}
