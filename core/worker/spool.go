package worker

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/lavalab/lavalab/core/workerproto"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lavalab/lavalab/core/model"
)

// Spool files of one job, in <work-dir>/jobs/<id>/.
const (
	spoolStart = "start.json" // the poll's start entry (with the job token)
	spoolLog   = "log.jsonl"  // every record, one JSON Record a line
	spoolAcked = "acked"      // the next index the server acknowledged
	spoolEnd   = "end.json"   // the end report, once the job ended
)

// maxInMemory bounds the unacknowledged records kept in memory per job;
// beyond it they stay on disk only and are read back when the server
// catches up.
const maxInMemory = 20000

// Bounds of the records held while the disk refuses writes.
const (
	// maxUnspooled bounds the bytes of encoded records a job holds in
	// memory that are not on disk yet (a full disk, an I/O error). A record
	// that does not fit is dropped and counted as lost.
	maxUnspooled = 32 << 20
	// flushAt is how many unwritten bytes make Record write them at once
	// (batch writes them before every send).
	flushAt = 64 << 10
	// writeRetry is how long after a failed write the spool tries again
	// (a record that does not fit in memory tries at once).
	writeRetry = time.Second
)

// spoolStats are the worker-wide counters behind SpoolStatus, shared by
// the spools of its jobs.
type spoolStats struct {
	failing, held, writeErrors, lost atomic.Int64
	backlogRecords, backlogBytes     atomic.Int64
}

func (s *spoolStats) status() workerproto.SpoolStatus {
	return workerproto.SpoolStatus{Failing: s.failing.Load(), Held: s.held.Load(), WriteErrors: s.writeErrors.Load(), Lost: s.lost.Load(),
		BacklogRecords: s.backlogRecords.Load(), BacklogBytes: s.backlogBytes.Load()}
}

// spool is a job's log on the worker's disk: every record is appended to
// log.jsonl and kept in memory until the server acknowledges it. A write
// the disk refuses (full, I/O error) is not fatal: the unwritten records
// stay in memory (up to maxUnspooled bytes; beyond, records are dropped
// and counted), are sent from memory, and are written as soon as the disk
// takes them again.
type spool struct {
	dir   string
	log   *slog.Logger
	stats *spoolStats

	mu      sync.Mutex
	f       *os.File
	size    int64  // bytes of whole records in the file
	disk    int64  // records in the file (indexes 0..disk-1)
	buf     []byte // records disk..total-1, encoded, not in the file yet
	total   int64  // records given an index (next index to give)
	acked   int64  // next index the server expects
	mem     []byte // records acked..acked+memN-1, encoded as in the file (a line each)
	memN    int
	spilled bool  // records beyond mem are in the file or buf only
	werr    error // the last write error; nil while writes succeed
	retryAt time.Time
	lost    int64 // records of this job dropped
	// ackedWritten is when the acked file was last written.
	ackedWritten time.Time
	note         string // a warning for the job's log, added with the next record
	closed       bool
	line         []byte // Record's encoding buffer
	notify       chan struct{}
	// sizes are the spooled sizes of records acked..total-1 (the
	// backlog's bytes, in stats); sizes[0] is record first.
	sizes []int32
	first int64
}

// backlogAdd adds a record of n bytes to the backlog.
func (s *spool) backlogAdd(n int) {
	if len(s.sizes) == 0 {
		s.first = s.total - 1
	}
	s.sizes = append(s.sizes, int32(n))
	s.stats.backlogRecords.Add(1)
	s.stats.backlogBytes.Add(int64(n))
}

// backlogAck drops records before next from the backlog.
func (s *spool) backlogAck(next int64) {
	k := min(max(next-s.first, 0), int64(len(s.sizes)))
	if k == 0 {
		return
	}
	var b int64
	for _, n := range s.sizes[:k] {
		b += int64(n)
	}
	s.sizes = s.sizes[k:]
	s.first += k
	if len(s.sizes) == 0 {
		s.sizes = nil
	}
	s.stats.backlogRecords.Add(-k)
	s.stats.backlogBytes.Add(-b)
}

