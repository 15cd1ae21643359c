package sqlstore

import (
	"context"
	"slices"
	"strconv"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// logChunk bounds the rows of one INSERT (SQLite: 7 anonymous parameters
// each; PostgreSQL binds 7 arrays whatever the count).
const logChunk = 1000

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
// queued meanwhile in one transaction (one read of the jobs' log_next, one
// multi-row INSERT, one log_next update per job), until the queue is
// empty. A call refused (gap, unknown job) does not stop the others; if the
// transaction fails, its calls are retried one by one so that each gets
// its own answer.
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
	// The statements below are generated for the group's size: they go to
	// the transaction itself, not through the statement cache (one text
	// per size would fill it), as assignSet's do.
	var qa args
	rows, err := t.Tx.QueryContext(ctx, `SELECT id, log_next FROM jobs WHERE `+s.d.inSet(&qa, "id", int64Col(ids))+
		` ORDER BY id`+s.d.ForUpdate, qa...)
	if err != nil {
		return s.wrap(err, "appending logs: reading the jobs' next indexes")
	}
	next := make(map[int64]int64, len(ids))
	for rows.Next() {
		var id, n int64
		if err := rows.Scan(&id, &n); err != nil {
			rows.Close()
			return s.wrap(err, "appending logs: reading the jobs' next indexes")
		}
		next[id] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return s.wrap(err, "appending logs: reading the jobs' next indexes")
	}
	var (
		jobCol, idxCol, dtCol []int64
		lvlCol, msgCol, nsCol []string
		strCol                []bool
		changed               = map[int64]bool{}
	)
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
		for i, rec := range r.recs[skip:] {
			jobCol = append(jobCol, r.job)
			idxCol = append(idxCol, n+int64(i))
			dtCol = append(dtCol, micros(rec.Time))
			lvlCol = append(lvlCol, rec.Level)
			msgCol = append(msgCol, rec.Message)
			strCol = append(strCol, rec.Structured)
			nsCol = append(nsCol, rec.NS)
		}
		n += int64(len(r.recs)) - skip
		next[r.job] = n
		r.next = n
		changed[r.job] = true
	}
	for start := 0; start < len(jobCol); start += logChunk {
		end := min(start+logChunk, len(jobCol))
		var a args
		q := `INSERT INTO log_records (job_id, idx, dt, lvl, msg, structured, ns) SELECT c1, c2, c3, c4, c5, c6, c7 FROM ` +
			s.d.rowsTable(&a, int64Col(jobCol[start:end]), int64Col(idxCol[start:end]), int64Col(dtCol[start:end]),
				textCol(lvlCol[start:end]), textCol(msgCol[start:end]), boolCol(strCol[start:end]), textCol(nsCol[start:end]))
		if _, err := t.Tx.ExecContext(ctx, q, a...); err != nil {
			return s.wrap(err, "appending %d log records", end-start)
		}
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
	var a args
	q := `UPDATE jobs SET log_next = v.c2 FROM ` + s.d.rowsTable(&a, int64Col(cids), int64Col(ns)) + ` WHERE jobs.id = v.c1`
	if _, err := t.Tx.ExecContext(ctx, q, a...); err != nil {
		return s.wrap(err, "appending logs: updating %d jobs' next indexes", len(cids))
	}
	return nil
}

// LogCount returns the number of records stored for the job.
func (s *DB) LogCount(ctx context.Context, jobID int64) (int64, error) {
	var n int64
	err := s.rq.QueryRowContext(ctx, `SELECT log_next FROM jobs WHERE id = $1`, jobID).Scan(&n)
	return n, s.wrap(err, "job %d", jobID)
}

// ReadLogs returns up to limit records (DefaultLogLimit if 0) from index
// from on.
func (s *DB) ReadLogs(ctx context.Context, jobID, from int64, limit int) ([]model.LogRecord, error) {
	if limit <= 0 {
		limit = DefaultLogLimit
	}
	if from < 0 {
		from = 0
	}
	rows, err := s.rq.QueryContext(ctx, `SELECT idx, dt, lvl, msg, structured, ns FROM log_records
WHERE job_id = $1 AND idx >= $2 ORDER BY idx LIMIT $3`, jobID, from, limit)
	if err != nil {
		return nil, s.wrap(err, "reading logs of job %d", jobID)
	}
	defer rows.Close()
	out := []model.LogRecord{}
	for rows.Next() {
		var r model.LogRecord
		var dt int64
		if err := rows.Scan(&r.Index, &dt, &r.Level, &r.Message, &r.Structured, &r.NS); err != nil {
			return nil, s.wrap(err, "reading logs of job %d", jobID)
		}
		r.Time = fromMicros(dt)
		out = append(out, r)
	}
	return out, s.wrap(rows.Err(), "reading logs of job %d", jobID)
}
