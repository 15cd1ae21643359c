package storetest

import (
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

func wantMetadata(t testing.TB, st store.Store, id int64, want map[string]string) {
	t.Helper()
	got := getJob(t, st, id).Metadata
	if !maps.Equal(got, want) || (len(want) == 0 && got != nil) {
		t.Errorf("job %d metadata = %v, want %v", id, got, want)
	}
}

// testJobMetadata: metadata is filled from the definition by every way a
// job is created (one job, a group commit of concurrent ones, multinode
// sub-jobs, health checks), kept as given when set, and filters lists
// within the viewer's visibility.
func testJobMetadata(t *testing.T, st store.Store) {
	c := ctx(t)
	lab(t, st, "q1")
	def := func(name, version string) string {
		return "job_name: " + name + "\nmetadata:\n  kernel.version: \"" + version + "\"\n  build: 42\n"
	}
	md := func(version string) map[string]string {
		return map[string]string{"kernel.version": version, "build": "42"}
	}

	one := submit(t, st, model.Job{Description: "one", Definition: def("one", "6.1"), Submitter: "alice"})
	wantMetadata(t, st, one.ID, md("6.1"))
	if !maps.Equal(one.Metadata, md("6.1")) {
		t.Errorf("CreateJobs returned metadata %v", one.Metadata)
	}
	none := submit(t, st, model.Job{Description: "none", Submitter: "alice"})
	wantMetadata(t, st, none.ID, nil)
	given := submit(t, st, model.Job{Description: "given", Definition: def("given", "1"), Metadata: map[string]string{"x": "y"}, Submitter: "alice"})
	wantMetadata(t, st, given.ID, map[string]string{"x": "y"})
	private := submit(t, st, model.Job{Description: "private", Definition: def("private", "6.1"), Submitter: "bob",
		Visibility: model.VisibilityPersonal})

	mn, err := st.CreateJobs(c, []model.Job{
		{Description: "mn", Definition: def("mn", "6.6"), RequestedDeviceType: "qemu", Submitter: "alice"},
		{Description: "mn", Definition: def("mn", "6.6"), RequestedDeviceType: "qemu", Submitter: "alice"},
	})
	must(t, err)
	for _, j := range mn {
		wantMetadata(t, st, j.ID, md("6.6"))
	}

	// Concurrent submissions (committed together where the backend groups them).
	var mu sync.Mutex
	conc := map[int64]string{}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 5 {
				v := fmt.Sprintf("c%d.%d", g, i)
				out, err := st.CreateJobs(c, []model.Job{{Description: v, Definition: def(v, v), RequestedDeviceType: "qemu"}})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				conc[out[0].ID] = v
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for id, v := range conc {
		wantMetadata(t, st, id, md(v))
	}

	hc, err := st.Assign(c, []store.Assignment{{Device: "q1", Job: model.Job{HealthCheck: true, Definition: def("hc", "hc"),
		Description: "hc", RequestedDeviceType: "qemu", Priority: 100}}})
	must(t, err)
	if len(hc) != 1 {
		t.Fatal("health check not assigned")
	}
	wantMetadata(t, st, hc[0].Job.ID, md("hc"))

	// Lists carry metadata and filter on it.
	list, _, err := st.ListJobs(c, store.System(), store.JobFilter{Limit: 500})
	must(t, err)
	for _, j := range list {
		if j.ID == one.ID && !maps.Equal(j.Metadata, md("6.1")) {
			t.Errorf("listed job %d metadata = %v", j.ID, j.Metadata)
		}
	}
	for _, tc := range []struct {
		name string
		v    store.Viewer
		f    map[string]string
		want []int64
	}{
		{"one name", store.System(), map[string]string{"kernel.version": "6.1"}, []int64{private.ID, one.ID}},
		{"visibility kept", store.Viewer{}, map[string]string{"kernel.version": "6.1"}, []int64{one.ID}},
		{"submitter sees own", store.Viewer{Username: "bob"}, map[string]string{"kernel.version": "6.1"}, []int64{private.ID, one.ID}},
		{"two names", store.System(), map[string]string{"kernel.version": "6.6", "build": "42"}, []int64{mn[1].ID, mn[0].ID}},
		{"value differs", store.System(), map[string]string{"kernel.version": "6.6", "build": "43"}, nil},
		{"exact value", store.System(), map[string]string{"kernel.version": "6"}, nil},
		{"given", store.System(), map[string]string{"x": "y"}, []int64{given.ID}},
		{"unknown name", store.System(), map[string]string{"nope": ""}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			list, total, err := st.ListJobs(c, tc.v, store.JobFilter{Metadata: tc.f})
			must(t, err)
			if got := ids(list); !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) || total != len(tc.want) {
				t.Errorf("ListJobs(metadata %v) = %v total %d, want %v", tc.f, got, total, tc.want)
			}
		})
	}
}

// LegacyMetadata inserts, on db migrated to a version before 0010, jobs
// whose definitions hold metadata (or none), as a server of that version
// stored them; it returns the metadata each should have once the store is
// opened (migration 0010 and the start-up backfill), for CheckMetadata.
func LegacyMetadata(t testing.TB, db *sql.DB, n int) map[int64]map[string]string {
	t.Helper()
	c := ctx(t)
	out := map[int64]map[string]string{}
	for i := range n {
		def := fmt.Sprintf("job_name: legacy %d\nmetadata:\n  kernel.version: v%d\n  nested: {a: 1}\n", i, i)
		want := map[string]string{"kernel.version": fmt.Sprintf("v%d", i), "nested.a": "1"}
		switch i % 3 {
		case 1:
			def, want = fmt.Sprintf("job_name: legacy %d\n", i), nil
		case 2:
			if i < 40 {
				// Many entries (13 such jobs): the backfill's batch
				// crosses SQLite's limit of 32,766 parameters.
				var b strings.Builder
				want = map[string]string{}
				for k := range 999 {
					fmt.Fprintf(&b, "  k%d: v%d\n", k, k)
					want[fmt.Sprintf("k%d", k)] = fmt.Sprintf("v%d", k)
				}
				def = fmt.Sprintf("job_name: legacy %d\nmetadata:\n%s", i, b.String())
				break
			}
			// A test definition's own metadata is not the job's.
			def = fmt.Sprintf("job_name: legacy %d\nactions:\n- test:\n    definitions:\n    - repository: {metadata: {name: x}}\n", i)
			want = nil
		}
		var id int64
		if err := db.QueryRowContext(c, `INSERT INTO jobs (description, definition, submit_time) VALUES ($1, $2, 1) RETURNING id`,
			fmt.Sprintf("legacy %d", i), def).Scan(&id); err != nil {
			t.Fatalf("inserting a job: %v", err)
		}
		out[id] = want
	}
	return out
}

// CheckMetadata checks the jobs' metadata.
func CheckMetadata(t testing.TB, st store.Store, want map[int64]map[string]string) {
	t.Helper()
	for id, md := range want {
		wantMetadata(t, st, id, md)
	}
	list, total, err := st.ListJobs(ctx(t), store.System(), store.JobFilter{Metadata: map[string]string{"kernel.version": "v0"}})
	must(t, err)
	if total != 1 || len(list) != 1 || list[0].Description != "legacy 0" {
		t.Errorf("filter on backfilled metadata: %v total %d", ids(list), total)
	}
}
