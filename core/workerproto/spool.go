package workerproto

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

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

// spool is a job's log on the worker's disk: every record is appended to
// log.jsonl (flushed before it is sent) and kept in memory until the
// server acknowledges it.
type spool struct {
	dir string

	mu      sync.Mutex
	f       *os.File
	bw      *bufio.Writer
	total   int64    // records written (next index to give)
	acked   int64    // next index the server expects
	pending []Record // records acked..acked+len(pending)-1
	spilled bool     // records beyond pending are on disk only
	err     error    // first write error (reported in the job log)
	line    []byte   // Record's encoding buffer
	notify  chan struct{}
}

// openSpool opens (or creates) the spool in dir and reads back what a
// previous run left: the count of records and the acknowledged index.
func openSpool(dir string) (*spool, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool %s: %w", dir, err)
	}
	path := filepath.Join(dir, spoolLog)
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("spool %s: %w", path, err)
	}
	// A record cut short by a crash is dropped (it was never sent).
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
	s := &spool{dir: dir, f: f, bw: bufio.NewWriterSize(f, 64<<10), total: int64(bytes.Count(data, []byte{'\n'})), notify: make(chan struct{}, 1)}
	if b, err := os.ReadFile(filepath.Join(dir, spoolAcked)); err == nil {
		if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n >= 0 && n <= s.total {
			s.acked = n
		}
	}
	s.spilled = s.acked < s.total
	return s, nil
}

// Record appends one record (the dispatcher's Sink). The index is the
// spool's own count; rec.Index is ignored.
func (s *spool) Record(rec model.LogRecord) {
	r := ToRecord(rec)
	if r.Time.IsZero() {
		r.Time = nowUTC()
	}
	s.mu.Lock()
	s.line = append(appendRecord(s.line[:0], r), '\n')
	_, err := s.bw.Write(s.line)
	if err != nil && s.err == nil {
		s.err = err
	}
	s.total++
	if !s.spilled && len(s.pending) < maxInMemory {
		s.pending = append(s.pending, r)
	} else {
		s.spilled = true
	}
	s.mu.Unlock()
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// batch returns up to max unacknowledged records and the index of the
// first, flushing the file first so nothing is sent that is not on disk.
func (s *spool) batch(max int) (int64, []Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.bw.Flush(); err != nil {
		return 0, nil, fmt.Errorf("spool: %w", err)
	}
	if len(s.pending) == 0 && s.spilled {
		recs, err := s.readBack(s.acked, maxInMemory)
		if err != nil {
			return 0, nil, err
		}
		s.pending = recs
		s.spilled = s.acked+int64(len(recs)) < s.total
	}
	n := min(len(s.pending), max)
	return s.acked, s.pending[:n:n], nil
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
	case next >= s.acked && next-s.acked <= int64(len(s.pending)):
		s.pending = s.pending[next-s.acked:]
	default:
		s.pending, s.spilled = nil, true
	}
	if s.acked != next {
		s.acked = next
		_ = os.WriteFile(filepath.Join(s.dir, spoolAcked), []byte(strconv.FormatInt(next, 10)+"\n"), 0o600)
	}
	if len(s.pending) == 0 && s.acked >= s.total {
		s.spilled = false
		s.pending = nil // let the backing array go
	}
}

// done reports whether every record is acknowledged; last is the index of
// the last record (-1: none).
func (s *spool) done() (ok bool, last int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.acked >= s.total, s.total - 1
}

// readBack reads up to max records of the file from index from on.
func (s *spool) readBack(from int64, max int) ([]Record, error) {
	f, err := os.Open(filepath.Join(s.dir, spoolLog))
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	var out []Record
	for i := int64(0); len(out) < max; i++ {
		line, err := br.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("spool: %w", err)
		}
		if i < from {
			continue
		}
		var r Record
		if err := json.Unmarshal(line, &r); err != nil {
			return nil, fmt.Errorf("spool: record %d: %w", i, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func (s *spool) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return errors.Join(s.bw.Flush(), s.f.Close())
}

// writeJSONFile writes v to path through a temporary file and a rename.
func writeJSONFile(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
