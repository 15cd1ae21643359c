package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

func records(from, n int) []model.LogRecord {
	base := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	out := make([]model.LogRecord, n)
	for i := range out {
		idx := int64(from + i)
		out[i] = model.LogRecord{Index: idx, Time: base.Add(time.Duration(idx) * time.Millisecond), Level: model.LevelTarget,
			Message: fmt.Sprintf("line %d", idx)}
	}
	return out
}

func testLogs(t *testing.T, st store.Store) {
	c := ctx(t)
	j := submit(t, st, model.Job{Description: "logs"})
	recs := records(0, 10)
	recs[3] = model.LogRecord{Index: 3, Time: recs[3].Time, Level: model.LevelResults, Message: `{"case":"x","result":"pass"}`, Structured: true}
	recs[4].NS, recs[4].Level = "ns1", model.LevelFeedback

	next, err := st.AppendLogs(c, j.ID, 0, recs[:5])
	must(t, err)
	if next != 5 {
		t.Errorf("next = %d, want 5", next)
	}
	// A resent batch is acknowledged, not duplicated.
	next, err = st.AppendLogs(c, j.ID, 0, recs[:5])
	must(t, err)
	if next != 5 {
		t.Errorf("resend: next = %d, want 5", next)
	}
	// An overlapping batch stores only the new part.
	next, err = st.AppendLogs(c, j.ID, 3, recs[3:8])
	must(t, err)
	if next != 8 {
		t.Errorf("overlap: next = %d, want 8", next)
	}
	// A gap is refused and changes nothing.
	_, err = st.AppendLogs(c, j.ID, 9, recs[9:])
	wantErr(t, err, store.ErrConflict)
	if n, err := st.LogCount(c, j.ID); err != nil || n != 8 {
		t.Errorf("LogCount after a refused gap = %d, %v; want 8", n, err)
	}
	next, err = st.AppendLogs(c, j.ID, 8, recs[8:])
	must(t, err)
	if next != 10 {
		t.Errorf("next = %d, want 10", next)
	}
	next, err = st.AppendLogs(c, j.ID, 10, nil)
	must(t, err)
	if next != 10 {
		t.Errorf("empty batch: next = %d", next)
	}
	all, err := st.ReadLogs(c, j.ID, 0, 0)
	must(t, err)
	if !reflect.DeepEqual(all, recs) {
		t.Errorf("ReadLogs = %+v\nwant %+v", all, recs)
	}
	for _, tc := range []struct {
		from  int64
		limit int
		want  []model.LogRecord
	}{{0, 3, recs[:3]}, {3, 3, recs[3:6]}, {8, 5, recs[8:]}, {10, 5, []model.LogRecord{}}, {100, 5, []model.LogRecord{}}} {
		got, err := st.ReadLogs(c, j.ID, tc.from, tc.limit)
		must(t, err)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ReadLogs(%d, %d) = %+v, want %+v", tc.from, tc.limit, got, tc.want)
		}
	}
	// Another job's log is its own.
	k := submit(t, st, model.Job{Description: "other"})
	_, err = st.AppendLogs(c, k.ID, 1, records(1, 1))
	wantErr(t, err, store.ErrConflict)
	next, err = st.AppendLogs(c, k.ID, 0, records(0, 1))
	must(t, err)
	if next != 1 {
		t.Errorf("other job next = %d", next)
	}
	_, err = st.AppendLogs(c, 99999, 0, records(0, 1))
	wantErr(t, err, store.ErrNotFound)
	_, err = st.LogCount(c, 99999)
	wantErr(t, err, store.ErrNotFound)
	// A large batch goes through (several INSERTs).
	big := records(0, 1234)
	l := submit(t, st, model.Job{Description: "big"})
	next, err = st.AppendLogs(c, l.ID, 0, big)
	must(t, err)
	got, err := st.ReadLogs(c, l.ID, 1200, 100)
	must(t, err)
	if next != 1234 || len(got) != 34 || !reflect.DeepEqual(got[33], big[1233]) {
		t.Errorf("big batch: next %d, tail %d records", next, len(got))
	}
}