// openSpool opens (or creates) the spool in dir and reads back what a
// previous run left: the count of records and the acknowledged index.
// stats and log may be nil.
func openSpool(dir string, stats *spoolStats, log *slog.Logger) (*spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool %s: %w", dir, err)
	}
	path := filepath.Join(dir, spoolLog)
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("spool %s: %w", path, err)
	}
	// A record cut short by a crash or a full disk is dropped (it was
	// never sent from the file).
	if i := bytes.LastIndexByte(data, '\n'); i+1 != len(data) {
		data = data[:i+1]
		if err := os.Truncate(path, int64(len(data))); err != nil {
			return nil, fmt.Errorf("spool %s: %w", path, err)
		}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool %s: %w", path, err)
	}
	if stats == nil {
		stats = &spoolStats{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	n := int64(bytes.Count(data, []byte{'\n'}))
	s := &spool{dir: dir, log: log, stats: stats, f: f, size: int64(len(data)), disk: n, total: n, notify: make(chan struct{}, 1)}
	if b, err := os.ReadFile(filepath.Join(dir, spoolAcked)); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n >= 0 {
			// More than the file holds: records sent from memory while
			// the disk was full; those in the file are all acknowledged.
			s.acked = min(n, s.total)
		}
	}
	s.spilled = s.acked < s.total
	// What a previous run left unacknowledged is the backlog.
	idx := int64(0)
	for line := range bytes.Lines(data) {
		if idx >= s.acked {
			if len(s.sizes) == 0 {
				s.first = idx
			}
			s.sizes = append(s.sizes, int32(len(line)))
			s.stats.backlogRecords.Add(1)
			s.stats.backlogBytes.Add(int64(len(line)))
		}
		idx++
	}
	return s, nil
}

// memSpool is the spool of a job whose spool folder the disk refused
// (full): its records are held in memory only (up to maxUnspooled bytes)
// and sent from there; a restart of the worker loses the job (the server
// then ends it).
func memSpool(dir string, stats *spoolStats, log *slog.Logger, err error) *spool {
	s := &spool{dir: dir, log: log, stats: stats, notify: make(chan struct{}, 1)}
	s.werr = fmt.Errorf("spool %s: %w", dir, err)
	stats.failing.Add(1)
	stats.writeErrors.Add(1)
	s.note = fmt.Sprintf("lava-worker: its disk refuses this job's log (%v): records are held in memory (up to %d MiB) and sent from there", err, maxUnspooled>>20)
	return s
}

