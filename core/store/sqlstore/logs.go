package sqlstore

import (
	"context"
	"strconv"
	"strings"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// logChunk bounds the rows of one INSERT (7 parameters each).
const logChunk = 500

// DefaultLogLimit is ReadLogs' page when limit is 0 or less.
const DefaultLogLimit = 1000

// AppendLogs stores records numbered from first; a resent batch is skipped,
// a gap fails with ErrConflict and changes nothing.
func (s *DB) AppendLogs(ctx context.Context, jobID, first int64, recs []model.LogRecord) (int64, error) {
	if first < 0 {
		return 0, invalid("appending logs of job %d: negative index %d", jobID, first)
	}
	var next int64
	err := s.inTx(ctx, func(t *tx) error {
		if err := t.QueryRowContext(ctx, `SELECT log_next FROM jobs WHERE id = $1`+s.d.ForUpdate, jobID).Scan(&next); err != nil {
			return s.wrap(err, "job %d", jobID)
		}
		if first > next {
			return conflict("appending logs of job %d: batch starts at %d, next expected record is %d", jobID, first, next)
		}
		skip := next - first
		if skip >= int64(len(recs)) {
			return nil // all already stored: a resend
		}
		todo := recs[skip:]
		for start := 0; start < len(todo); start += logChunk {
			chunk := todo[start:min(start+logChunk, len(todo))]
			var a args
			var b strings.Builder
			b.WriteString(`INSERT INTO log_records (job_id, idx, dt, lvl, msg, structured, ns) VALUES `)
			job := a.add(jobID)
			for i, r := range chunk {
				if i > 0 {
					b.WriteString(", ")
				}
				idx := next + int64(start+i)
				b.WriteString("(" + job + ", " + a.list(idx, micros(r.Time), r.Level, r.Message, r.Structured, r.NS) + ")")
			}
			if _, err := t.ExecContext(ctx, b.String(), a...); err != nil {
				return s.wrap(err, "appending logs of job %d", jobID)
			}
		}
		next += int64(len(todo))
		if _, err := t.ExecContext(ctx, `UPDATE jobs SET log_next = $1 WHERE id = $2`, next, jobID); err != nil {
			return s.wrap(err, "appending logs of job %d", jobID)
		}
		t.emit(store.TopicLogs, strconv.FormatInt(jobID, 10))
		return nil
	})
	if err != nil {
		return 0, err
	}
	return next, nil
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
