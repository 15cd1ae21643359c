package sched

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/lavalab/lavalab/core/lavatemplate"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/store/sqlite"
)

// TestPassImportedType (issue 16): a device type bound to a driver of
// another name pins that driver; its imported template is evaluated over
// the device's dictionary (a default() yields to the dictionary, an if on
// a dictionary variable takes LAVA's branch); re-importing changes the
// settings of the jobs scheduled afterwards; LAVA's name juno pins juno-r2.
func TestPassImportedType(t *testing.T) {
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
	stored := func(text string) string {
		t.Helper()
		typ, err := lavatemplate.Import("myboard", func(n string) (string, bool) { return text, n == "myboard" })
		must(err)
		s, err := typ.Marshal()
		must(err)
		return s
	}
	v1 := "{% extends 'base-uboot.jinja2' %}\n{% set console_device = console_device|default('ttyO0') %}\n{% set bootz_kernel_addr = '0x82000000' %}\n" +
		"{% if extra_kernel_args %}{% set extra_kernel_args = 'earlycon ' + extra_kernel_args %}{% endif %}\n"
	must(st.CreateDeviceType(ctx, model.DeviceType{Name: "myboard", Driver: "uboot", Template: stored(v1)}))
	must(st.CreateDeviceType(ctx, model.DeviceType{Name: "juno"}))
	must(st.CreateWorker(ctx, model.Worker{Hostname: "w1", State: model.WorkerOnline, Health: model.WorkerActive}))
	must(st.CreateDevice(ctx, model.Device{Hostname: "myboard-01", DeviceType: "myboard", Worker: "w1", Health: model.DeviceGood,
		Dictionary: "{% extends 'myboard.jinja2' %}\n{% set console_device = 'ttyS2' %}\n{% set extra_kernel_args = 'quiet' %}\n"}))
	must(st.CreateDevice(ctx, model.Device{Hostname: "juno-01", DeviceType: "juno", Worker: "w1", Health: model.DeviceGood}))

	shas := map[string]string{"uboot": "u", "juno-r2": "j"}
	s := New(st, slog.New(slog.DiscardHandler), Options{
		DriverFor:      func(dt string) string { return shas[dt] },
		DriverSettings: func(_ context.Context, sha string) (map[string]any, error) { return map[string]any{"from": sha}, nil },
	})
	submit := func(devType string) int64 {
		t.Helper()
		js, err := st.CreateJobs(ctx, []model.Job{{Description: "j", Definition: "job_name: j\n", RequestedDeviceType: devType,
			Submitter: "alice", Visibility: model.VisibilityPublic}})
		must(err)
		return js[0].ID
	}
	get := func(id int64) model.Job {
		t.Helper()
		j, err := st.Job(ctx, store.System(), id)
		must(err)
		return j
	}
	first, juno := submit("myboard"), submit("juno")
	if stats, err := s.Pass(ctx); err != nil || stats.Assigned != 2 {
		t.Fatalf("pass: %+v %v", stats, err)
	}
	j := get(first)
	if j.DriverSHA256 != "u" || j.Settings["from"] != "u" || j.Settings["console_device"] != "ttyS2" ||
		j.Settings["extra_kernel_args"] != "earlycon quiet" || j.Settings["bootz_kernel_addr"] != "0x82000000" {
		t.Errorf("imported type: driver %q settings %v", j.DriverSHA256, j.Settings)
	}
	if j := get(juno); j.DriverSHA256 != "j" {
		t.Errorf("juno pinned %q, want juno-r2's", j.DriverSHA256)
	}

	// Import again: the next job gets the new template.
	_, err = st.UpdateDeviceType(ctx, "myboard", func(dt *model.DeviceType) error {
		dt.Template = stored("{% extends 'base-uboot.jinja2' %}\n{% set bootz_kernel_addr = '0x80008000' %}\n")
		return nil
	})
	must(err)
	_, err = st.FinishJob(ctx, first, store.JobResult{Health: model.JobComplete})
	must(err)
	second := submit("myboard")
	if stats, err := s.Pass(ctx); err != nil || stats.Assigned != 1 {
		t.Fatalf("pass: %+v %v", stats, err)
	}
	if j := get(second); j.Settings["bootz_kernel_addr"] != "0x80008000" || j.Settings["extra_kernel_args"] != "quiet" {
		t.Errorf("after the import: %v", j.Settings)
	}
	if j := get(first); j.Settings["bootz_kernel_addr"] != "0x82000000" {
		t.Errorf("the first job changed: %v", j.Settings)
	}
}