// Record appends one record (the dispatcher's Sink). The index is the
// spool's own count; rec.Index is ignored.
func (s *spool) Record(rec model.LogRecord) {
	r := workerproto.ToRecord(rec)
	if r.Time.IsZero() {
		r.Time = nowUTC()
	}
	s.mu.Lock()
	s.addLocked(r)
	if s.note != "" {
		// The job's log says when its spool fails and recovers.
		note := workerproto.Record{Time: nowUTC(), Level: model.LevelWarning, Message: s.note}
		s.note = ""
		s.addLocked(note)
	}
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// addLocked gives r the next index and appends it, or drops and counts it
// when neither the disk nor the memory bound takes it.
func (s *spool) addLocked(r workerproto.Record) {
	s.line = appendRecordLine(s.line[:0], r)
	if len(s.buf)+len(s.line) > maxUnspooled {
		s.flushLocked(true)
		if len(s.buf)+len(s.line) > maxUnspooled {
			if s.lost == 0 {
				s.log.Error("job spool: the disk refuses records and the memory bound is reached: records are lost",
					"held_bytes", len(s.buf), "err", s.werr)
			}
			s.lost++
			s.stats.lost.Add(1)
			return
		}
	}
	s.buf = append(s.buf, s.line...)
	s.total++
	s.backlogAdd(len(s.line))
	s.stats.held.Add(1)
	if !s.spilled && s.memN < maxInMemory {
		s.mem = append(s.mem, s.line...)
		s.memN++
	} else {
		s.spilled = true
	}
	if len(s.buf) >= flushAt {
		s.flushLocked(false)
	}
}

// flushLocked writes the records not in the file yet. After a failed
// write it tries again only writeRetry later, unless force. A failed
// write is logged and counted; the records stay in buf.
func (s *spool) flushLocked(force bool) error {
	if len(s.buf) == 0 || s.f == nil {
		return nil
	}
	if s.werr != nil {
		if !force && time.Now().Before(s.retryAt) {
			return s.werr
		}
		// The failed write may have left part of a record: cut it.
		if err := s.f.Truncate(s.size); err != nil {
			s.failed(fmt.Errorf("truncating %s: %w", spoolLog, err))
			return s.werr
		}
	}
	n, err := s.f.Write(s.buf)
	if i := bytes.LastIndexByte(s.buf[:n], '\n'); i >= 0 {
		recs := int64(bytes.Count(s.buf[:i+1], []byte{'\n'}))
		s.disk += recs
		s.size += int64(i + 1)
		s.stats.held.Add(-recs)
		s.buf = s.buf[:copy(s.buf, s.buf[i+1:])]
	}
	if err == nil && len(s.buf) > 0 {
		err = io.ErrShortWrite
	}
	if err != nil {
		s.failed(err)
		return s.werr
	}
	if s.werr != nil {
		s.log.Info("job spool: the disk takes records again; the held ones are written", "records", s.disk)
		s.note = "lava-worker: its disk takes this job's log again; the records held in memory are written"
		s.werr = nil
		s.stats.failing.Add(-1)
	}
	return nil
}

// failed records a failed write.
func (s *spool) failed(err error) {
	err = fmt.Errorf("spool %s: %w", s.dir, err)
	s.stats.writeErrors.Add(1)
	if s.werr == nil {
		s.stats.failing.Add(1)
		s.log.Error("job spool: writing to disk failed; records are held in memory and sent from there until it works again",
			"err", err, "held_bytes", len(s.buf), "bound_bytes", maxUnspooled)
		s.note = fmt.Sprintf("lava-worker: its disk refuses this job's log (%v): records are held in memory (up to %d MiB) and sent from there",
			errors.Unwrap(err), maxUnspooled>>20)
	}
	s.werr = err
	s.retryAt = time.Now().Add(writeRetry)
}

// batch returns up to max unacknowledged records and the index of the
// first, writing the file first (a failed write does not stop the send:
// the records go from memory). The records are the spool's own encoding,
// sent as they are (not encoded again); the caller must not modify them.
func (s *spool) batch(max int) (int64, encodedRecords, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flushLocked(false)
	if s.memN == 0 && s.spilled {
		recs, err := s.readBack(s.acked, maxInMemory)
		if err != nil {
			return 0, encodedRecords{}, err
		}
		s.mem, s.memN = recs.b, recs.n
		s.spilled = s.acked+int64(recs.n) < s.total
	}
	n := min(s.memN, max)
	end := len(s.mem)
	if n < s.memN {
		end = linesEnd(s.mem, n)
	}
	return s.acked, encodedRecords{n: n, b: s.mem[:end:end]}, nil
}

// ack records that the server expects next: records before it are stored.
// A next before what was acknowledged (the server lost records) or beyond
// the records in memory re-reads the file from there.
func (s *spool) ack(next int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if next > s.total {
		next = s.total
	}
	if next < 0 {
		next = 0
	}
	switch {
	case next >= s.acked && next-s.acked <= int64(s.memN):
		k := int(next - s.acked)
		s.mem = s.mem[linesEnd(s.mem, k):]
		s.memN -= k
	default:
		s.mem, s.memN, s.spilled = nil, 0, true
	}
	s.backlogAck(next)
	if s.acked != next {
		s.acked = next
		// Best effort, at most once a second: a lost or late acked file
		// only means a resend at restart (the server takes a batch that
		// starts before what it has). Written on every batch, it was
		// about a tenth of a 1,000-job worker's CPU (bench/logingest).
		if now := time.Now(); now.Sub(s.ackedWritten) >= ackedEvery {
			s.ackedWritten = now
			s.writeAcked()
		}
	}
	if s.memN == 0 && s.acked >= s.total {
		s.spilled = false
		if cap(s.mem) > 1<<20 {
			s.mem = nil // let a big backing array go
		} else {
			s.mem = s.mem[:0] // every batch handed out is acknowledged: reuse
		}
	}
}

// ackedEvery is how often the acked file is rewritten at most.
const ackedEvery = time.Second

// writeAcked writes the acknowledged index to the acked file (s.mu held).
func (s *spool) writeAcked() {
	if s.dir == "" || s.f == nil {
		return
	}
	_ = os.WriteFile(filepath.Join(s.dir, spoolAcked), []byte(strconv.FormatInt(s.acked, 10)+"\n"), 0o600)
}

// linesEnd is the offset in b just after its first n lines.
func linesEnd(b []byte, n int) int {
	off := 0
	for range n {
		i := bytes.IndexByte(b[off:], '\n')
		if i < 0 {
			return len(b)
		}
		off += i + 1
	}
	return off
}

// done reports whether every record is acknowledged; last is the index of
// the last record (-1: none).
func (s *spool) done() (ok bool, last int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acked >= s.total, s.total - 1
}

// lostRecords is how many records of the job were dropped.
func (s *spool) lostRecords() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lost
}

