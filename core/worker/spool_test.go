package worker

import (
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/lavalab/lavalab/core/model"
)

// failingDisk makes the spool's writes fail with ENOSPC (/dev/full) until
// the returned function gives it its file back.
func failingDisk(t *testing.T, s *spool) (restore func()) {
	t.Helper()
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full to make writes fail: %v", err)
	}
	s.mu.Lock()
	real := s.f
	s.f = full
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		s.f = real
		s.retryAt = s.retryAt.AddDate(-1, 0, 0) // try at the next call
		s.mu.Unlock()
		full.Close()
	}
}

func record(i int) model.LogRecord {
	return model.LogRecord{Level: model.LevelTarget, Message: "line " + strconv.Itoa(i)}
}

// isNote tells the spool's own warnings (disk failing, recovered) from
// the job's records.
func isNote(msg string) bool { return strings.HasPrefix(msg, "lava-worker: its disk") }

// fileLines reads the spool's log file, without the spool's notes.
func fileLines(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, spoolLog))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.Contains(l, `"msg":"lava-worker: its disk`) {
			out = append(out, l)
		}
	}
	return out
}

// sendAll drains the spool as the reporter does, acknowledging every
// batch, and returns the messages in index order (notes included).
func sendAll(t *testing.T, s *spool, from int) []string {
	t.Helper()
	var got []string
	for {
		first, recs, err := s.batch(500)
		if err != nil {
			t.Fatal(err)
		}
		if recs.n == 0 {
			return got
		}
		if first != int64(from+len(got)) {
			t.Fatalf("batch starts at %d, want %d", first, from+len(got))
		}
		for _, r := range decodeRecords(t, recs) {
			got = append(got, r.Message)
		}
		s.ack(first + int64(recs.n))
	}
}

