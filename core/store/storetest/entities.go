package storetest

import (
	"bytes"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

func testUsers(t *testing.T, st store.Store) {
	c := ctx(t)
	u, err := st.CreateUser(c, model.User{Username: "alice", Email: "a@example.org"})
	must(t, err)
	if u.ID == 0 || u.Created.IsZero() {
		t.Fatalf("CreateUser did not fill ID and Created: %+v", u)
	}
	_, err = st.CreateUser(c, model.User{Username: "alice"})
	wantErr(t, err, store.ErrExists)
	_, err = st.CreateUser(c, model.User{Username: ""})
	wantErr(t, err, store.ErrInvalid)
	_, err = st.User(c, "nobody")
	wantErr(t, err, store.ErrNotFound)
	_, err = st.CreateUser(c, model.User{Username: "bob"})
	must(t, err)

	must(t, st.SetAdmin(c, "bob", true))
	wantErr(t, st.SetAdmin(c, "nobody", true), store.ErrNotFound)
	bob, err := st.User(c, "bob")
	must(t, err)
	if !bob.IsAdmin {
		t.Error("SetAdmin(bob, true) did not stick")
	}

	must(t, st.CreateGroup(c, "lab"))
	wantErr(t, st.CreateGroup(c, "lab"), store.ErrExists)
	must(t, st.CreateGroup(c, "empty"))
	must(t, st.AddGroupMember(c, "lab", "alice"))
	must(t, st.AddGroupMember(c, "lab", "alice")) // idempotent
	must(t, st.AddGroupMember(c, "lab", "bob"))
	wantErr(t, st.AddGroupMember(c, "nogroup", "alice"), store.ErrNotFound)
	wantErr(t, st.AddGroupMember(c, "lab", "nobody"), store.ErrNotFound)
	groups, err := st.ListGroups(c)
	must(t, err)
	want := []model.Group{{Name: "empty"}, {Name: "lab", Members: []string{"alice", "bob"}}}
	if !reflect.DeepEqual(groups, want) {
		t.Errorf("ListGroups = %+v, want %+v", groups, want)
	}
	users, err := st.ListUsers(c)
	must(t, err)
	if len(users) != 2 || users[0].Username != "alice" || !slices.Equal(users[0].Groups, []string{"lab"}) || !users[1].IsAdmin {
		t.Errorf("ListUsers = %+v", users)
	}

	hash := bytes.Repeat([]byte{7}, 32)
	tok, err := st.CreateToken(c, "alice", "ci", hash)
	must(t, err)
	if tok.ID == 0 {
		t.Fatal("CreateToken did not fill ID")
	}
	_, err = st.CreateToken(c, "nobody", "x", []byte{1})
	wantErr(t, err, store.ErrNotFound)
	_, err = st.CreateToken(c, "bob", "dup", hash)
	wantErr(t, err, store.ErrExists)
	got, err := st.UserByTokenHash(c, hash)
	must(t, err)
	if got.Username != "alice" || !slices.Equal(got.Groups, []string{"lab"}) {
		t.Errorf("UserByTokenHash = %+v, want alice in lab", got)
	}
	_, err = st.UserByTokenHash(c, []byte("wrong"))
	wantErr(t, err, store.ErrNotFound)
	// A store may remember a token it has just looked up, but a change to
	// its user (admin rights, groups) is seen at once.
	must(t, st.SetAdmin(c, "alice", true))
	must(t, st.AddGroupMember(c, "empty", "alice"))
	got, err = st.UserByTokenHash(c, hash)
	must(t, err)
	if !got.IsAdmin || !slices.Equal(got.Groups, []string{"empty", "lab"}) {
		t.Errorf("UserByTokenHash after SetAdmin and AddGroupMember = %+v, want admin in empty and lab", got)
	}
	must(t, st.SetAdmin(c, "alice", false))
	if got, err = st.UserByTokenHash(c, hash); err != nil || got.IsAdmin {
		t.Errorf("UserByTokenHash after SetAdmin(false) = %+v, %v", got, err)
	}
	toks, err := st.ListTokens(c, "alice")
	must(t, err)
	if len(toks) != 1 || toks[0].LastUsed.IsZero() || !bytes.Equal(toks[0].Hash, hash) || toks[0].Description != "ci" {
		t.Errorf("ListTokens = %+v (want one, last used set)", toks)
	}
	wantErr(t, st.DeleteToken(c, "bob", tok.ID), store.ErrNotFound)
	must(t, st.DeleteToken(c, "alice", tok.ID))
	_, err = st.UserByTokenHash(c, hash)
	wantErr(t, err, store.ErrNotFound)
}

func testWorkers(t *testing.T, st store.Store) {
	c := ctx(t)
	w := model.Worker{Hostname: "w1", Description: "rack 1", State: model.WorkerOffline, JobLimit: 2, Version: "1.0", TokenHash: []byte{1, 2, 3}}
	must(t, st.CreateWorker(c, w))
	wantErr(t, st.CreateWorker(c, w), store.ErrExists)
	wantErr(t, st.CreateWorker(c, model.Worker{}), store.ErrInvalid)
	got, err := st.Worker(c, "w1")
	must(t, err)
	if got.Description != "rack 1" || got.JobLimit != 2 || got.Version != "1.0" || got.State != model.WorkerOffline {
		t.Errorf("Worker = %+v", got)
	}
	_, err = st.Worker(c, "nope")
	wantErr(t, err, store.ErrNotFound)
	byTok, err := st.WorkerByTokenHash(c, []byte{1, 2, 3})
	must(t, err)
	if byTok.Hostname != "w1" {
		t.Errorf("WorkerByTokenHash = %q", byTok.Hostname)
	}
	_, err = st.WorkerByTokenHash(c, nil)
	wantErr(t, err, store.ErrNotFound)

	boom := store.ErrConflict
	_, err = st.UpdateWorker(c, "w1", func(w *model.Worker) error { w.Description = "lost"; return boom })
	wantErr(t, err, boom)
	if got, _ := st.Worker(c, "w1"); got.Description != "rack 1" {
		t.Error("a failed UpdateWorker changed the worker")
	}
	now := time.Now()
	up, err := st.UpdateWorker(c, "w1", func(w *model.Worker) error {
		w.State, w.LastPing, w.Version = model.WorkerOnline, now, "2.0"
		return nil
	})
	must(t, err)
	got, _ = st.Worker(c, "w1")
	if got.State != model.WorkerOnline || got.Version != "2.0" || got.LastPing.Sub(now).Abs() > time.Millisecond || !got.LastPing.Equal(up.LastPing) {
		t.Errorf("after UpdateWorker: %+v (returned %+v)", got, up)
	}
	_, err = st.UpdateWorker(c, "nope", func(*model.Worker) error { return nil })
	wantErr(t, err, store.ErrNotFound)
	must(t, st.SetWorkerToken(c, "w1", []byte{9}))
	_, err = st.WorkerByTokenHash(c, []byte{1, 2, 3})
	wantErr(t, err, store.ErrNotFound)
	if w, err := st.WorkerByTokenHash(c, []byte{9}); err != nil || w.Hostname != "w1" {
		t.Errorf("WorkerByTokenHash(new) = %v, %v", w.Hostname, err)
	}
	wantErr(t, st.SetWorkerToken(c, "nope", []byte{9}), store.ErrNotFound)
	must(t, st.CreateWorker(c, model.Worker{Hostname: "a0"}))
	ws, err := st.ListWorkers(c)
	must(t, err)
	if len(ws) != 2 || ws[0].Hostname != "a0" {
		t.Errorf("ListWorkers = %+v", ws)
	}
}

func testDeviceTypes(t *testing.T, st store.Store) {
	c := ctx(t)
	dt := model.DeviceType{Name: "bbb", Description: "BeagleBone Black", HealthCheck: "job_name: hc\n", HealthFrequency: 24,
		HealthDenominator: "hours", Aliases: []string{"beaglebone-black"}, Settings: map[string]any{"dtb_addr": "0x88000000", "n": 3.0},
		Display: true}
	must(t, st.CreateDeviceType(c, dt))
	wantErr(t, st.CreateDeviceType(c, dt), store.ErrExists)
	wantErr(t, st.CreateDeviceType(c, model.DeviceType{Name: "x", HealthDenominator: "weeks"}), store.ErrInvalid)
	got, err := st.DeviceType(c, "bbb")
	must(t, err)
	if !reflect.DeepEqual(got, dt) {
		t.Errorf("DeviceType = %+v, want %+v", got, dt)
	}
	_, err = st.DeviceType(c, "nope")
	wantErr(t, err, store.ErrNotFound)
	up, err := st.UpdateDeviceType(c, "bbb", func(dt *model.DeviceType) error {
		dt.Settings["dtb_addr"] = "0x83000000"
		dt.HealthDisabled = true
		return nil
	})
	must(t, err)
	got, _ = st.DeviceType(c, "bbb")
	if got.Settings["dtb_addr"] != "0x83000000" || !got.HealthDisabled || !reflect.DeepEqual(got, up) {
		t.Errorf("after UpdateDeviceType: %+v", got)
	}
	must(t, st.CreateDeviceType(c, model.DeviceType{Name: "aaa"}))
	list, err := st.ListDeviceTypes(c)
	must(t, err)
	if len(list) != 2 || list[0].Name != "aaa" || list[0].HealthDenominator != "hours" {
		t.Errorf("ListDeviceTypes = %+v", list)
	}
}

func testTags(t *testing.T, st store.Store) {
	c := ctx(t)
	must(t, st.CreateTag(c, model.Tag{Name: "usb", Description: "has USB"}))
	wantErr(t, st.CreateTag(c, model.Tag{Name: "usb"}), store.ErrExists)
	must(t, st.CreateTag(c, model.Tag{Name: "eth"}))
	tags, err := st.ListTags(c)
	must(t, err)
	if !reflect.DeepEqual(tags, []model.Tag{{Name: "eth"}, {Name: "usb", Description: "has USB"}}) {
		t.Errorf("ListTags = %+v", tags)
	}
	lab(t, st)
	must(t, st.CreateDevice(c, model.Device{Hostname: "d1", DeviceType: "qemu", Worker: "w1", Tags: []string{"usb"}}))
	must(t, st.DeleteTag(c, "usb"))
	wantErr(t, st.DeleteTag(c, "usb"), store.ErrNotFound)
	if d := getDevice(t, st, "d1"); len(d.Tags) != 0 {
		t.Errorf("deleted tag still on device: %v", d.Tags)
	}
}

func testDevices(t *testing.T, st store.Store) {
	c := ctx(t)
	lab(t, st)
	must(t, st.CreateDeviceType(c, model.DeviceType{Name: "bbb"}))
	must(t, st.CreateWorker(c, model.Worker{Hostname: "w2"}))
	wantErr(t, st.CreateDevice(c, model.Device{Hostname: "d", DeviceType: "nope", Worker: "w1"}), store.ErrInvalid)
	wantErr(t, st.CreateDevice(c, model.Device{Hostname: "d", DeviceType: "qemu", Worker: "nope"}), store.ErrInvalid)
	d1 := model.Device{Hostname: "d1", DeviceType: "qemu", Worker: "w1", Health: model.DeviceUnknown, Dictionary: "{% extends 'qemu.jinja2' %}", Tags: []string{"b", "a"}}
	must(t, st.CreateDevice(c, d1))
	wantErr(t, st.CreateDevice(c, d1), store.ErrExists)
	got := getDevice(t, st, "d1")
	if got.State != model.DeviceIdle || got.Health != model.DeviceUnknown || got.Dictionary != d1.Dictionary || !slices.Equal(got.Tags, []string{"a", "b"}) {
		t.Errorf("Device = %+v", got)
	}
	tags, _ := st.ListTags(c)
	if len(tags) != 2 {
		t.Errorf("tags not created with the device: %+v", tags)
	}
	_, err := st.Device(c, "nope")
	wantErr(t, err, store.ErrNotFound)
	must(t, st.CreateDevice(c, model.Device{Hostname: "d2", DeviceType: "bbb", Worker: "w2"}))
	must(t, st.CreateDevice(c, model.Device{Hostname: "d3", DeviceType: "bbb"}))
	_, err = st.SetDeviceHealth(c, "d3", model.DeviceRetired)
	must(t, err)

	up, err := st.UpdateDevice(c, "d1", func(d *model.Device) error {
		d.Description = "new"
		d.Tags = []string{"c"}
		d.State, d.Health, d.CurrentJob = model.DeviceRunning, model.DeviceGood, 42 // ignored
		d.Worker = "w2"
		return nil
	})
	must(t, err)
	got = getDevice(t, st, "d1")
	if got.Description != "new" || got.Worker != "w2" || !slices.Equal(got.Tags, []string{"c"}) ||
		got.State != model.DeviceIdle || got.Health != model.DeviceUnknown || got.CurrentJob != 0 || !reflect.DeepEqual(got, up) {
		t.Errorf("after UpdateDevice: %+v (returned %+v)", got, up)
	}
	_, err = st.UpdateDevice(c, "d1", func(d *model.Device) error { d.DeviceType = "nope"; return nil })
	wantErr(t, err, store.ErrInvalid)

	for _, tc := range []struct {
		f    store.DeviceFilter
		want []string
	}{
		{store.DeviceFilter{}, []string{"d1", "d2"}},
		{store.DeviceFilter{IncludeRetired: true}, []string{"d1", "d2", "d3"}},
		{store.DeviceFilter{DeviceType: "bbb", IncludeRetired: true}, []string{"d2", "d3"}},
		{store.DeviceFilter{Worker: "w2"}, []string{"d1", "d2"}},
		{store.DeviceFilter{Worker: "w1"}, nil},
	} {
		devs, err := st.ListDevices(c, tc.f)
		must(t, err)
		var names []string
		for _, d := range devs {
			names = append(names, d.Hostname)
		}
		if !slices.Equal(names, tc.want) {
			t.Errorf("ListDevices(%+v) = %v, want %v", tc.f, names, tc.want)
		}
	}
	_, err = st.SetDeviceHealth(c, "nope", model.DeviceBad)
	wantErr(t, err, store.ErrNotFound)
	_, err = st.SetDeviceHealth(c, "d1", model.DeviceHealth(99))
	wantErr(t, err, store.ErrInvalid)
}
