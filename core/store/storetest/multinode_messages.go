package storetest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// testMultinodeMessages (issue 21): a group's lava-send messages are kept
// in the store, idempotent per sender, ordered by a commit sequence,
// announced by an event, and removed with their jobs.
func testMultinodeMessages(t *testing.T, st store.Store) {
	mn, ok := st.(store.Multinode)
	if !ok {
		t.Skipf("%T does not implement store.Multinode", st)
	}
	c := ctx(t)
	sub := model.Job{Description: "mn", Definition: "x", RequestedDeviceType: "qemu", Submitter: "alice"}
	g, err := st.CreateJobs(c, []model.Job{sub, sub})
	must(t, err)
	other, err := st.CreateJobs(c, []model.Job{sub, sub})
	must(t, err)
	single := submit(t, st, model.Job{Description: "single"})
	group := g[0].TargetGroup

	sctx, cancel := context.WithCancel(c)
	defer cancel()
	evs, err := st.Subscribe(sctx, store.TopicMultinode)
	must(t, err)

	put := func(sender model.Job, id string, data map[string]string) store.MultinodeMessage {
		t.Helper()
		m, err := mn.PutMultinodeMessage(c, store.MultinodeMessage{Group: sender.TargetGroup, MessageID: id, Sender: sender.ID, Data: data})
		must(t, err)
		return m
	}
	read := func(after int64) []store.MultinodeMessage {
		t.Helper()
		ms, err := mn.MultinodeMessages(c, group, after)
		must(t, err)
		return ms
	}
	if ms := read(0); len(ms) != 0 {
		t.Fatalf("a new group has messages: %+v", ms)
	}
	m1 := put(g[0], "ready", map[string]string{"ip": "10.0.0.1"})
	if m1.Seq <= 0 || m1.Created.IsZero() {
		t.Errorf("stored message %+v has no seq or time", m1)
	}
	waitEvent(t, evs, store.Event{Topic: store.TopicMultinode, Key: group})
	// The same send again changes nothing (a worker's retry).
	if again := put(g[0], "ready", map[string]string{"ip": "10.0.0.1"}); again.Seq != m1.Seq {
		t.Errorf("the same send again took seq %d, want %d", again.Seq, m1.Seq)
	}
	m2 := put(g[1], "ready", nil)
	if m2.Seq <= m1.Seq {
		t.Errorf("second message seq %d not above %d", m2.Seq, m1.Seq)
	}
	ms := read(0)
	if len(ms) != 2 || ms[0].Sender != g[0].ID || ms[0].MessageID != "ready" || ms[0].Data["ip"] != "10.0.0.1" ||
		ms[1].Sender != g[1].ID || ms[1].Data == nil || len(ms[1].Data) != 0 || ms[0].Group != group {
		t.Fatalf("messages = %+v", ms)
	}
	// Other data from the same sender replace its message, with a new seq:
	// a reader that saw up to m2 sees the change.
	m3 := put(g[0], "ready", map[string]string{"ip": "10.0.0.2", "port": "22"})
	if m3.Seq <= m2.Seq {
		t.Errorf("replaced message seq %d not above %d", m3.Seq, m2.Seq)
	}
	if ms := read(m2.Seq); len(ms) != 1 || !maps.Equal(ms[0].Data, map[string]string{"ip": "10.0.0.2", "port": "22"}) || ms[0].Seq != m3.Seq {
		t.Errorf("messages after seq %d = %+v", m2.Seq, ms)
	}
	if ms := read(0); len(ms) != 2 || ms[0].Sender != g[1].ID || ms[1].Sender != g[0].ID {
		t.Errorf("messages after a replacement = %+v", ms)
	}
	// Groups do not mix.
	put(other[0], "ready", map[string]string{"k": "v"})
	if ms := read(m3.Seq); len(ms) != 0 {
		t.Errorf("another group's message was read: %+v", ms)
	}

	// Bad senders.
	for _, m := range []store.MultinodeMessage{
		{Group: group, MessageID: "x", Sender: single.ID},   // no group
		{Group: group, MessageID: "x", Sender: other[1].ID}, // another group
		{Group: group, MessageID: "", Sender: g[0].ID},      // no message id
		{Group: "", MessageID: "x", Sender: g[0].ID},        // no group named
	} {
		_, err := mn.PutMultinodeMessage(c, m)
		wantErr(t, err, store.ErrInvalid)
	}
	_, err = mn.PutMultinodeMessage(c, store.MultinodeMessage{Group: group, MessageID: "x", Sender: single.ID + 1000})
	wantErr(t, err, store.ErrNotFound)
	_, err = mn.MultinodeMessages(c, "", 0)
	wantErr(t, err, store.ErrInvalid)

	// Concurrent sends of a group each get a seq of their own, in commit
	// order: the seqs after m3 are m3+1 ... m3+n, none lost.
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := mn.PutMultinodeMessage(c, store.MultinodeMessage{Group: group, MessageID: fmt.Sprintf("m%d", i), Sender: g[i%2].ID,
				Data: map[string]string{"i": fmt.Sprint(i)}})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		must(t, err)
	}
	ms = read(m3.Seq)
	var seqs []int64
	for _, m := range ms {
		seqs = append(seqs, m.Seq)
	}
	if len(ms) != n || seqs[0] != m3.Seq+1 || seqs[n-1] != m3.Seq+n || !slices.IsSorted(seqs) {
		t.Errorf("concurrent sends stored seqs %v, want %d..%d", seqs, m3.Seq+1, m3.Seq+n)
	}

	// Retention: the messages go with their jobs.
	for _, j := range g {
		_, err := st.FailJob(c, j.ID, "done")
		must(t, err)
	}
	_, err = st.RemoveJobs(c, store.RemoveFilter{Before: time.Now().Add(time.Hour), AfterID: g[0].ID - 1, Limit: 2})
	must(t, err)
	if ms := read(0); len(ms) != 0 {
		t.Errorf("%d messages outlived their jobs", len(ms))
	}
	if ms, err := mn.MultinodeMessages(c, other[0].TargetGroup, 0); err != nil || len(ms) != 1 {
		t.Errorf("the other group's messages after removing the first group: %+v %v", ms, err)
	}
}