// testConcurrentLogs: many jobs appending at once (the stores commit
// concurrent calls together), with resends, gaps and an unknown job mixed
// in: each call gets its own answer and every log ends exact.
func testConcurrentLogs(t *testing.T, st store.Store) {
	c := ctx(t)
	const jobs, batches, per = 24, 20, 7
	ids := make([]int64, jobs)
	for i := range ids {
		ids[i] = submit(t, st, model.Job{Description: "clog" + strconv.Itoa(i)}).ID
	}
	errs := make(chan error, jobs+1)
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			for b := 0; b < batches; b++ {
				first := b * per
				recs := records(first, per)
				if _, err := st.AppendLogs(c, id, int64(first+per+1), records(first+per+1, 1)); !errors.Is(err, store.ErrConflict) {
					errs <- fmt.Errorf("job %d: gap at batch %d: %v, want a conflict", id, b, err)
					return
				}
				for range 2 { // the second is a resend
					next, err := st.AppendLogs(c, id, int64(first), recs)
					if err != nil || next != int64(first+per) {
						errs <- fmt.Errorf("job %d batch %d: next %d, %v; want %d", id, b, next, err, first+per)
						return
					}
				}
			}
		})
	}
	wg.Go(func() {
		for range batches {
			if _, err := st.AppendLogs(c, 99999, 0, records(0, 1)); !errors.Is(err, store.ErrNotFound) {
				errs <- fmt.Errorf("unknown job: %v, want not found", err)
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, id := range ids {
		got, err := st.ReadLogs(c, id, 0, batches*per+10)
		must(t, err)
		if n, err := st.LogCount(c, id); err != nil || n != batches*per || !reflect.DeepEqual(got, records(0, batches*per)) {
			t.Errorf("job %d: LogCount %d (%v), %d records read; want exactly records 0..%d", id, n, err, len(got), batches*per-1)
		}
	}
}

func testResults(t *testing.T, st store.Store) {
	c := ctx(t)
	j := submit(t, st, model.Job{Description: "results"})
	m := 12.5
	cases := []model.TestCase{
		{Suite: "lava", Name: "job", Result: model.ResultPass, Metadata: json.RawMessage(`{"case":"job","result":"pass"}`)},
		{Suite: "0_smoke", Name: "linux-posix-pwd", Result: model.ResultPass, LogStart: 10, LogEnd: 12},
		{Suite: "0_smoke", Name: "linux-posix-uname", Result: model.ResultFail, Set: "set1"},
		{Suite: "0_smoke", Name: "boot-time", Result: model.ResultPass, Measurement: &m, Units: "seconds"},
		{Suite: "lava", Name: "login-action", Result: model.ResultSkip},
	}
	must(t, st.AddTestCases(c, j.ID, cases[:2]))
	must(t, st.AddTestCases(c, j.ID, cases[2:]))
	wantErr(t, st.AddTestCases(c, 99999, cases[:1]), store.ErrNotFound)
	wantErr(t, st.AddTestCases(c, j.ID, []model.TestCase{{Suite: "", Name: "x"}}), store.ErrInvalid)
	suites, err := st.ListTestSuites(c, j.ID)
	must(t, err)
	if len(suites) != 2 || suites[0].Name != "lava" || suites[1].Name != "0_smoke" || suites[0].JobID != j.ID {
		t.Errorf("ListTestSuites = %+v", suites)
	}
	all, err := st.ListTestCases(c, j.ID, "", 0, 0)
	must(t, err)
	if len(all) != 5 {
		t.Fatalf("ListTestCases = %d cases", len(all))
	}
	for i, got := range all {
		want := cases[i]
		if got.Suite != want.Suite || got.Name != want.Name || got.Result != want.Result || got.Set != want.Set ||
			got.Units != want.Units || got.LogStart != want.LogStart || got.LogEnd != want.LogEnd || got.JobID != j.ID ||
			got.Logged.IsZero() || (want.Measurement == nil) != (got.Measurement == nil) {
			t.Errorf("case %d = %+v, want %+v", i, got, want)
		}
	}
	if *all[3].Measurement != 12.5 {
		t.Errorf("measurement = %v", *all[3].Measurement)
	}
	var meta map[string]string
	must(t, json.Unmarshal(all[0].Metadata, &meta))
	if meta["case"] != "job" {
		t.Errorf("metadata = %s", all[0].Metadata)
	}
	smoke, err := st.ListTestCases(c, j.ID, "0_smoke", 1, 1)
	must(t, err)
	if len(smoke) != 1 || smoke[0].Name != "linux-posix-uname" {
		t.Errorf("ListTestCases(0_smoke, 1, 1) = %+v", smoke)
	}
	tail, err := st.ListTestCases(c, j.ID, "", 3, 0)
	must(t, err)
	if len(tail) != 2 || tail[0].Name != "boot-time" {
		t.Errorf("ListTestCases(offset 3) = %+v", tail)
	}
}

func drainEvents(ch <-chan store.Event) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// waitEvent waits for ev, skipping others.
func waitEvent(t testing.TB, ch <-chan store.Event, ev store.Event) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case got, ok := <-ch:
			if !ok {
				t.Fatalf("event channel closed while waiting for %+v", ev)
			}
			if got == ev {
				return
			}
		case <-timeout:
			t.Fatalf("no event %+v within 10s", ev)
		}
	}
}

