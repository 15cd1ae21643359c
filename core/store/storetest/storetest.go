package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// Run runs the conformance suite; open returns a fresh, empty store per
// subtest (closed by open's own t.Cleanup).
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st store.Store)
	}{
		{"Users", testUsers},
		{"Sessions", testSessions},
		{"Workers", testWorkers},
		{"DeviceTypes", testDeviceTypes},
		{"Tags", testTags},
		{"Devices", testDevices},
		{"CreateJobs", testCreateJobs},
		{"Multinode", testMultinode},
		{"AssignGroup", testAssignGroup},
		{"AssignGroupGuests", testAssignGroupGuests},
		{"MultinodeMessages", testMultinodeMessages},
		{"Visibility", testVisibility},
		{"ListJobsFilters", testListJobsFilters},
		{"CancelJob", testCancelJob},
		{"StartFinish", testStartFinish},
		{"FinishDeviceHealth", testFinishDeviceHealth},
		{"Assign", testAssign},
		{"AssignHealthCheck", testAssignHealthCheck},
		{"Snapshot", testSnapshot},
		{"ExpireQueued", testExpireQueued},
		{"MarkDeviceGood", testMarkDeviceGood},
		{"RetireCancels", testRetireCancels},
		{"Logs", testLogs},
		{"ConcurrentLogs", testConcurrentLogs},
		{"LogChunks", testLogChunks},
		{"LogText", testLogText},
		{"Results", testResults},
		{"Events", testEvents},
		{"ConcurrentAssign", testConcurrentAssign},
		{"ConcurrentCreate", testConcurrentCreate},
		{"Leader", testLeader},
		{"WorkerProto", testWorkerProto},
		{"EndOverdueJob", testEndOverdueJob},
		{"DriverModules", testDriverModules},
		{"JobSettings", testJobSettings},
		{"JobMetadata", testJobMetadata},
		{"Notifications", testNotifications},
		{"RemoveJobs", testRemoveJobs},
		{"RemoveLogsOnly", testRemoveLogsOnly},
		{"FailJob", testFailJob},
		{"ListJobsSubmitTime", testListJobsSubmitTime},
		{"DeleteDriverModule", testDeleteDriverModule},
		{"DeviceHealthHistory", testDeviceHealthHistory},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := open(t)
			tc.fn(t, st)
		})
	}
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t testing.TB, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("error %v, want %v", err, want)
	}
}

// lab makes device type "qemu" (no health check), worker "w1" Online and
// Active, and the Good devices named.
func lab(t testing.TB, st store.Store, devices ...string) {
	t.Helper()
	c := ctx(t)
	err := st.CreateDeviceType(c, model.DeviceType{Name: "qemu"})
	if err != nil && !errors.Is(err, store.ErrExists) {
		t.Fatal(err)
	}
	err = st.CreateWorker(c, model.Worker{Hostname: "w1", State: model.WorkerOnline, Health: model.WorkerActive})
	if err != nil && !errors.Is(err, store.ErrExists) {
		t.Fatal(err)
	}
	for _, d := range devices {
		must(t, st.CreateDevice(c, model.Device{Hostname: d, DeviceType: "qemu", Worker: "w1", Health: model.DeviceGood}))
	}
}

// submit creates one public qemu job.
func submit(t testing.TB, st store.Store, j model.Job) model.Job {
	t.Helper()
	if j.RequestedDeviceType == "" {
		j.RequestedDeviceType = "qemu"
	}
	if j.Definition == "" {
		j.Definition = "job_name: " + j.Description + "\n"
	}
	if j.Submitter == "" {
		j.Submitter = "alice"
	}
	out, err := st.CreateJobs(ctx(t), []model.Job{j})
	must(t, err)
	return out[0]
}

// schedule assigns job to device and checks it was applied.
func schedule(t testing.TB, st store.Store, j model.Job, device string) model.Job {
	t.Helper()
	got, err := st.Assign(ctx(t), []store.Assignment{{Job: j, Device: device, DriverSHA256: "abc"}})
	must(t, err)
	if len(got) != 1 {
		t.Fatalf("job %d was not assigned to %s", j.ID, device)
	}
	return got[0].Job
}

func getJob(t testing.TB, st store.Store, id int64) model.Job {
	t.Helper()
	j, err := st.Job(ctx(t), store.System(), id)
	must(t, err)
	return j
}

func getDevice(t testing.TB, st store.Store, host string) model.Device {
	t.Helper()
	d, err := st.Device(ctx(t), host)
	must(t, err)
	return d
}

func ids(jobs []model.Job) []int64 {
	out := make([]int64, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID
	}
	return out
}

func boolp(b bool) *bool { return &b }