// TestSpoolFullDiskRecovers: writes fail (ENOSPC) for a while: nothing is
// lost, the records go from memory, the status says so, and once the disk
// takes writes again the file holds every record once, in order.
func TestSpoolFullDiskRecovers(t *testing.T) {
	dir := t.TempDir()
	var st spoolStats
	s, err := openSpool(dir, &st, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	const before, during, after = 100, maxInMemory + 5000, 100 // during spills past the in-memory list
	for i := range before {
		s.Record(record(i))
	}
	restore := failingDisk(t, s)
	for i := before; i < before+during; i++ {
		s.Record(record(i))
	}
	// The reporter sends the first records while the disk refuses writes.
	first, recs, err := s.batch(1000)
	if err != nil || first != 0 || recs.n != 1000 {
		t.Fatalf("batch while failing: first %d, %d records, err %v", first, recs.n, err)
	}
	s.ack(1000)
	var sent []string
	for _, r := range decodeRecords(t, recs) {
		sent = append(sent, r.Message)
	}
	got := st.status()
	if got.Failing != 1 || got.Held < during || got.WriteErrors == 0 || got.Lost != 0 {
		t.Fatalf("status while failing: %+v, want 1 failing, >= %d held, some write errors, none lost", got, during)
	}
	restore()
	for i := before + during; i < before+during+after; i++ {
		s.Record(record(i))
	}
	sent = append(sent, sendAll(t, s, 1000)...)
	var msgs, notes []string
	for _, m := range sent {
		if isNote(m) {
			notes = append(notes, m)
		} else {
			msgs = append(msgs, m)
		}
	}
	if len(notes) != 2 || !strings.Contains(notes[0], "refuses this job's log") || !strings.Contains(notes[0], "no space left") ||
		!strings.Contains(notes[1], "takes this job's log again") {
		t.Fatalf("notes in the job's log: %q, want the failure (no space left) then the recovery", notes)
	}
	total := before + during + after
	if len(msgs) != total {
		t.Fatalf("sent %d records, want %d", len(msgs), total)
	}
	for i, m := range msgs {
		if want := "line " + strconv.Itoa(i); m != want {
			t.Fatalf("record %d: %q, want %q", i, m, want)
		}
	}
	if got := st.status(); got.Failing != 0 || got.Held != 0 || got.Lost != 0 {
		t.Fatalf("status after recovery: %+v, want nothing failing, held or lost", got)
	}
	lines := fileLines(t, dir)
	if len(lines) != total {
		t.Fatalf("file holds %d records, want %d", len(lines), total)
	}
	for i, l := range lines {
		if !strings.Contains(l, `"line `+strconv.Itoa(i)+`"`) {
			t.Fatalf("file line %d: %s", i, l)
		}
	}
	if ok, last := s.done(); !ok || last != int64(len(sent)-1) {
		t.Fatalf("done %v last %d, want true %d", ok, last, len(sent)-1)
	}
}

// TestSpoolMemoryBound: a disk that never takes writes again: records
// beyond the memory bound are dropped and counted, the others are all
// sent, indexes stay contiguous.
func TestSpoolMemoryBound(t *testing.T) {
	dir := t.TempDir()
	var st spoolStats
	s, err := openSpool(dir, &st, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.close()
	failingDisk(t, s)
	big := strings.Repeat("x", 64<<10)
	n := maxUnspooled/len(big) + 50
	for i := range n {
		s.Record(model.LogRecord{Level: model.LevelTarget, Message: strconv.Itoa(i) + big})
	}
	lost := s.lostRecords()
	if lost < 40 || lost > 60 {
		t.Fatalf("lost %d records, want about 50", lost)
	}
	if st.status().Lost != lost {
		t.Fatalf("status %+v, want lost %d", st.status(), lost)
	}
	var got []string
	for _, m := range sendAll(t, s, 0) {
		if !isNote(m) {
			got = append(got, m)
		}
	}
	if int64(len(got)) != int64(n)-lost {
		t.Fatalf("sent %d, want %d", len(got), int64(n)-lost)
	}
	for i, m := range got {
		if !strings.HasPrefix(m, strconv.Itoa(i)+"x") {
			t.Fatalf("record %d: %.20q", i, m)
		}
	}
}

// TestSpoolPartialWriteCut: a write cut in the middle of a record (the
// disk filled up mid-way) leaves no half record in the file once writes
// work again, and a reopened spool counts whole records only.
func TestSpoolPartialWriteCut(t *testing.T) {
	dir := t.TempDir()
	s, err := openSpool(dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		s.Record(record(i))
	}
	s.mu.Lock()
	if err := s.flushLocked(true); err != nil {
		t.Fatal(err)
	}
	// A half record on disk, as a write stopped by ENOSPC leaves it.
	if _, err := s.f.Write([]byte(`{"lvl":"target","msg":"half`)); err != nil {
		t.Fatal(err)
	}
	s.failed(os.ErrInvalid)
	s.mu.Unlock()
	for i := 10; i < 20; i++ {
		s.Record(record(i))
	}
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
	lines := fileLines(t, dir)
	if len(lines) != 20 {
		t.Fatalf("%d lines, want 20:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for i, l := range lines {
		if !strings.Contains(l, `"line `+strconv.Itoa(i)+`"`) {
			t.Fatalf("line %d: %s", i, l)
		}
	}
	s2, err := openSpool(dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.close()
	if _, last := s2.done(); last != 20 {
		t.Fatalf("reopened spool: last %d, want 20 (20 records and the note of the failure)", last)
	}
}

// TestLostOutcome: records lost make a Complete job Incomplete
// (Infrastructure); a job that already failed keeps its health and error
// type, the loss joins its error.
func TestLostOutcome(t *testing.T) {
	for _, tc := range []struct {
		in, want Outcome
	}{
		{Outcome{Health: model.JobComplete}, Outcome{Health: model.JobIncomplete, ErrorType: "Infrastructure", Error: "LOST"}},
		{Outcome{Health: model.JobIncomplete, ErrorType: "Test", Error: "boot failed"}, Outcome{Health: model.JobIncomplete, ErrorType: "Test", Error: "boot failed; LOST"}},
		{Outcome{Health: model.JobCanceled, ErrorType: "Canceled"}, Outcome{Health: model.JobCanceled, ErrorType: "Canceled", Error: "LOST"}},
	} {
		got := lostOutcome(tc.in, "LOST")
		if got.Health != tc.want.Health || got.ErrorType != tc.want.ErrorType || got.Error != tc.want.Error {
			t.Errorf("lostOutcome(%+v) = %+v, want %+v", tc.in, got, tc.want)
		}
	}
}

// TestMemSpool: a job whose spool folder the disk refused keeps its
// records in memory and sends them all; closing it clears the status.
func TestMemSpool(t *testing.T) {
	var st spoolStats
	s := memSpool(filepath.Join(t.TempDir(), "none"), &st, slog.New(slog.DiscardHandler), syscall.ENOSPC)
	for i := range 3000 {
		s.Record(record(i))
	}
	if got := st.status(); got.Failing != 1 || got.Held != 3001 {
		t.Fatalf("status %+v, want 1 failing, 3001 held (the records and the note)", got)
	}
	var msgs []string
	for _, m := range sendAll(t, s, 0) {
		if !isNote(m) {
			msgs = append(msgs, m)
		}
	}
	if len(msgs) != 3000 || msgs[2999] != "line 2999" {
		t.Fatalf("sent %d records (last %q), want 3000", len(msgs), msgs[len(msgs)-1])
	}
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
	if got := st.status(); got.Failing != 0 || got.Held != 0 {
		t.Fatalf("status after close %+v, want nothing failing or held", got)
	}
}

// The backlog (records not acknowledged) counts records and their spooled
// bytes, shrinks with acknowledgements, and is read back at a restart.
func TestSpoolBacklog(t *testing.T) {
	dir := t.TempDir()
	var st spoolStats
	s, err := openSpool(dir, &st, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		s.Record(model.LogRecord{Level: model.LevelInfo, Message: strings.Repeat("x", 10*(i+1))})
	}
	s.mu.Lock()
	s.flushLocked(true)
	s.mu.Unlock()
	fi, err := os.Stat(filepath.Join(dir, spoolLog))
	if err != nil {
		t.Fatal(err)
	}
	if got := st.status(); got.BacklogRecords != 5 || got.BacklogBytes != fi.Size() {
		t.Fatalf("backlog %d records %d bytes, want 5 and the file's %d", got.BacklogRecords, got.BacklogBytes, fi.Size())
	}
	s.ack(2)
	after := st.status()
	if after.BacklogRecords != 3 || after.BacklogBytes >= fi.Size() || after.BacklogBytes <= 0 {
		t.Fatalf("after ack 2: %+v", after)
	}
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
	if got := st.status(); got.BacklogRecords != 0 || got.BacklogBytes != 0 {
		t.Fatalf("after close: %+v", got)
	}
	// A restart reads the unacknowledged records back as the backlog.
	var st2 spoolStats
	s2, err := openSpool(dir, &st2, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.close()
	if got := st2.status(); got.BacklogRecords != 3 || got.BacklogBytes != after.BacklogBytes {
		t.Fatalf("after restart: %+v, want %+v's backlog", got, after)
	}
	s2.ack(5)
	if got := st2.status(); got.BacklogRecords != 0 || got.BacklogBytes != 0 {
		t.Fatalf("all acknowledged: %+v", got)
	}
}
