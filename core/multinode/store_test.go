package multinode

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/store/postgres"
	"github.com/lavalab/lavalab/core/store/sqlite"
	"github.com/lavalab/lavalab/core/testenv"
)

// The coordinator keeps no state of its own (issue 21): the messages and
// the group's fate are the store's, so two coordinators on one database
// (two lava-server instances) and a coordinator started anew (a restart)
// answer alike.

// instance is one coordinator over its own store handle, following the
// store's events (Run) with a sweep too slow to matter: a wait that ends
// was woken by the store's event.
type instance struct {
	c *Coordinator
}

func startInstance(t *testing.T, st store.Store) *instance {
	t.Helper()
	mst, ok := st.(Store)
	if !ok {
		t.Fatalf("%T is no multinode store", st)
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := New(mst, Options{PollCap: 20 * time.Second, Sweep: time.Hour})
	done := make(chan struct{})
	go func() { defer close(done); _ = c.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return &instance{c: c}
}

func (in *instance) call(t *testing.T, jobID int64, req Request) Response {
	t.Helper()
	r, err := in.c.Call(context.Background(), jobID, req)
	if err != nil {
		t.Errorf("%s %s of job %d: %v", req.Op, req.MessageID, jobID, err)
	}
	return r
}

// testInstances runs the shared scenario: a and b are two coordinators'
// store handles on one database (they may be the same handle), reopen
// gives a new handle on it for a coordinator built anew.
func testInstances(t *testing.T, a, b store.Store, reopen func() store.Store) {
	ctx := context.Background()
	ia, ib := startInstance(t, a), startInstance(t, b)
	jobs := createGroup(t, a) // server, client, client
	server, client1, client2 := jobs[0].ID, jobs[1].ID, jobs[2].ID

	// A lava-wait on b ends when the server sends on a.
	got := make(chan Response, 1)
	go func() { got <- ib.call(t, client1, Request{Op: OpWait, MessageID: "ready", TimeoutMS: 15000}) }()
	select {
	case r := <-got:
		t.Fatalf("lava-wait on b returned before the send: %+v", r)
	case <-time.After(200 * time.Millisecond):
	}
	if r := ia.call(t, server, Request{Op: OpSend, MessageID: "ready", Data: map[string]string{"ip": "10.0.0.1"}}); r.Nack {
		t.Fatalf("send: %+v", r)
	}
	if r := <-got; r.Nack || r.Messages[itoa(server)]["ip"] != "10.0.0.1" {
		t.Fatalf("lava-wait on b: %+v", r)
	}

	// lava-sync with the sub-jobs on two instances.
	done := make(chan Response, 2)
	go func() { done <- ia.call(t, server, Request{Op: OpSync, MessageID: "s1", TimeoutMS: 15000}) }()
	go func() { done <- ib.call(t, client1, Request{Op: OpSync, MessageID: "s1", TimeoutMS: 15000}) }()
	select {
	case r := <-done:
		t.Fatalf("lava-sync ended with a member missing: %+v", r)
	case <-time.After(200 * time.Millisecond):
	}
	if r := ib.call(t, client2, Request{Op: OpSync, MessageID: "s1", TimeoutMS: 15000}); r.Nack || len(r.Messages) != 3 {
		t.Errorf("last lava-sync: %+v", r)
	}
	for range 2 {
		if r := <-done; r.Nack || len(r.Messages) != 3 {
			t.Errorf("lava-sync: %+v", r)
		}
	}

	// A second send with other data replaces the sender's data on every
	// instance (their caches included).
	ia.call(t, server, Request{Op: OpSend, MessageID: "ready", Data: map[string]string{"ip": "10.0.0.2"}})
	if r := ib.call(t, client2, Request{Op: OpWait, MessageID: "ready", TimeoutMS: 5000}); r.Nack || r.Messages[itoa(server)]["ip"] != "10.0.0.2" {
		t.Errorf("lava-wait on b after a second send: %+v", r)
	}

	// A coordinator built anew (a restart) answers from the store, without
	// a new send: the message sent before, and the sync that completed.
	ic := startInstance(t, reopen())
	if r := ic.call(t, client1, Request{Op: OpWait, MessageID: "ready", TimeoutMS: 1000}); r.Nack || r.Messages[itoa(server)]["ip"] != "10.0.0.2" {
		t.Errorf("lava-wait after a restart: %+v", r)
	}
	if r := ic.call(t, client2, Request{Op: OpWaitAll, MessageID: "s1", TimeoutMS: 1000}); r.Nack || len(r.Messages) != 3 {
		t.Errorf("lava-wait-all after a restart: %+v", r)
	}

	// The group's failure is the store's too: a coordinator that did not
	// see the sub-job end learns it from the sub-jobs' states.
	fresh := reopen()
	if _, err := fresh.FailJob(ctx, client2, "board d3 died"); err != nil {
		t.Fatal(err)
	}
	id := startInstance(t, fresh)
	r := id.call(t, client1, Request{Op: OpWait, MessageID: "never", TimeoutMS: 15000})
	if want := "sub-job " + jobs[2].SubID + " (role client) ended Incomplete: board d3 died"; !r.Nack || !strings.Contains(r.Reason, want) {
		t.Errorf("lava-wait in a failed group after a restart: %+v, want a nack saying %q", r, want)
	}
	if w, err := id.c.Watch(ctx, server); err != nil || !w.Failed {
		t.Errorf("watch of a failed group after a restart: %+v %v", w, err)
	}
}

// TestInstancesSQLite: two coordinators on one SQLite store (one server
// holds a SQLite file), and a restart: the store closed and opened again.
func TestInstancesSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lava.db")
	open := func() *sqlite.Store {
		st, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	// One server holds the file at a time: a restart closes the handle
	// in use (its coordinators' reads then fail harmlessly until the test
	// ends) and opens the file again.
	cur := open()
	t.Cleanup(func() { cur.Close() })
	testInstances(t, cur, cur, func() store.Store {
		cur.Close()
		cur = open()
		return cur
	})
}

// TestInstancesPostgres: two lava-server instances' stores on one
// PostgreSQL schema; events cross between them by LISTEN/NOTIFY.
func TestInstancesPostgres(t *testing.T) {
	dsn := testenv.PostgresSchema(t, testenv.PostgresDSN(t), "lava_mn_")
	open := func() store.Store {
		st, err := postgres.Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	testInstances(t, open(), open(), open)
}