// noEvent checks that nothing of the channel's topics arrives for a while.
func noEvent(t testing.TB, ch <-chan store.Event, d time.Duration) {
	t.Helper()
	select {
	case got := <-ch:
		t.Errorf("unexpected event %+v", got)
	case <-time.After(d):
	}
}

func testEvents(t *testing.T, st store.Store) {
	c := ctx(t)
	lab(t, st, "d1")
	sctx, cancel := context.WithCancel(c)
	defer cancel()
	all, err := st.Subscribe(sctx, store.TopicJobSubmitted, store.TopicDeviceFree, store.TopicJobScheduled,
		store.TopicJobCanceling, store.TopicJobFinished, store.TopicLogs)
	must(t, err)
	logsOnly, err := st.Subscribe(sctx, store.TopicLogs)
	must(t, err)

	j := submit(t, st, model.Job{Description: "ev"})
	key := strconv.FormatInt(j.ID, 10)
	waitEvent(t, all, store.Event{Topic: store.TopicJobSubmitted, Key: key})
	// After commit: a subscriber woken by the event reads the change.
	if got := getJob(t, st, j.ID); got.ID != j.ID {
		t.Fatal("job not readable after its event")
	}
	schedule(t, st, j, "d1")
	waitEvent(t, all, store.Event{Topic: store.TopicJobScheduled, Key: "w1"})
	_, err = st.AppendLogs(c, j.ID, 0, records(0, 2))
	must(t, err)
	waitEvent(t, logsOnly, store.Event{Topic: store.TopicLogs, Key: key})
	_, err = st.StartJob(c, j.ID)
	must(t, err)
	_, err = st.FinishJob(c, j.ID, store.JobResult{Health: model.JobComplete})
	must(t, err)
	waitEvent(t, all, store.Event{Topic: store.TopicJobFinished, Key: key})
	waitEvent(t, all, store.Event{Topic: store.TopicDeviceFree, Key: "d1"})

	// A refused change publishes nothing.
	drainEvents(logsOnly)
	_, err = st.AppendLogs(c, j.ID, 50, records(50, 1))
	wantErr(t, err, store.ErrConflict)
	_, err = st.CreateJobs(c, []model.Job{{Priority: 1000, RequestedDeviceType: "qemu"}})
	wantErr(t, err, store.ErrInvalid)
	noEvent(t, logsOnly, 300*time.Millisecond)

	// Publish reaches subscribers of the topic only.
	must(t, st.Publish(c, store.Event{Topic: store.TopicLogs, Key: "custom"}))
	waitEvent(t, logsOnly, store.Event{Topic: store.TopicLogs, Key: "custom"})
	must(t, st.Publish(c, store.Event{Topic: store.TopicDeviceFree, Key: "x"}))
	noEvent(t, logsOnly, 300*time.Millisecond)

	// A keyed subscription gets its key's events of its topic, and the
	// topic's events without a key (a wake-up for every follower), no
	// other key's and no other topic's.
	oneJob, err := st.Subscribe(sctx, store.KeyTopic(store.TopicLogs, "7"))
	must(t, err)
	must(t, st.Publish(c, store.Event{Topic: store.TopicLogs, Key: "8"}))
	must(t, st.Publish(c, store.Event{Topic: store.TopicJobFinished, Key: "7"}))
	must(t, st.Publish(c, store.Event{Topic: store.TopicLogs, Key: "7"}))
	must(t, st.Publish(c, store.Event{Topic: store.TopicLogs}))
	for _, want := range []store.Event{{Topic: store.TopicLogs, Key: "7"}, {Topic: store.TopicLogs}} {
		select {
		case got := <-oneJob:
			if got != want {
				t.Fatalf("keyed subscription: got %+v, want %+v (the events before it are not its own)", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("keyed subscription: no event %+v within 10s", want)
		}
	}
	noEvent(t, oneJob, 300*time.Millisecond)

	// Ending the context closes the channel.
	cancel()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case _, ok := <-logsOnly:
			if !ok {
				return
			}
		case <-deadline:
			t.Fatal("channel not closed after its context ended")
		}
	}
}

