package storetest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

func shaOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func testDriverModules(t *testing.T, st store.Store) {
	c := ctx(t)
	v1 := []byte("\x00asm module one")
	v2 := bytes.Repeat([]byte{0, 1, 2, 0xff}, 1<<18) // 1 MiB, every byte value kind
	s1, s2 := shaOf(v1), shaOf(v2)

	if got, err := st.ListDriverModules(c); err != nil || len(got) != 0 {
		t.Fatalf("empty store lists %v, %v", got, err)
	}
	_, err := st.DriverModule(c, s1)
	wantErr(t, err, store.ErrNotFound)
	_, err = st.DriverModule(c, "not-a-sha")
	wantErr(t, err, store.ErrNotFound)

	must(t, st.PutDriverModule(c, s1, "soca9", v1))
	must(t, st.PutDriverModule(c, s2, "soca9", v2))
	must(t, st.PutDriverModule(c, s1, "soca9", v1)) // idempotent
	for sha, want := range map[string][]byte{s1: v1, s2: v2} {
		got, err := st.DriverModule(c, sha)
		must(t, err)
		if !bytes.Equal(got, want) {
			t.Errorf("module %s: %d bytes back, want %d", sha[:12], len(got), len(want))
		}
	}
	list, err := st.ListDriverModules(c)
	must(t, err)
	want := []string{s1, s2}
	slices.Sort(want)
	if !slices.Equal(list, want) {
		t.Errorf("ListDriverModules = %v, want %v", list, want)
	}

	// Refused: a SHA-256 that is not the data's, upper case, no name.
	wantErr(t, st.PutDriverModule(c, s1, "soca9", v2), store.ErrInvalid)
	wantErr(t, st.PutDriverModule(c, shaOf([]byte("x"))[:10], "soca9", []byte("x")), store.ErrInvalid)
	up := []byte("upper")
	wantErr(t, st.PutDriverModule(c, string(bytes.ToUpper([]byte(shaOf(up)))), "soca9", up), store.ErrInvalid)
	wantErr(t, st.PutDriverModule(c, shaOf(up), "", up), store.ErrInvalid)

	// Activation histories: replaced as a whole, per name.
	events, err := st.Subscribe(c, store.TopicDriversChanged)
	must(t, err)
	acts, err := st.DriverActivations(c)
	must(t, err)
	if len(acts) != 0 {
		t.Errorf("empty store has activations %v", acts)
	}
	must(t, st.SaveDriverActivations(c, "soca9", []string{s1}))
	waitEvent(t, events, store.Event{Topic: store.TopicDriversChanged, Key: "soca9"})
	must(t, st.SaveDriverActivations(c, "soca9", []string{s1, s2}))
	must(t, st.SaveDriverActivations(c, "qemu", []string{s2}))
	must(t, st.SaveDriverActivations(c, "empty", nil))
	acts, err = st.DriverActivations(c)
	must(t, err)
	wantActs := map[string][]string{"soca9": {s1, s2}, "qemu": {s2}, "empty": {}}
	if !reflect.DeepEqual(acts, wantActs) {
		t.Errorf("DriverActivations = %v, want %v", acts, wantActs)
	}
	wantErr(t, st.SaveDriverActivations(c, "soca9", []string{"nope"}), store.ErrInvalid)
	wantErr(t, st.SaveDriverActivations(c, " ", []string{s1}), store.ErrInvalid)
}

