package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// DefaultLogLimit is ReadLogs' page when limit is 0 or less.
const DefaultLogLimit = 1000

// maxLogGroup bounds the AppendLogs calls committed together.
const maxLogGroup = 512

// logReq is one AppendLogs call and its answer.
type logReq struct {
	job, first int64
	recs       []model.LogRecord
	next       int64
	err        error
	done       chan struct{}
}

// AppendLogs stores records numbered from first; a resent batch is skipped,
// a gap fails with ErrConflict and changes nothing.
//
// Concurrent calls are committed together (group commit): the first caller
// to find no commit under way becomes the committer and stores every call
// queued meanwhile in one transaction (a read of the jobs' log_next; one
// row of log_chunks per call, or per maxChunkRecords records of a bigger
// call, inserted by one prepared statement run per chunk on SQLite and by
// one statement for the group on PostgreSQL; an update of the jobs'
// log_next), until the queue is empty. A call refused (gap, unknown
// job) does not stop the others; if the transaction fails, its calls are
// retried one by one so that each gets its own answer.
func (s *DB) AppendLogs(ctx context.Context, jobID, first int64, recs []model.LogRecord) (int64, error) {
	if first < 0 {
		return 0, invalid("appending logs of job %d: negative index %d", jobID, first)
	}
	req := &logReq{job: jobID, first: first, recs: recs, done: make(chan struct{})}
	s.logs.do(ctx, req, req.done, maxLogGroup, s.commitLogs)
	return req.next, req.err
}

// commitLogs stores a group of calls in one transaction and answers each.
func (s *DB) commitLogs(ctx context.Context, group []*logReq) {
	err := s.inTx(ctx, func(t *tx) error { return s.appendGroup(ctx, t, group) })
	if err != nil && len(group) > 1 {
		for _, r := range group {
			r.next, r.err = 0, nil
			if err := s.inTx(ctx, func(t *tx) error { return s.appendGroup(ctx, t, []*logReq{r}) }); err != nil {
				r.next, r.err = 0, err
			}
			close(r.done)
		}
		return
	}
	for _, r := range group {
		if err != nil {
			r.next, r.err = 0, err
		}
		close(r.done)
	}
}

