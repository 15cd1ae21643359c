package web

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/model"
)

// The job page shows the job's metadata as a table, sorted by name and
// escaped; a job without metadata has no table.
func TestJobPageMetadata(t *testing.T) {
	e := newEnv(t, newDrivers())
	var jobs []model.Job
	for _, j := range []model.Job{
		{Description: "md", Definition: "job_name: md\n", RequestedDeviceType: "qemu", Submitter: "bob",
			Metadata: map[string]string{"kernel.version": "6.1", "note": "<b>&", "build": "1.10"}},
		{Description: "none", Definition: "job_name: none\n", RequestedDeviceType: "qemu", Submitter: "bob"},
	} {
		out, err := e.st.CreateJobs(context.Background(), []model.Job{j})
		must(t, err)
		jobs = append(jobs, out[0])
	}
	c := e.client()
	r := c.get(fmt.Sprintf("/jobs/%d", jobs[0].ID))
	want := `<tbody><tr><td class="mono">build</td><td>1.10</td></tr><tr><td class="mono">kernel.version</td><td>6.1</td></tr>` +
		`<tr><td class="mono">note</td><td>&lt;b&gt;&amp;</td></tr></tbody>`
	if r.status != 200 || !strings.Contains(r.body, `<table id="metadata">`) || !strings.Contains(r.body, want) {
		t.Errorf("job page: %d, no metadata table %q:\n%s", r.status, want, r.body)
	}
	if r := c.get(fmt.Sprintf("/jobs/%d", jobs[1].ID)); r.status != 200 || strings.Contains(r.body, `id="metadata"`) {
		t.Errorf("job page without metadata: %d, has a metadata table", r.status)
	}
}
