package lavarpc

import (
	"context"
	"reflect"
	"testing"

	"github.com/lavalab/lavalab/core/model"
)

// A job's metadata reaches XML-RPC as LAVA gives it: results.get_testjob_metadata
// (a user is needed; a job the caller may not see is refused), and
// jobs.show's metadata member in the same shape.
func TestJobMetadata(t *testing.T) {
	e := newEnv(t)
	jobs, err := e.st.CreateJobs(context.Background(), []model.Job{{Description: "md", Definition: "job_name: md\nmetadata:\n  kernel.version: '6.1'\n  build: 1.10\n",
		RequestedDeviceType: "qemu", Submitter: "bob", Visibility: model.VisibilityPersonal}})
	must(t, err)
	id := itoa(jobs[0].ID)
	want := []any{map[string]any{"build": "1.10"}, map[string]any{"kernel.version": "6.1"}}
	for _, user := range []string{"bob", "admin"} {
		v, f, _ := e.call(t, user, "results.get_testjob_metadata", id)
		if f != nil || !reflect.DeepEqual(v, want) {
			t.Errorf("%s: get_testjob_metadata = %#v, %v; want %#v", user, v, f, want)
		}
		v, f, _ = e.call(t, user, "scheduler.jobs.show", id)
		if m, _ := v.(map[string]any); f != nil || !reflect.DeepEqual(m["metadata"], want) {
			t.Errorf("%s: jobs.show metadata = %#v, %v; want %#v", user, m["metadata"], f, want)
		}
	}
	if _, f, _ := e.call(t, "", "results.get_testjob_metadata", id); f == nil || f.Code != 401 {
		t.Errorf("anonymous: fault %v, want 401", f)
	}
	if _, f, _ := e.call(t, "carol", "results.get_testjob_metadata", id); f == nil || f.Code != 403 { // as the other results.* methods here
		t.Errorf("carol (may not see the job): fault %v, want 403", f)
	}
	v, f, _ := e.call(t, "admin", "results.get_testjob_metadata", itoa(e.publicJob))
	if l, ok := v.([]any); f != nil || !ok || len(l) != 0 {
		t.Errorf("job without metadata: %#v, %v; want an empty array", v, f)
	}
}