// testLogChunks: the stores keep a batch as one or more chunks (the SQL
// stores cap a chunk at 512 records); reads and resends across and inside
// chunk bounds see one sequence.
func testLogChunks(t *testing.T, st store.Store) {
	c := ctx(t)
	j := submit(t, st, model.Job{Description: "chunks"})
	all := records(0, 2000)
	// Bigger than a chunk: split.
	next, err := st.AppendLogs(c, j.ID, 0, all[:1100])
	must(t, err)
	if next != 1100 {
		t.Fatalf("next = %d, want 1100", next)
	}
	// A resend overlapping the end: only the new part is stored.
	next, err = st.AppendLogs(c, j.ID, 1000, all[1000:1129])
	must(t, err)
	if next != 1129 {
		t.Fatalf("overlapping resend: next = %d, want 1129", next)
	}
	// Small batches, and a resend of a whole one.
	for first := 1129; first < 1300; first += 29 {
		end := min(first+29, 1300)
		for range 2 {
			next, err = st.AppendLogs(c, j.ID, int64(first), all[first:end])
			must(t, err)
			if next != int64(end) {
				t.Fatalf("batch at %d: next = %d, want %d", first, next, end)
			}
		}
	}
	// One batch overlapping the end by all but one record.
	next, err = st.AppendLogs(c, j.ID, 1200, all[1200:2000])
	must(t, err)
	if next != 2000 {
		t.Fatalf("next = %d, want 2000", next)
	}
	if n, err := st.LogCount(c, j.ID); err != nil || n != 2000 {
		t.Fatalf("LogCount = %d, %v; want 2000", n, err)
	}
	for _, tc := range []struct {
		from  int64
		limit int
	}{
		{0, 2000}, {0, 1}, {1, 1}, {511, 2}, {512, 1}, {513, 600}, {700, 10}, {1099, 3}, {1100, 29}, {1128, 1},
		{1129, 5}, {1150, 100}, {1299, 2}, {1300, 1}, {1999, 10}, {2000, 10}, {1, 1999}, {5, 0},
	} {
		got, err := st.ReadLogs(c, j.ID, tc.from, tc.limit)
		must(t, err)
		limit := tc.limit
		if limit == 0 {
			limit = 1000
		}
		want := all[min(int(tc.from), 2000):min(int(tc.from)+limit, 2000)]
		if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Errorf("ReadLogs(%d, %d): %d records (first %+v), want %d", tc.from, tc.limit, len(got), first(got), len(want))
		}
	}
	// Paging through the whole log in odd steps.
	var paged []model.LogRecord
	for from := int64(0); ; {
		got, err := st.ReadLogs(c, j.ID, from, 37)
		must(t, err)
		if len(got) == 0 {
			break
		}
		paged = append(paged, got...)
		from += int64(len(got))
	}
	if !reflect.DeepEqual(paged, all) {
		t.Errorf("paging: %d records, want the 2000 appended", len(paged))
	}
}

func first(recs []model.LogRecord) any {
	if len(recs) == 0 {
		return nil
	}
	return recs[0]
}

// LogTexts are messages with every kind of character a store must keep.
var LogTexts = []string{
	"",
	"plain ascii",
	`"double" 'single' ` + "`back`",
	`back\slash \\ \n \u0041 \"`,
	"new\nline\r\ncarriage\ttab",
	"nul \x00 byte",
	"\x01\x02\x07\x08\x0b\x0c\x1b[0;32mcolour\x1b[0m\x1f\x7f",
	"héllo wörld — ünïcödé ✓",
	"日本語のログ 中文 한국어",
	"emoji 🚀🔥 and a flag 🇫🇷",
	"\u2028line separator\u2029paragraph",
	"\ufffd replacement char kept",
	"{\"case\":\"x\",\"result\":\"pass\",\"nested\":{\"a\":[1,2,\"\\\"\"]}}",
	"]],[[\"0\",1,not json",
	strings.Repeat("long line ", 500),
}

// testLogText: every message above, as text and as a structured record,
// and in levels and namespaces, reads back exactly.
func testLogText(t *testing.T, st store.Store) {
	c := ctx(t)
	j := submit(t, st, model.Job{Description: "text"})
	base := time.Date(2024, 5, 1, 12, 0, 0, 123456000, time.UTC)
	var want []model.LogRecord
	for i, s := range LogTexts {
		want = append(want,
			model.LogRecord{Time: base.Add(time.Duration(i) * time.Microsecond), Level: model.LevelTarget, Message: s},
			model.LogRecord{Time: base, Level: model.LevelResults, Message: s, Structured: true, NS: s},
			model.LogRecord{Level: s, Message: s, NS: "ns-" + strconv.Itoa(i)})
	}
	for i := range want {
		want[i].Index = int64(i)
	}
	for first := 0; first < len(want); first += 7 {
		_, err := st.AppendLogs(c, j.ID, int64(first), want[first:min(first+7, len(want))])
		must(t, err)
	}
	got, err := st.ReadLogs(c, j.ID, 0, len(want)+5)
	must(t, err)
	if len(got) != len(want) {
		t.Fatalf("read %d records, want %d", len(got), len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got[i], want[i]) {
			t.Errorf("record %d = %#v\nwant %#v", i, got[i], want[i])
		}
	}
}
