package sched

import (
	"context"
	"log/slog"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/store/sqlite"
)

// TestPassRecordsDriverAndSettings runs real passes on a SQLite store: each
// scheduled job records the driver version DriverFor gave at the time and
// the merged settings (defaults < type overrides < dictionary); a job
// scheduled before a driver change keeps what it got.
func TestPassRecordsDriverAndSettings(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "lava.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.CreateDeviceType(ctx, model.DeviceType{Name: "soca9", Settings: map[string]any{"bootz_dtb_addr": "0x00002000", "baud_rate": 9600}}))
	must(st.CreateWorker(ctx, model.Worker{Hostname: "w1", State: model.WorkerOnline, Health: model.WorkerActive}))
	must(st.CreateDevice(ctx, model.Device{Hostname: "soca9-01", DeviceType: "soca9", Worker: "w1", Health: model.DeviceGood,
		Dictionary: "{% extends 'soca9.jinja2' %}\n{% set baud_rate = 115200 %}\n"}))
	must(st.CreateDevice(ctx, model.Device{Hostname: "soca9-02", DeviceType: "soca9", Worker: "w1", Health: model.DeviceGood,
		Dictionary: "{% if broken %}\n"}))

	active := "1111111111111111111111111111111111111111111111111111111111111111"
	defaults := map[string]map[string]any{
		active: {"bootz_dtb_addr": "0x00001000", "bootz_kernel_addr": "0x01000000", "baud_rate": 115200},
		"2222222222222222222222222222222222222222222222222222222222222222": {"bootz_dtb_addr": "0x00001000", "new_key": "v2"},
	}
	s := New(st, slog.New(slog.DiscardHandler), Options{
		DriverFor: func(dt string) string {
			if dt == "soca9" {
				return active
			}
			return ""
		},
		DriverSettings: func(_ context.Context, sha string) (map[string]any, error) { return defaults[sha], nil },
	})
	submit := func(dev string) int64 {
		t.Helper()
		js, err := st.CreateJobs(ctx, []model.Job{{Description: "j", Definition: "job_name: j\n", RequestedDeviceType: "soca9",
			RequestedDevice: dev, Submitter: "alice", Visibility: model.VisibilityPublic}})
		must(err)
		return js[0].ID
	}
	get := func(id int64) model.Job {
		t.Helper()
		j, err := st.Job(ctx, store.System(), id)
		must(err)
		return j
	}

	first := submit("soca9-01")
	broken := submit("soca9-02")
	if stats, err := s.Pass(ctx); err != nil || stats.Assigned != 2 {
		t.Fatalf("pass: %+v %v", stats, err)
	}
	j1 := get(first)
	want := map[string]any{"bootz_dtb_addr": "0x00002000", "bootz_kernel_addr": "0x01000000", "baud_rate": float64(115200)}
	if j1.DriverSHA256 != active || !reflect.DeepEqual(j1.Settings, want) {
		t.Errorf("first job: driver %q settings %v, want %q %v", j1.DriverSHA256, j1.Settings, active, want)
	}
	// A dictionary that does not parse: defaults and overrides only.
	want2 := map[string]any{"bootz_dtb_addr": "0x00002000", "bootz_kernel_addr": "0x01000000", "baud_rate": float64(9600)}
	if j := get(broken); !reflect.DeepEqual(j.Settings, want2) {
		t.Errorf("job on a device with a broken dictionary: settings %v, want %v", j.Settings, want2)
	}

	// A new driver version and new overrides: the next job gets both, the
	// first keeps its own.
	active = "2222222222222222222222222222222222222222222222222222222222222222"
	_, err = st.UpdateDeviceType(ctx, "soca9", func(dt *model.DeviceType) error {
		dt.Settings = map[string]any{"bootz_dtb_addr": "0x00003000"}
		return nil
	})
	must(err)
	_, err = st.FinishJob(ctx, first, store.JobResult{Health: model.JobComplete})
	must(err)
	second := submit("soca9-01")
	if stats, err := s.Pass(ctx); err != nil || stats.Assigned != 1 {
		t.Fatalf("pass: %+v %v", stats, err)
	}
	j2 := get(second)
	want3 := map[string]any{"bootz_dtb_addr": "0x00003000", "new_key": "v2", "baud_rate": float64(115200)}
	if j2.DriverSHA256 != active || !reflect.DeepEqual(j2.Settings, want3) {
		t.Errorf("second job: driver %q settings %v, want %q %v", j2.DriverSHA256, j2.Settings, active, want3)
	}
	if j := get(first); j.DriverSHA256 == active || j.Settings["bootz_dtb_addr"] != "0x00002000" {
		t.Errorf("first job changed after the swap: %q %v", j.DriverSHA256, j.Settings)
	}
}
