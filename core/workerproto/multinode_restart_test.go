package workerproto_test

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
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

// mnServer is one lava-server's worker protocol with its coordinator,
// over its own store handle, listening on addr.
type mnServer struct {
	st     store.Store
	hs     *httptest.Server
	cancel context.CancelFunc
}

func startMNServer(t *testing.T, dir, addr string) *mnServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := storeopen.Open(ctx, dir, "")
	must(t, err)
	coord := multinode.New(st.(multinode.Store), multinode.Options{PollCap: 200 * time.Millisecond})
	go func() { _ = coord.Run(ctx) }()
	srv, err := workerserver.NewServer(workerserver.ServerOptions{Store: st, Multinode: coord, Version: "v1", PollWait: 200 * time.Millisecond})
	must(t, err)
	go func() { _ = srv.Run(ctx) }()
	r := chi.NewRouter()
	srv.Mount(r)
	l, err := net.Listen("tcp", addr)
	must(t, err)
	hs := &httptest.Server{Listener: l, Config: &http.Server{Handler: r}}
	hs.Start()
	s := &mnServer{st: st, hs: hs, cancel: cancel}
	t.Cleanup(s.stop)
	return s
}

func (s *mnServer) stop() {
	if s.hs == nil {
		return
	}
	s.hs.Close()
	s.cancel()
	s.st.Close()
	s.hs = nil
}

// TestMultinodeServerRestart (issue 21): lava-server restarts while a
// sub-job waits. The worker asks the restarted server again; the messages
// sent before the restart are still the group's (they are in the store),
// and a message sent after it ends the wait that began before it.
func TestMultinodeServerRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s1 := startMNServer(t, dir, "127.0.0.1:0")
	addr := s1.hs.Listener.Addr().String()
	st := s1.st
	secret, hash := auth.NewWorkerToken()
	must(t, st.CreateDeviceType(ctx, model.DeviceType{Name: "local"}))
	must(t, st.CreateWorker(ctx, model.Worker{Hostname: "w1", State: model.WorkerOnline, Health: model.WorkerActive, TokenHash: hash}))
	for _, d := range []string{"d1", "d2"} {
		must(t, st.CreateDevice(ctx, model.Device{Hostname: d, DeviceType: "local", Worker: "w1", Health: model.DeviceGood, Dictionary: "{% extends 'local.jinja2' %}"}))
	}
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
	got, err := st.(store.Multinode).AssignGroup(ctx, []store.Assignment{{Job: jobs[0], Device: "d1"}, {Job: jobs[1], Device: "d2"}})
	must(t, err)
	if len(got) != 2 {
		t.Fatalf("group assignment: %v", got)
	}
	client := &worker.Client{URL: "http://" + addr, Token: secret, Version: "v1", Name: "w1"}
	ans, err := client.Poll(ctx, workerproto.PollRequest{}, time.Second)
	must(t, err)
	tokens := map[int64]string{}
	for _, s := range ans.Start {
		tokens[s.ID] = s.Token
	}
	server := worker.JobMultinode{Client: client, ID: jobs[0].ID, Token: tokens[jobs[0].ID]}
	clientJob := worker.JobMultinode{Client: client, ID: jobs[1].ID, Token: tokens[jobs[1].ID]}
	sender := strconv.FormatInt(jobs[0].ID, 10)

	resp, err := server.Call(ctx, multinode.Request{Op: multinode.OpSend, MessageID: "before", Data: map[string]string{"v": "1"}})
	must(t, err)
	if resp.Nack {
		t.Fatalf("send: %+v", resp)
	}
	waited := make(chan multinode.Response, 1)
	go func() {
		resp, err := clientJob.Call(ctx, multinode.Request{Op: multinode.OpWait, MessageID: "after", TimeoutMS: 20000})
		if err != nil {
			t.Errorf("the wait across the restart: %v", err)
		}
		waited <- resp
	}()
	time.Sleep(300 * time.Millisecond)
	s1.stop()
	// Down for a while: the waiting sub-job's requests are refused.
	time.Sleep(1500 * time.Millisecond)
	startMNServer(t, dir, addr)

	resp, err = server.Call(ctx, multinode.Request{Op: multinode.OpSend, MessageID: "after", Data: map[string]string{"v": "2"}})
	must(t, err)
	if resp.Nack {
		t.Fatalf("send after the restart: %+v", resp)
	}
	if w := <-waited; w.Nack || w.Messages[sender]["v"] != "2" {
		t.Errorf("the wait across the restart: %+v", w)
	}
	if r, err := clientJob.Call(ctx, multinode.Request{Op: multinode.OpWait, MessageID: "before", TimeoutMS: 2000}); err != nil || r.Nack || r.Messages[sender]["v"] != "1" {
		t.Errorf("a message sent before the restart, asked after it: %+v %v", r, err)
	}
}
