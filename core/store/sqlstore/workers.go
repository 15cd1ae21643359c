package sqlstore

import (
	"context"
	"strings"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

const workerCols = `hostname, description, state, health, last_ping, job_limit, version, token_hash`

func scanWorker(sc interface{ Scan(...any) error }) (model.Worker, error) {
	var w model.Worker
	var ping int64
	err := sc.Scan(&w.Hostname, &w.Description, &w.State, &w.Health, &ping, &w.JobLimit, &w.Version, &w.TokenHash)
	w.LastPing = fromMicros(ping)
	return w, err
}

func validWorker(w model.Worker) error {
	if strings.TrimSpace(w.Hostname) == "" {
		return invalid("worker: empty hostname")
	}
	if w.State < model.WorkerOnline || w.State > model.WorkerOffline {
		return invalid("worker %q: state %d", w.Hostname, w.State)
	}
	if w.Health < model.WorkerActive || w.Health > model.WorkerRetired {
		return invalid("worker %q: health %d", w.Hostname, w.Health)
	}
	if w.JobLimit < 0 {
		return invalid("worker %q: negative job limit", w.Hostname)
	}
	return nil
}

// CreateWorker stores a worker (ErrExists if the hostname is taken).
func (s *DB) CreateWorker(ctx context.Context, w model.Worker) error {
	if err := validWorker(w); err != nil {
		return err
	}
	return s.inTx(ctx, func(t *tx) error {
		_, err := t.ExecContext(ctx, `INSERT INTO workers (`+workerCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			w.Hostname, w.Description, w.State, w.Health, micros(w.LastPing), w.JobLimit, w.Version, nullBytes(w.TokenHash))
		return s.wrap(err, "creating worker %q", w.Hostname)
	})
}

// Worker returns one worker.
func (s *DB) Worker(ctx context.Context, hostname string) (model.Worker, error) {
	w, err := scanWorker(s.rq.QueryRowContext(ctx, `SELECT `+workerCols+` FROM workers WHERE hostname = $1`, hostname))
	return w, s.wrap(err, "worker %q", hostname)
}

// ListWorkers returns every worker, by hostname.
func (s *DB) ListWorkers(ctx context.Context) ([]model.Worker, error) {
	rows, err := s.rq.QueryContext(ctx, `SELECT `+workerCols+` FROM workers ORDER BY hostname`)
	if err != nil {
		return nil, s.wrap(err, "listing workers")
	}
	defer rows.Close()
	var out []model.Worker
	for rows.Next() {
		w, err := scanWorker(rows)
		if err != nil {
			return nil, s.wrap(err, "listing workers")
		}
		out = append(out, w)
	}
	return out, s.wrap(rows.Err(), "listing workers")
}

// WorkerByTokenHash returns the worker holding the token.
func (s *DB) WorkerByTokenHash(ctx context.Context, hash []byte) (model.Worker, error) {
	if len(hash) == 0 {
		return model.Worker{}, notFound("worker token")
	}
	w, err := scanWorker(s.rq.QueryRowContext(ctx, `SELECT `+workerCols+` FROM workers WHERE token_hash = $1`, hash))
	return w, s.wrap(err, "worker token")
}

// UpdateWorker applies fn to the stored worker in one transaction. A
// worker coming back Online and Active wakes the scheduler.
func (s *DB) UpdateWorker(ctx context.Context, hostname string, fn func(*model.Worker) error) (model.Worker, error) {
	var w model.Worker
	err := s.inTx(ctx, func(t *tx) error {
		old, err := scanWorker(t.QueryRowContext(ctx, `SELECT `+workerCols+` FROM workers WHERE hostname = $1`+s.d.ForUpdate, hostname))
		if err != nil {
			return s.wrap(err, "worker %q", hostname)
		}
		w = old
		w.TokenHash = append([]byte(nil), old.TokenHash...)
		if err := fn(&w); err != nil {
			return err
		}
		w.Hostname = hostname
		if err := validWorker(w); err != nil {
			return err
		}
		_, err = t.ExecContext(ctx, `UPDATE workers SET description = $1, state = $2, health = $3, last_ping = $4, job_limit = $5, version = $6, token_hash = $7 WHERE hostname = $8`,
			w.Description, w.State, w.Health, micros(w.LastPing), w.JobLimit, w.Version, nullBytes(w.TokenHash), hostname)
		if err != nil {
			return s.wrap(err, "updating worker %q", hostname)
		}
		up := w.State == model.WorkerOnline && w.Health == model.WorkerActive
		wasUp := old.State == model.WorkerOnline && old.Health == model.WorkerActive
		if up && (!wasUp || w.JobLimit != old.JobLimit) {
			t.emit(store.TopicDeviceFree, hostname)
		}
		return nil
	})
	w.LastPing = fromMicros(micros(w.LastPing))
	return w, err
}

// SetWorkerToken replaces the worker's token hash.
func (s *DB) SetWorkerToken(ctx context.Context, hostname string, hash []byte) error {
	return s.inTx(ctx, func(t *tx) error {
		res, err := t.ExecContext(ctx, `UPDATE workers SET token_hash = $1 WHERE hostname = $2`, nullBytes(hash), hostname)
		if err != nil {
			return s.wrap(err, "setting the token of worker %q", hostname)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("worker %q", hostname)
		}
		return nil
	})
}
