package dispatch

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/multinode"
	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/store/sqlite"
	"github.com/lavalab/lavalab/sdk"
)

// coordClient is a sub-job's way to a real in-process Coordinator (what
// lava-worker does over HTTP, workerproto.JobMultinode).
type coordClient struct {
	c  *multinode.Coordinator
	id int64
}

func (k coordClient) Group(ctx context.Context) (multinode.Group, error) { return k.c.Group(ctx, k.id) }
func (k coordClient) Call(ctx context.Context, r multinode.Request) (multinode.Response, error) {
	for {
		resp, err := k.c.Call(ctx, k.id, r)
		if err != nil || !resp.Pending {
			return resp, err
		}
	}
}
func (k coordClient) Watch(ctx context.Context) (multinode.Watch, error) { return k.c.Watch(ctx, k.id) }

// mnGroup stores a multinode definition's sub-jobs and returns them with a
// coordinator over the store.
func mnGroup(t *testing.T, def string) (*multinode.Coordinator, *sqlite.Store, []model.Job) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "lava.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	d, rep := job.Parse([]byte(def))
	if !rep.OK() {
		t.Fatal(rep.Err())
	}
	var js []model.Job
	for _, s := range d.Split() {
		js = append(js, model.Job{Description: "mn", Definition: string(s.Text), RequestedDeviceType: "local", Submitter: "alice", Visibility: model.VisibilityPublic})
	}
	out, err := st.CreateJobs(context.Background(), js)
	if err != nil {
		t.Fatal(err)
	}
	return multinode.New(st, multinode.Options{}), st, out
}

const mnLocalDef = `job_name: multinode on local devices
visibility: public
timeouts:
  job: {minutes: 2}
  action: {minutes: 1}
protocols:
  lava-multinode:
    timeout: {seconds: 60}
    roles:
      server: {device_type: local, count: 1}
      client: {device_type: local, count: 1}
actions:
- boot:
    role: [server, client]
    method: minimal
    prompts: ['lava-local: # ']
- test:
    role: [server]
    definitions:
    - from: inline
      name: server
      path: inline/server.yaml
      repository:
        metadata: {format: Lava-Test Test Definition 1.0, name: server}
        run:
          steps:
          - lava-sync ready
          - lava-send value answer=42 unit=things
          - test "$(lava-role)" = server && lava-test-case role --result pass
          - lava-group client > /dev/null && lava-test-case group-has-client --result pass
- test:
    role: [client]
    definitions:
    - from: inline
      name: client
      path: inline/client.yaml
      repository:
        metadata: {format: Lava-Test Test Definition 1.0, name: client}
        run:
          steps:
          - export LAVA_MULTI_NODE_CACHE=$(mktemp)
          - lava-sync ready
          - lava-wait value
          - lava-test-case got-answer --result pass --measurement "$(grep ':answer=' $LAVA_MULTI_NODE_CACHE | cut -d= -f2)" --units "$(grep ':unit=' $LAVA_MULTI_NODE_CACHE | cut -d= -f2)"
          - test "$(lava-self)" = "$LAVA_JOB_ID" && lava-test-case self --result pass
- test:
    role: [client]
    interactive:
    - name: mn-interactive
      prompts: ['lava-local: # ']
      script:
      - lava-wait: value
      - command: echo "answer is {answer} {unit}"
        name: substituted
        successes:
        - message: '^answer is 42 things'
`