// readBack reads up to max records from index from on: those in the file,
// then those in memory not written yet. Each line is checked to be a JSON
// value (a damaged file must not spoil the request it would join).
func (s *spool) readBack(from int64, max int) (encodedRecords, error) {
	var out encodedRecords
	if from < s.disk {
		f, err := os.Open(filepath.Join(s.dir, spoolLog))
		if err != nil {
			return out, fmt.Errorf("spool: %w", err)
		}
		defer f.Close()
		br := bufio.NewReaderSize(io.LimitReader(f, s.size), 64<<10)
		for i := int64(0); out.n < max && i < s.disk; i++ {
			line, err := br.ReadSlice('\n')
			if errors.Is(err, bufio.ErrBufferFull) {
				// A record longer than the buffer: read the rest of it.
				long := append([]byte(nil), line...)
				for errors.Is(err, bufio.ErrBufferFull) {
					line, err = br.ReadSlice('\n')
					long = append(long, line...)
				}
				line = long
			}
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return out, fmt.Errorf("spool: %w", err)
			}
			if i < from {
				continue
			}
			if !json.Valid(line) {
				return out, fmt.Errorf("spool: record %d: not a JSON object: %.80q", i, line)
			}
			out.b = append(out.b, line...)
			out.n++
		}
	}
	rest := s.buf
	for i := s.disk; out.n < max && len(rest) > 0; i++ {
		end := linesEnd(rest, 1)
		line := rest[:end]
		rest = rest[end:]
		if i < from {
			continue
		}
		if !json.Valid(line) {
			return out, fmt.Errorf("spool: record %d (in memory): not a JSON object: %.80q", i, line)
		}
		out.b = append(out.b, line...)
		out.n++
	}
	return out, nil
}

// close writes what it can and closes the file. Records still held are
// forgotten (the stats say so no more).
func (s *spool) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var err error
	if s.f != nil {
		s.writeAcked()
		err = errors.Join(s.flushLocked(true), s.f.Close())
		s.f = nil
	}
	s.stats.held.Add(-(s.total - s.disk))
	s.backlogAck(s.total)
	if s.werr != nil {
		s.stats.failing.Add(-1)
	}
	s.buf, s.werr = nil, nil
	s.disk = s.total
	return err
}

// writeJSONFile writes v to path through a temporary file and a rename.
func writeJSONFile(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}
