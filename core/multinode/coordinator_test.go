package multinode

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/store/sqlite"
)

const groupDef = `job_name: mn
visibility: public
timeouts:
  job: {minutes: 10}
protocols:
  lava-multinode:
    timeout: {seconds: 30}
    roles:
      server: {device_type: qemu, count: 1}
      client: {device_type: qemu, count: 2}
actions:
- boot:
    role: [server, client]
    method: qemu
    media: tmpfs
    prompts: ['# ']
`

type env struct {
	st   *sqlite.Store
	c    *Coordinator
	jobs []model.Job // server, client, client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "lava.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &env{st: st, c: New(st, Options{PollCap: 2 * time.Second, Sweep: 50 * time.Millisecond}), jobs: createGroup(t, st)}
}

// createGroup submits groupDef's three sub-jobs.
func createGroup(t *testing.T, st store.Store) []model.Job {
	t.Helper()
	def, rep := job.Parse([]byte(groupDef))
	if !rep.OK() {
		t.Fatal(rep.Err())
	}
	var js []model.Job
	for _, s := range def.Split() {
		js = append(js, model.Job{Description: "mn", Definition: string(s.Text), RequestedDeviceType: "qemu", Submitter: "alice", Visibility: model.VisibilityPublic})
	}
	out, err := st.CreateJobs(context.Background(), js)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// lab adds device type qemu, worker w1 and Good devices.
func lab(t *testing.T, st store.Store, devices ...string) {
	t.Helper()
	ctx := context.Background()
	if err := st.CreateDeviceType(ctx, model.DeviceType{Name: "qemu"}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateWorker(ctx, model.Worker{Hostname: "w1", State: model.WorkerOnline, Health: model.WorkerActive}); err != nil {
		t.Fatal(err)
	}
	for _, d := range devices {
		if err := st.CreateDevice(ctx, model.Device{Hostname: d, DeviceType: "qemu", Worker: "w1", Health: model.DeviceGood}); err != nil {
			t.Fatal(err)
		}
	}
}

func waitState(t *testing.T, st store.Store, id int64, ok func(model.Job) bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		j, err := st.Job(context.Background(), store.System(), id)
		if err != nil {
			t.Fatal(err)
		}
		if ok(j) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %d stays %s %s", id, j.State, j.Health)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *env) call(t *testing.T, i int, req Request) Response {
	t.Helper()
	r, err := e.c.Call(context.Background(), e.jobs[i].ID, req)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestGroupAndMessages(t *testing.T) {
	e := newEnv(t)
	g, err := e.c.Group(context.Background(), e.jobs[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Members) != 3 || g.Members[0].Role != "server" || g.Members[1].Role != "client" || g.Members[2].SubID != e.jobs[2].SubID {
		t.Fatalf("group %+v", g)
	}

	// lava-wait blocks until another sub-job sends; the data comes by sender.
	got := make(chan Response, 1)
	go func() { got <- e.call(t, 1, Request{Op: OpWait, MessageID: "ready", TimeoutMS: 10000}) }()
	select {
	case r := <-got:
		t.Fatalf("lava-wait returned before the send: %+v", r)
	case <-time.After(100 * time.Millisecond):
	}
	if r := e.call(t, 0, Request{Op: OpSend, MessageID: "ready", Data: map[string]string{"value": "42"}}); r.Nack {
		t.Fatalf("send: %+v", r)
	}
	r := <-got
	if r.Nack || r.Messages[itoa(e.jobs[0].ID)]["value"] != "42" {
		t.Errorf("wait answer %+v", r)
	}
	// A sub-job's own message does not end its own lava-wait.
	if r := e.call(t, 0, Request{Op: OpWait, MessageID: "ready", TimeoutMS: 100}); !r.Nack {
		t.Errorf("the sender's own wait ended: %+v", r)
	}

	// lava-sync: everyone, or a nack after the timeout.
	done := make(chan Response, 2)
	for i := range 2 {
		go func() { done <- e.call(t, i, Request{Op: OpSync, MessageID: "s1", TimeoutMS: 10000}) }()
	}
	select {
	case r := <-done:
		t.Fatalf("sync ended with a member missing: %+v", r)
	case <-time.After(100 * time.Millisecond):
	}
	if r := e.call(t, 2, Request{Op: OpSync, MessageID: "s1", TimeoutMS: 10000}); r.Nack || len(r.Messages) != 3 {
		t.Errorf("last sync: %+v", r)
	}
	for range 2 {
		if r := <-done; r.Nack {
			t.Errorf("sync: %+v", r)
		}
	}
	if r := e.call(t, 0, Request{Op: OpSync, MessageID: "s2", TimeoutMS: 50}); !r.Nack || r.Reason == "" {
		t.Errorf("a lone sync did not time out: %+v", r)
	}
	// Waits longer than one call's cap are Pending.
	if r := e.call(t, 0, Request{Op: OpWaitAll, MessageID: "never", TimeoutMS: 60000}); !r.Pending {
		t.Errorf("a long wait did not come back Pending: %+v", r)
	}

	// lava-wait-all with a role: both clients.
	e.call(t, 1, Request{Op: OpSend, MessageID: "c", Data: map[string]string{"n": "1"}})
	if r := e.call(t, 0, Request{Op: OpWaitAll, MessageID: "c", Role: "client", TimeoutMS: 50}); !r.Nack {
		t.Errorf("wait-all ended with one client of two: %+v", r)
	}
	e.call(t, 2, Request{Op: OpSend, MessageID: "c", Data: map[string]string{"n": "2"}})
	if r := e.call(t, 0, Request{Op: OpWaitAll, MessageID: "c", Role: "client", TimeoutMS: 50}); r.Nack || len(r.Messages) != 2 {
		t.Errorf("wait-all: %+v", r)
	}
	if r := e.call(t, 0, Request{Op: OpWaitAll, MessageID: "c", Role: "nobody"}); !r.Nack {
		t.Errorf("wait-all of an unknown role: %+v", r)
	}

	// lava-wait with a role (a connection role's delayed start, issue 21):
	// only a message of that role ends it.
	e.call(t, 2, Request{Op: OpSend, MessageID: DelayedStartMessage})
	if r := e.call(t, 1, Request{Op: OpWait, MessageID: DelayedStartMessage, Role: "server", TimeoutMS: 50}); !r.Nack {
		t.Errorf("a wait for the server role ended on a client's message: %+v", r)
	}
	e.call(t, 0, Request{Op: OpSend, MessageID: DelayedStartMessage})
	if r := e.call(t, 1, Request{Op: OpWait, MessageID: DelayedStartMessage, Role: "server", TimeoutMS: 50}); r.Nack {
		t.Errorf("a wait for the server role: %+v", r)
	}
	if r := e.call(t, 1, Request{Op: OpWait, MessageID: DelayedStartMessage, Role: "nobody"}); !r.Nack {
		t.Errorf("a wait for an unknown role: %+v", r)
	}

	// Bad requests.
	for _, req := range []Request{{Op: "lava-frob", MessageID: "x"}, {Op: OpSend, MessageID: "two words"}, {Op: OpSend, MessageID: "x", Data: map[string]string{"k": "a b"}}} {
		if _, err := e.c.Call(context.Background(), e.jobs[0].ID, req); err == nil {
			t.Errorf("%+v accepted", req)
		}
	}
}

func itoa(id int64) string { return strconv.FormatInt(id, 10) }

// TestGroupFate: an Incomplete sub-job fails the group (waits nack with
// the reason, watches report it); a canceled one cancels the others.
func TestGroupFate(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := newEnv(t)
	go func() { _ = e.c.Run(ctx) }()
	lab(t, e.st, "d1", "d2", "d3")
	as := []store.Assignment{{Job: e.jobs[0], Device: "d1"}, {Job: e.jobs[1], Device: "d2"}, {Job: e.jobs[2], Device: "d3"}}
	if got, err := e.st.AssignGroup(ctx, as); err != nil || len(got) != 3 {
		t.Fatalf("AssignGroup: %v %v", got, err)
	}
	for _, j := range e.jobs[:2] {
		if _, err := e.st.StartJob(ctx, j.ID); err != nil {
			t.Fatal(err)
		}
	}
	watch := make(chan Watch, 1)
	go func() {
		for {
			w, err := e.c.Watch(ctx, e.jobs[0].ID)
			if err != nil || w.Failed {
				watch <- w
				return
			}
		}
	}()
	wait := make(chan Response, 1)
	go func() { wait <- e.call(t, 0, Request{Op: OpWait, MessageID: "x", TimeoutMS: 20000}) }()
	if _, err := e.st.FinishJob(ctx, e.jobs[1].ID, store.JobResult{Health: model.JobIncomplete, ErrorType: "Infrastructure", FailureComment: "worker w2 has been silent"}); err != nil {
		t.Fatal(err)
	}
	for _, got := range []string{(<-watch).Reason, (<-wait).Reason} {
		if want := "sub-job " + e.jobs[1].SubID + " (role client) ended Incomplete: worker w2 has been silent"; !strings.Contains(got, want) {
			t.Errorf("reason %q, want it to say %q", got, want)
		}
	}
	// The sub-job that had not started is canceled; the running one is
	// left to end Incomplete on its own.
	waitState(t, e.st, e.jobs[2].ID, func(j model.Job) bool { return j.State == model.JobFinished && j.Health == model.JobCanceled })
	if j, _ := e.st.Job(ctx, store.System(), e.jobs[0].ID); j.State != model.JobRunning {
		t.Errorf("the running sub-job of a failed group is %s, want Running (it ends Incomplete itself)", j.State)
	}

	// Cancel: one canceled sub-job cancels the others.
	g2 := createGroup(t, e.st)
	if _, err := e.st.CancelJob(ctx, g2[1].ID); err != nil {
		t.Fatal(err)
	}
	for _, j := range []model.Job{g2[0], g2[2]} {
		waitState(t, e.st, j.ID, func(j model.Job) bool { return j.State == model.JobFinished && j.Health == model.JobCanceled })
	}
}