// TestRunMultinodeLocal runs a two-role multinode job on two local
// devices with a real coordinator: both sync, the server sends a value the
// client waits for and records as a measurement.
func TestRunMultinodeLocal(t *testing.T) {
	coord, _, jobs := mnGroup(t, mnLocalDef)
	d := newDispatcher(t)
	outs := make([]Outcome, len(jobs))
	recs := make([]*recorder, len(jobs))
	var wg sync.WaitGroup
	for i, j := range jobs {
		recs[i] = &recorder{}
		wg.Go(func() {
			outs[i] = d.Run(context.Background(), Request{JobID: j.ID, Definition: []byte(j.Definition), DeviceName: "local-" + j.SubID,
				Dictionary: localDict(t, ""), Driver: loadLocal(t), Multinode: coordClient{coord, j.ID}}, recs[i])
		})
	}
	wg.Wait()
	for i := range jobs {
		wantComplete(t, outs[i], recs[i])
	}
	wantCases(t, outs[0], map[string]string{"0_server/role": "pass", "0_server/group-has-client": "pass",
		"0_server/multinode-sync-ready": "pass", "0_server/multinode-send-value": "pass"})
	wantCases(t, outs[1], map[string]string{"0_client/got-answer": "pass", "0_client/self": "pass",
		"0_client/multinode-wait-value": "pass", "1_mn-interactive/substituted": "pass", "lava/1_mn-interactive": "pass"})
	c, _ := caseResult(outs[1].Cases, "0_client", "got-answer")
	if c.Measurement == nil || *c.Measurement != 42 || c.Units != "things" {
		t.Errorf("got-answer: measurement %v %q\nlog:\n%s", c.Measurement, c.Units, recs[1].text())
	}
	if !strings.Contains(recs[1].text(), "<LAVA_WAIT_COMPLETE "+itoa(jobs[0].ID)+":answer=42 "+itoa(jobs[0].ID)+":unit=things>") {
		t.Errorf("the client's log lacks the wait's answer:\n%s", recs[1].text())
	}
}

// TestRunMultinodeGroupFails: a sub-job whose group fails (another sub-job
// ended Incomplete) ends Incomplete with the reason, even while it waits.
func TestRunMultinodeGroupFails(t *testing.T) {
	coord, st, jobs := mnGroup(t, strings.Replace(mnLocalDef, "- lava-sync ready\n          - lava-send value", "- lava-sync ready\n          - lava-wait never-sent\n          - lava-send value", 1))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = coord.Run(ctx) }()
	d := newDispatcher(t)
	rec := &recorder{}
	done := make(chan Outcome, 1)
	go func() {
		done <- d.Run(ctx, Request{JobID: jobs[0].ID, Definition: []byte(jobs[0].Definition), DeviceName: "local-0",
			Dictionary: localDict(t, ""), Driver: loadLocal(t), Multinode: coordClient{coord, jobs[0].ID}}, rec)
	}()
	// The client starts with the group, then its worker is lost.
	if r, err := coord.Call(ctx, jobs[1].ID, multinode.Request{Op: multinode.OpSync, MessageID: multinode.StartMessage, TimeoutMS: 60000}); err != nil || r.Nack {
		t.Fatalf("client start: %+v %v", r, err)
	}
	if r, err := coord.Call(ctx, jobs[1].ID, multinode.Request{Op: multinode.OpSync, MessageID: "ready", TimeoutMS: 60000}); err != nil || r.Nack {
		t.Fatalf("client sync: %+v %v", r, err)
	}
	lab := func() {
		_ = st.CreateDeviceType(ctx, model.DeviceType{Name: "local"})
		_ = st.CreateWorker(ctx, model.Worker{Hostname: "w2", State: model.WorkerOnline, Health: model.WorkerActive})
		_ = st.CreateDevice(ctx, model.Device{Hostname: "d2", DeviceType: "local", Worker: "w2", Health: model.DeviceGood})
	}
	lab()
	if _, err := st.Assign(ctx, []store.Assignment{{Job: jobs[1], Device: "d2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.FinishJob(ctx, jobs[1].ID, store.JobResult{Health: model.JobIncomplete, ErrorType: "Infrastructure", FailureComment: "worker w2 has been silent"}); err != nil {
		t.Fatal(err)
	}
	out := <-done
	if out.Health != model.JobIncomplete || out.ErrorType != sdk.ErrorJob ||
		!strings.Contains(out.Error, "multinode group failed: sub-job "+jobs[1].SubID+" (role client) ended Incomplete: worker w2 has been silent") {
		t.Fatalf("server sub-job: %s %s: %s\nlog:\n%s", out.Health, out.ErrorType, out.Error, rec.text())
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
