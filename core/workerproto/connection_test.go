package workerproto_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/lavalab/lavalab/core/auth"
	"github.com/lavalab/lavalab/core/devdict"
	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/multinode"
	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/storeopen"
	"github.com/lavalab/lavalab/core/worker"
	"github.com/lavalab/lavalab/core/workerproto"
	"github.com/lavalab/lavalab/core/workerserver"
)

const guestDef = `job_name: guest
visibility: public
timeouts:
  job: {minutes: 10}
protocols:
  lava-multinode:
    roles:
      host: {device_type: local, count: 1}
      guest: {connection: ssh, count: 1, host_role: host, expect_role: host}
actions:
- boot:
    role: [host]
    method: minimal
    prompts: ['# ']
- boot:
    role: [guest]
    method: ssh
    prompts: ['# ']
    parameters: {hostID: ipv4, host_key: ipaddr}
`

// TestConnectionStartEntry (issue 21): a connection sub-job scheduled
// with its group is started on its host's worker with the ssh driver and
// the host device's name and dictionary (LAVA's guest runs with its host
// device's configuration).
func TestConnectionStartEntry(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := storeopen.Open(ctx, t.TempDir(), "")
	must(t, err)
	t.Cleanup(func() { st.Close() })
	secret, hash := auth.NewWorkerToken()
	must(t, st.CreateDeviceType(ctx, model.DeviceType{Name: "local"}))
	must(t, st.CreateWorker(ctx, model.Worker{Hostname: "w1", State: model.WorkerOnline, Health: model.WorkerActive, TokenHash: hash}))
	const dict = "extends: local\nsettings:\n  ssh_port: 2222\n  ssh_identity_file: /etc/lava/guest_key\n  power_off_command: pdu off 3\n" +
		"  user_commands: {reset: {do: pdu reboot 3}}\n  lava_test_results_dir: /tmp/lava-%s\n"
	must(t, st.CreateDevice(ctx, model.Device{Hostname: "d1", DeviceType: "local", Worker: "w1", Health: model.DeviceGood, Dictionary: dict}))
	mst := st.(multinode.Store)
	srv, err := workerserver.NewServer(workerserver.ServerOptions{Store: st, Multinode: multinode.New(mst, multinode.Options{}), Version: "v1", PollWait: 200 * time.Millisecond})
	must(t, err)
	go func() { _ = srv.Run(ctx) }()
	r := chi.NewRouter()
	srv.Mount(r)
	hs := httptest.NewServer(r)
	t.Cleanup(hs.Close)
	client := &worker.Client{URL: hs.URL, Token: secret, Version: "v1", Name: "w1"}

	def, rep := job.Parse([]byte(guestDef))
	if !rep.OK() {
		t.Fatal(rep.Err())
	}
	var js []model.Job
	for _, s := range def.Split() {
		js = append(js, model.Job{Description: "guest", Definition: string(s.Text), RequestedDeviceType: s.DeviceType, Submitter: "alice", Visibility: model.VisibilityPublic})
	}
	jobs, err := st.CreateJobs(ctx, js)
	must(t, err)
	got, err := mst.AssignGroup(ctx, []store.Assignment{{Job: jobs[0], Device: "d1"}, {Job: jobs[1]}})
	must(t, err)
	if len(got) != 2 {
		t.Fatalf("group assignment: %v", got)
	}
	ans, err := client.Poll(ctx, workerproto.PollRequest{}, time.Second)
	must(t, err)
	entries := map[int64]workerproto.StartJob{}
	for _, s := range ans.Start {
		entries[s.ID] = s
	}
	if len(entries) != 2 {
		t.Fatalf("poll started %d jobs, want 2", len(entries))
	}
	if h := entries[jobs[0].ID]; h.Device != "d1" || h.DeviceType != "local" {
		t.Errorf("host entry: device %q type %q", h.Device, h.DeviceType)
	}
	g := entries[jobs[1].ID]
	if g.Device != "d1" || g.DeviceType != "ssh" || g.Token == "" || g.SettingsFinal {
		t.Errorf("guest entry: device %q type %q token set %v final %v", g.Device, g.DeviceType, g.Token != "", g.SettingsFinal)
	}
	// The host's dictionary minimised as LAVA does: the ssh settings and
	// the overlay's place, not the board's power or user commands.
	gd, err := devdict.Parse([]byte(g.Dictionary))
	must(t, err)
	want := map[string]any{"ssh_port": 2222, "ssh_identity_file": "/etc/lava/guest_key", "lava_test_results_dir": "/tmp/lava-%s"}
	if gd.Extends != "ssh" || len(gd.Values) != len(want) || fmt.Sprint(gd.Values) != fmt.Sprint(want) {
		t.Errorf("guest dictionary %s %v, want ssh %v:\n%s", gd.Extends, gd.Values, want, g.Dictionary)
	}
	// The guest starts without a device; the host's stays reserved for it.
	gj := worker.JobMultinode{Client: client, ID: jobs[1].ID, Token: g.Token}
	if grp, err := gj.Group(ctx); err != nil || len(grp.Members) != 2 || grp.Members[1].Role != "guest" {
		t.Errorf("guest's group: %+v %v", grp, err)
	}
	j, err := st.StartJob(ctx, jobs[1].ID)
	must(t, err)
	if j.State != model.JobRunning || j.ActualDevice != "" {
		t.Errorf("guest after start: %v on %q", j.State, j.ActualDevice)
	}
}