func testJobSettings(t *testing.T, st store.Store) {
	c := ctx(t)
	lab(t, st, "d1", "d2")
	a := submit(t, st, model.Job{Description: "a"})
	b := submit(t, st, model.Job{Description: "b"})
	if a.Settings != nil {
		t.Errorf("submitted job has settings %v", a.Settings)
	}
	settings := map[string]any{"bootz_dtb_addr": "0x00002000", "baud_rate": float64(115200),
		"interrupt": true, "extra": []any{"a", "b"}, "nested": map[string]any{"k": "v"}}
	got, err := st.Assign(c, []store.Assignment{
		{Job: a, Device: "d1", DriverSHA256: shaOf([]byte("v1")), Settings: settings},
		{Job: b, Device: "d2"},
	})
	must(t, err)
	if len(got) != 2 || !reflect.DeepEqual(got[0].Job.Settings, settings) {
		t.Fatalf("applied %+v", got)
	}
	ja := getJob(t, st, a.ID)
	if !reflect.DeepEqual(ja.Settings, settings) {
		t.Errorf("job settings read back %#v, want %#v", ja.Settings, settings)
	}
	if ja.DriverSHA256 != shaOf([]byte("v1")) {
		t.Errorf("job driver %q", ja.DriverSHA256)
	}
	if jb := getJob(t, st, b.ID); jb.Settings != nil {
		t.Errorf("job scheduled without settings reads %v", jb.Settings)
	}
	list, _, err := st.ListJobs(c, store.System(), store.JobFilter{})
	must(t, err)
	for _, j := range list {
		if j.ID == a.ID && !reflect.DeepEqual(j.Settings, settings) {
			t.Errorf("listed job settings %v", j.Settings)
		}
	}
	// A health check created by Assign keeps its settings too.
	must(t, st.CreateDevice(c, model.Device{Hostname: "u1", DeviceType: "qemu", Worker: "w1", Health: model.DeviceUnknown}))
	hc := model.Job{Description: "hc", RequestedDeviceType: "qemu", HealthCheck: true, Definition: "job_name: hc\n"}
	got, err = st.Assign(c, []store.Assignment{{Job: hc, Device: "u1", Settings: map[string]any{"k": "hc"}}})
	must(t, err)
	if len(got) != 1 {
		t.Fatal("health check not assigned")
	}
	if j := getJob(t, st, got[0].Job.ID); j.Settings["k"] != "hc" {
		t.Errorf("health check settings %v", j.Settings)
	}
}

// A module is removed with its history entries, never while active or
// pinned by an unfinished job.
func testDeleteDriverModule(t *testing.T, st store.Store) {
	c := ctx(t)
	lab(t, st, "d1")
	v1, v2, v3 := []byte("\x00asm v1"), []byte("\x00asm v2"), []byte("\x00asm v3")
	s1, s2, s3 := shaOf(v1), shaOf(v2), shaOf(v3)
	must(t, st.PutDriverModule(c, s1, "soca9", v1))
	must(t, st.PutDriverModule(c, s2, "soca9", v2))
	must(t, st.PutDriverModule(c, s3, "soca9", v3))
	must(t, st.SaveDriverActivations(c, "soca9", []string{s1, s2, s1, s3}))

	wantErr(t, st.DeleteDriverModule(c, s3), store.ErrConflict) // active
	wantErr(t, st.DeleteDriverModule(c, shaOf([]byte("none"))), store.ErrNotFound)
	wantErr(t, st.DeleteDriverModule(c, "not-a-sha"), store.ErrNotFound)

	// A job scheduled with s2 pins it until it finishes.
	j := submit(t, st, model.Job{Description: "pinned"})
	_, err := st.Assign(c, []store.Assignment{{Job: j, Device: "d1", DriverSHA256: s2}})
	must(t, err)
	err = st.DeleteDriverModule(c, s2)
	wantErr(t, err, store.ErrConflict)
	if err != nil && !strings.Contains(err.Error(), fmt.Sprint("job ", j.ID)) {
		t.Errorf("refusal does not name the pinning job %d: %v", j.ID, err)
	}
	_, err = st.FinishJob(c, j.ID, store.JobResult{Health: model.JobComplete})
	must(t, err)

	events, err := st.Subscribe(c, store.TopicDriversChanged)
	must(t, err)
	must(t, st.DeleteDriverModule(c, s2))
	waitEvent(t, events, store.Event{Topic: store.TopicDriversChanged, Key: "soca9"})
	must(t, st.DeleteDriverModule(c, s1))
	wantErr(t, st.DeleteDriverModule(c, s1), store.ErrNotFound)
	_, err = st.DriverModule(c, s1)
	wantErr(t, err, store.ErrNotFound)
	list, err := st.ListDriverModules(c)
	must(t, err)
	if !slices.Equal(list, []string{s3}) {
		t.Errorf("modules left %v, want only %s", list, s3[:12])
	}
	acts, err := st.DriverActivations(c)
	must(t, err)
	if !slices.Equal(acts["soca9"], []string{s3}) {
		t.Errorf("history after removals %v, want [%s]", acts["soca9"], s3[:12])
	}
	// The finished job still says which version it ran with.
	if got := getJob(t, st, j.ID); got.DriverSHA256 != s2 {
		t.Errorf("finished job's driver %q, want %s", got.DriverSHA256, s2)
	}
}