// appendGroup does the work of a group in t. A refused call gets its own
// error; an error returned fails the transaction.
func (s *DB) appendGroup(ctx context.Context, t *tx, group []*logReq) error {
	// Jobs in id order (a stable order of row locks on PostgreSQL).
	ids := make([]int64, 0, len(group))
	for _, r := range group {
		ids = append(ids, r.job)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	next, err := s.logNexts(ctx, t, ids)
	if err != nil {
		return err
	}
	changed := map[int64]bool{}
	ins := chunkInserter{t: t, d: s.d}
	for _, r := range group {
		n, ok := next[r.job]
		switch {
		case !ok:
			r.err = notFound("job %d", r.job)
			continue
		case r.first > n:
			r.err = conflict("appending logs of job %d: batch starts at %d, next expected record is %d", r.job, r.first, n)
			continue
		}
		skip := n - r.first
		if skip >= int64(len(r.recs)) {
			r.next = n // all already stored: a resend
			continue
		}
		for recs := r.recs[skip:]; len(recs) > 0; {
			k := min(len(recs), maxChunkRecords)
			if err := ins.insert(ctx, r.job, n, recs[:k]); err != nil {
				return s.wrap(err, "appending logs of job %d: storing records %d..%d", r.job, n, n+int64(k)-1)
			}
			n += int64(k)
			recs = recs[k:]
		}
		next[r.job] = n
		r.next = n
		changed[r.job] = true
	}
	if err := ins.flush(ctx); err != nil {
		return s.wrap(err, "appending logs: storing %d chunks", len(ins.jobs))
	}
	if len(changed) == 0 {
		return nil
	}
	cids := make([]int64, 0, len(changed))
	for id := range changed {
		cids = append(cids, id)
	}
	slices.Sort(cids)
	ns := make([]int64, len(cids))
	for i, id := range cids {
		ns[i] = next[id]
		t.emit(store.TopicLogs, strconv.FormatInt(id, 10))
	}
	return s.setLogNexts(ctx, t, cids, ns)
}

// Statements of the jobs' log_next, one job each: SQLite runs a prepared
// statement per job in microseconds, where parsing a statement generated
// for each group's size costs more than the rest of the group's work.
const (
	logNextSQL    = `SELECT log_next FROM jobs WHERE id = $1`
	setLogNextSQL = `UPDATE jobs SET log_next = $1 WHERE id = $2`
)

// logNexts reads the log_next of jobs ids (sorted), locking their rows on
// PostgreSQL; an unknown job is not in the map.
func (s *DB) logNexts(ctx context.Context, t *tx, ids []int64) (map[int64]int64, error) {
	next := make(map[int64]int64, len(ids))
	fail := func(err error) (map[int64]int64, error) {
		return nil, s.wrap(err, "appending logs: reading the jobs' next indexes")
	}
	if !s.d.ArrayParams {
		st := t.stmt(ctx, logNextSQL)
		for _, id := range ids {
			var n int64
			err := st.QueryRowContext(ctx, id).Scan(&n)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return fail(err)
			}
			next[id] = n
		}
		return next, nil
	}
	// PostgreSQL: one statement for the group (its ids bound as one
	// array, so the text does not depend on the group's size), in id
	// order, a stable order of row locks.
	var qa args
	rows, err := t.QueryContext(ctx, `SELECT id, log_next FROM jobs WHERE `+s.d.inSet(&qa, "id", int64Col(ids))+
		` ORDER BY id`+s.d.ForUpdate, qa...)
	if err != nil {
		return fail(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, n int64
		if err := rows.Scan(&id, &n); err != nil {
			return fail(err)
		}
		next[id] = n
	}
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	return next, nil
}

// setLogNexts sets the log_next of jobs ids to ns.
func (s *DB) setLogNexts(ctx context.Context, t *tx, ids, ns []int64) error {
	if !s.d.ArrayParams {
		st := t.stmt(ctx, setLogNextSQL)
		for i, id := range ids {
			if _, err := st.ExecContext(ctx, ns[i], id); err != nil {
				return s.wrap(err, "appending logs: updating job %d's next index", id)
			}
		}
		return nil
	}
	var a args
	q := `UPDATE jobs SET log_next = v.c2 FROM ` + s.d.rowsTable(&a, int64Col(ids), int64Col(ns)) + ` WHERE jobs.id = v.c1`
	if _, err := t.ExecContext(ctx, q, a...); err != nil {
		return s.wrap(err, "appending logs: updating %d jobs' next indexes", len(ids))
	}
	return nil
}

// LogCount returns the number of records stored for the job.
func (s *DB) LogCount(ctx context.Context, jobID int64) (int64, error) {
	var n int64
	err := s.rq.QueryRowContext(ctx, `SELECT log_next FROM jobs WHERE id = $1`, jobID).Scan(&n)
	return n, s.wrap(err, "job %d", jobID)
}

// insertChunkSQL stores one chunk.
const insertChunkSQL = `INSERT INTO log_chunks (job_id, first_idx, end_idx, data) VALUES ($1, $2, $3, $4)`

// chunkInserter inserts a group's chunks: on SQLite with one statement
// bound to the transaction, run per chunk, encoding each in a reused
// buffer; on PostgreSQL (ArrayParams) as one statement for the whole group
// at flush, its columns bound as arrays (one round trip, not one a chunk).
type chunkInserter struct {
	t   *tx
	d   Dialect
	st  *txStmt // SQLite: insertChunkSQL, once bound
	buf []byte

	jobs, firsts, ends []int64 // PostgreSQL: the group's chunks
	data               []string
}

// insert stores recs, numbered from first, as one chunk of job (on
// PostgreSQL, at flush).
func (c *chunkInserter) insert(ctx context.Context, job, first int64, recs []model.LogRecord) error {
	if c.d.ArrayParams {
		c.jobs = append(c.jobs, job)
		c.firsts = append(c.firsts, first)
		c.ends = append(c.ends, first+int64(len(recs)))
		c.data = append(c.data, string(appendLogChunk(c.buf[:0], recs)))
		return nil
	}
	if c.st == nil {
		st := c.t.stmt(ctx, insertChunkSQL)
		c.st = &st
	}
	c.buf = appendLogChunk(c.buf[:0], recs)
	_, err := c.st.ExecContext(ctx, job, first, first+int64(len(recs)), string(c.buf))
	return err
}

// flush stores the chunks insert kept (PostgreSQL).
func (c *chunkInserter) flush(ctx context.Context) error {
	if len(c.jobs) == 0 {
		return nil
	}
	var a args
	q := `INSERT INTO log_chunks (job_id, first_idx, end_idx, data) SELECT c1, c2, c3, c4 FROM ` +
		c.d.rowsTable(&a, int64Col(c.jobs), int64Col(c.firsts), int64Col(c.ends), textCol(c.data))
	_, err := c.t.ExecContext(ctx, q, a...)
	return err
}

// ReadLogs returns up to limit records (DefaultLogLimit if 0) from index
// from on.
//
// It reads the chunks ending after from and at most limit+maxChunkRecords
// after it (an index range, never the whole log), decodes them in order
// and keeps the records from from on.
func (s *DB) ReadLogs(ctx context.Context, jobID, from int64, limit int) ([]model.LogRecord, error) {
	if limit <= 0 {
		limit = DefaultLogLimit
	}
	if from < 0 {
		from = 0
	}
	upper := int64(math.MaxInt64)
	if span := int64(limit) + maxChunkRecords; from <= math.MaxInt64-span {
		upper = from + span
	}
	rows, err := s.rq.QueryContext(ctx, `SELECT first_idx, end_idx, data FROM log_chunks
WHERE job_id = $1 AND end_idx > $2 AND end_idx <= $3 ORDER BY end_idx`, jobID, from, upper)
	if err != nil {
		return nil, s.wrap(err, "reading logs of job %d", jobID)
	}
	defer rows.Close()
	out := make([]model.LogRecord, 0, min(limit, DefaultLogLimit))
	for len(out) < limit && rows.Next() {
		var first, end int64
		var data sql.RawBytes
		if err := rows.Scan(&first, &end, &data); err != nil {
			return nil, s.wrap(err, "reading logs of job %d", jobID)
		}
		if out, err = decodeLogChunk(out, data, first, end, from, limit); err != nil {
			return nil, fmt.Errorf("reading logs of job %d: malformed chunk of records %d..%d: %w", jobID, first, end-1, err)
		}
	}
	return out, s.wrap(rows.Err(), "reading logs of job %d", jobID)
}
