package metrics

import (
	"context"
	"errors"
	"io"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/store/sqlite"
)

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	r, err := srv.Client().Get(srv.URL)
	must(t, err)
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	must(t, err)
	return string(b)
}

func TestMetrics(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "lava.db"))
	must(t, err)
	defer st.Close()
	must(t, st.CreateWorker(ctx, model.Worker{Hostname: "w1"}))
	seen := time.Unix(1700000000, 0)
	_, err = st.UpdateWorker(ctx, "w1", func(w *model.Worker) error { w.State, w.LastPing = model.WorkerOnline, seen; return nil })
	must(t, err)
	must(t, st.CreateWorker(ctx, model.Worker{Hostname: "w2"}))
	_, err = st.UpdateWorker(ctx, "w2", func(w *model.Worker) error { w.State = model.WorkerOffline; return nil })
	must(t, err)
	must(t, st.CreateDeviceType(ctx, model.DeviceType{Name: "qemu"}))
	must(t, st.CreateDeviceType(ctx, model.DeviceType{Name: "bbb"}))
	must(t, st.CreateDevice(ctx, model.Device{Hostname: "q1", DeviceType: "qemu", Worker: "w1", Health: model.DeviceGood}))
	must(t, st.CreateDevice(ctx, model.Device{Hostname: "b1", DeviceType: "bbb", Worker: "w1", Health: model.DeviceBad}))
	for range 3 {
		_, err := st.CreateJobs(ctx, []model.Job{{Description: "x", Definition: "x", RequestedDeviceType: "qemu", Submitter: "u", Visibility: model.VisibilityPersonal}})
		must(t, err)
	}
	jobs, err := st.CreateJobs(ctx, []model.Job{{Description: "y", Definition: "y", RequestedDeviceType: "bbb", Submitter: "u", Visibility: model.VisibilityPublic}})
	must(t, err)
	_, err = st.CancelJob(ctx, jobs[0].ID)
	must(t, err)

	m := New()
	must(t, m.Refresh(ctx, st))
	m.ObserveSchedPass(12*time.Millisecond, 2)
	m.ObserveLogs(10, 1234)
	m.ObserveLogs(0, 99) // a resent batch: nothing new
	m.ObserveJobStarted(model.Job{SubmitTime: seen, StartTime: seen.Add(42 * time.Second)})
	m.ObserveJobStarted(model.Job{SubmitTime: seen}) // not started: ignored
	m.ObservePlan("u-boot", 3*time.Millisecond, nil)
	m.ObservePlan("u-boot", 5*time.Millisecond, errors.New("trap"))
	out := scrape(t, m)
	for _, want := range []string{
		`lava_jobs{health="Unknown",state="Submitted"} 3`,
		`lava_jobs{health="Canceled",state="Finished"} 1`,
		`lava_jobs{health="Unknown",state="Running"} 0`,
		`lava_queue_jobs{device_type="qemu"} 3`,
		`lava_queue_jobs{device_type="bbb"} 0`,
		`lava_devices{device_type="qemu",health="Good",state="Idle"} 1`,
		`lava_devices{device_type="bbb",health="Bad",state="Idle"} 1`,
		`lava_worker_online{worker="w1"} 1`,
		`lava_worker_online{worker="w2"} 0`,
		`lava_worker_last_seen_timestamp_seconds{worker="w1"} 1.7e+09`,
		`lava_scheduler_pass_duration_seconds_count 1`,
		`lava_scheduler_assigned_jobs_total 2`,
		`lava_log_records_ingested_total 10`,
		`lava_log_bytes_ingested_total 1234`,
		`lava_job_submit_to_start_seconds_sum 42`,
		`lava_job_submit_to_start_seconds_count 1`,
		`lava_driver_plan_duration_seconds_count{driver="u-boot"} 2`,
		`lava_driver_plan_failures_total{driver="u-boot"} 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	// A finished job moves between gauges on the next refresh.
	_, err = st.CancelJob(ctx, 1)
	must(t, err)
	must(t, m.Refresh(ctx, st))
	if out := scrape(t, m); !strings.Contains(out, `lava_queue_jobs{device_type="qemu"} 2`) {
		t.Error("queue gauge not refreshed")
	}
}

func TestNilMetrics(t *testing.T) {
	var m *Metrics
	m.ObserveLogs(1, 1)
	m.ObserveSchedPass(time.Second, 1)
	m.ObserveJobStarted(model.Job{})
	m.ObservePlan("x", time.Second, nil)
	if err := m.Refresh(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	_ = store.System()
}

// BenchmarkRefresh measures one refresh of the state gauges with 10,000
// jobs stored.
func BenchmarkRefresh(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "lava.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := st.CreateDeviceType(ctx, model.DeviceType{Name: "qemu"}); err != nil {
		b.Fatal(err)
	}
	batch := make([]model.Job, 1000)
	for i := range batch {
		batch[i] = model.Job{Description: "x", Definition: "x", RequestedDeviceType: "qemu", Submitter: "u", Visibility: model.VisibilityPublic}
	}
	for range 10 {
		if _, err := st.CreateJobs(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	m := New()
	b.ResetTimer()
	for b.Loop() {
		if err := m.Refresh(ctx, st); err != nil {
			b.Fatal(err)
		}
	}
}
