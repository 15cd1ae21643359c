package workerproto_test

import (
	"context"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/lavalab/lavalab/core/auth"
	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/multinode"
	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/storeopen"
	"github.com/lavalab/lavalab/core/worker"
	"github.com/lavalab/lavalab/core/workerproto"
	"github.com/lavalab/lavalab/core/workerserver"
)

const groupDef = `job_name: mn
visibility: public
timeouts:
  job: {minutes: 10}
protocols:
  lava-multinode:
    roles:
      server: {device_type: local, count: 1}
      client: {device_type: local, count: 1}
actions:
- boot:
    role: [server, client]
    method: minimal
    prompts: ['# ']
`

// TestMultinodeRoutes (issue 21): two sub-jobs of a group reach the
// coordinator through the worker protocol with their job tokens: the
// group, a wait longer than one request (answered Pending, asked again), a
// bad call, the watch, and the refusals.
func TestMultinodeRoutes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := storeopen.Open(ctx, t.TempDir(), "")
	must(t, err)
	t.Cleanup(func() { st.Close() })
	secret, hash := auth.NewWorkerToken()
	must(t, st.CreateDeviceType(ctx, model.DeviceType{Name: "local"}))
	must(t, st.CreateWorker(ctx, model.Worker{Hostname: "w1", State: model.WorkerOnline, Health: model.WorkerActive, TokenHash: hash}))
	for _, d := range []string{"d1", "d2", "d3"} {
		must(t, st.CreateDevice(ctx, model.Device{Hostname: d, DeviceType: "local", Worker: "w1", Health: model.DeviceGood, Dictionary: "{% extends 'local.jinja2' %}"}))
	}
	mst := st.(multinode.Store)
	coord := multinode.New(mst, multinode.Options{PollCap: 200 * time.Millisecond})
	go func() { _ = coord.Run(ctx) }()
	srv, err := workerserver.NewServer(workerserver.ServerOptions{Store: st, Multinode: coord, Version: "v1", PollWait: 200 * time.Millisecond})
	must(t, err)
	go func() { _ = srv.Run(ctx) }()
	r := chi.NewRouter()
	srv.Mount(r)
	hs := httptest.NewServer(r)
	t.Cleanup(hs.Close)
	client := &worker.Client{URL: hs.URL, Token: secret, Version: "v1", Name: "w1"}

	def, rep := job.Parse([]byte(groupDef))
	if !rep.OK() {
		t.Fatal(rep.Err())
	}
	var js []model.Job
	for _, s := range def.Split() {
		js = append(js, model.Job{Description: "mn", Definition: string(s.Text), RequestedDeviceType: "local", Submitter: "alice", Visibility: model.VisibilityPublic})
	}
	jobs, err := st.CreateJobs(ctx, js)
	must(t, err)
	single, err := st.CreateJobs(ctx, []model.Job{{Description: "single", Definition: "job_name: s\n", RequestedDeviceType: "local", Submitter: "alice", Visibility: model.VisibilityPublic}})
	must(t, err)
	got, err := mst.AssignGroup(ctx, []store.Assignment{{Job: jobs[0], Device: "d1"}, {Job: jobs[1], Device: "d2"}})
	must(t, err)
	if len(got) != 2 {
		t.Fatalf("group assignment: %v", got)
	}
	_, err = st.Assign(ctx, []store.Assignment{{Job: single[0], Device: "d3"}})
	must(t, err)
	ans, err := client.Poll(ctx, workerproto.PollRequest{}, time.Second)
	must(t, err)
	tokens := map[int64]string{}
	for _, s := range ans.Start {
		tokens[s.ID] = s.Token
	}
	if len(tokens) != 3 {
		t.Fatalf("poll started %d jobs, want 3", len(tokens))
	}
	server := worker.JobMultinode{Client: client, ID: jobs[0].ID, Token: tokens[jobs[0].ID]}
	clientJob := worker.JobMultinode{Client: client, ID: jobs[1].ID, Token: tokens[jobs[1].ID]}

	g, err := clientJob.Group(ctx)
	must(t, err)
	if len(g.Members) != 2 || g.Members[0].Role != "server" || g.Members[1].JobID != jobs[1].ID {
		t.Fatalf("group %+v", g)
	}
	// A wait of 3 s over requests held 200 ms each: answered Pending and
	// asked again until the send arrives.
	waited := make(chan multinode.Response, 1)
	go func() {
		resp, err := clientJob.Call(ctx, multinode.Request{Op: multinode.OpWait, MessageID: "ready", TimeoutMS: 3000})
		if err != nil {
			t.Error(err)
		}
		waited <- resp
	}()
	time.Sleep(700 * time.Millisecond)
	resp, err := server.Call(ctx, multinode.Request{Op: multinode.OpSend, MessageID: "ready", Data: map[string]string{"ip": "10.0.0.2"}})
	must(t, err)
	if resp.Nack || resp.Pending {
		t.Fatalf("send: %+v", resp)
	}
	w := <-waited
	if w.Nack || w.Messages[strconv.FormatInt(jobs[0].ID, 10)]["ip"] != "10.0.0.2" {
		t.Errorf("wait answer %+v", w)
	}
	// Timed out in the end: a nack.
	if r, err := clientJob.Call(ctx, multinode.Request{Op: multinode.OpWaitAll, MessageID: "never", TimeoutMS: 500}); err != nil || !r.Nack {
		t.Errorf("a wait that never ends: %+v %v", r, err)
	}
	// Bad calls and strangers.
	if _, err := server.Call(ctx, multinode.Request{Op: multinode.OpSend, MessageID: "two words"}); worker.ErrorCode(err) != workerproto.CodeBadRequest {
		t.Errorf("bad message id: %v", err)
	}
	if _, err := (worker.JobMultinode{Client: client, ID: single[0].ID, Token: tokens[single[0].ID]}).Group(ctx); err == nil || !strings.Contains(err.Error(), "not a multinode sub-job") {
		t.Errorf("a single job's group: %v", err)
	}
	if _, err := (worker.JobMultinode{Client: client, ID: jobs[0].ID, Token: tokens[jobs[1].ID]}).Group(ctx); worker.ErrorCode(err) != workerproto.CodeJobToken {
		t.Errorf("another job's token: %v", err)
	}
	// The watch reports the group's failure.
	_, err = st.FinishJob(ctx, jobs[1].ID, store.JobResult{Health: model.JobIncomplete, ErrorType: "Infrastructure", FailureComment: "worker lost"})
	must(t, err)
	deadline := time.Now().Add(10 * time.Second)
	for {
		wa, err := server.Watch(ctx)
		must(t, err)
		if wa.Failed {
			if !strings.Contains(wa.Reason, "role client) ended Incomplete: worker lost") {
				t.Errorf("watch reason %q", wa.Reason)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the watch never reported the failed group")
		}
	}
}
