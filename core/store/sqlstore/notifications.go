package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/notify"
	"github.com/lavalab/lavalab/core/store"
)

const notificationCols = `id, job_id, event, health, kind, target, spec, state, attempts, next_attempt, created`

func scanNotification(sc interface{ Scan(...any) error }) (model.Notification, error) {
	var n model.Notification
	var spec, attempts string
	var next, created int64
	if err := sc.Scan(&n.ID, &n.JobID, &n.Event, &n.Health, &n.Kind, &n.Target, &spec, &n.State, &attempts, &next, &created); err != nil {
		return n, err
	}
	n.Spec = []byte(spec)
	n.NextAttempt, n.Created = fromMicros(next), fromMicros(created)
	if err := json.Unmarshal([]byte(attempts), &n.Attempts); err != nil {
		return n, fmt.Errorf("notification %d attempts: %w", n.ID, err)
	}
	return n, nil
}

// queueNotifications writes the outbox rows of job j's notify: block for
// its change to its current state (oldHealth its health before), in the
// transaction that changed it.
func (s *DB) queueNotifications(ctx context.Context, t *tx, j model.Job, oldHealth model.JobHealth) error {
	if !strings.Contains(j.Definition, "notify") {
		return nil
	}
	now := fromMicros(micros(s.now()))
	email := func(username string) (string, error) {
		var addr string
		err := t.QueryRowContext(ctx, `SELECT email FROM users WHERE username = $1`, username).Scan(&addr)
		if errors.Is(err, sql.ErrNoRows) {
			return "", errors.New("no such user")
		}
		return addr, err
	}
	ns, err := notify.Queue(j, oldHealth, now, email)
	if err != nil {
		// A definition validated at submit parses; one that does not
		// must not keep the job from ending.
		return nil
	}
	for _, n := range ns {
		attempts, err := json.Marshal(n.Attempts)
		if err != nil {
			return fmt.Errorf("job %d notification: %w", j.ID, err)
		}
		if n.Attempts == nil {
			attempts = []byte("[]")
		}
		if _, err := t.ExecContext(ctx, `INSERT INTO notifications (job_id, event, health, kind, target, spec, state, attempts, tries, next_attempt, created)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			n.JobID, n.Event, n.Health, n.Kind, n.Target, string(n.Spec), n.State, string(attempts), len(n.Attempts),
			micros(n.NextAttempt), micros(n.Created)); err != nil {
			return s.wrap(err, "queueing a notification of job %d", j.ID)
		}
	}
	if len(ns) > 0 {
		t.emit(store.TopicNotification, strconv.FormatInt(j.ID, 10))
	}
	return nil
}

// JobNotifications lists a job's notifications, oldest first.
func (s *DB) JobNotifications(ctx context.Context, jobID int64) ([]model.Notification, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+notificationCols+` FROM notifications WHERE job_id = $1 ORDER BY id`, jobID)
	if err != nil {
		return nil, s.wrap(err, "notifications of job %d", jobID)
	}
	defer rows.Close()
	var out []model.Notification
	for rows.Next() {
		n, err := scanNotification(rows)
		if err != nil {
			return nil, s.wrap(err, "notifications of job %d", jobID)
		}
		out = append(out, n)
	}
	return out, s.wrap(rows.Err(), "notifications of job %d", jobID)
}

// ClaimNotifications leases up to limit due pending notifications.
func (s *DB) ClaimNotifications(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]model.Notification, error) {
	if limit <= 0 {
		return nil, nil
	}
	// The usual case, nothing due, is one index read and no write
	// transaction.
	var any int
	err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT id FROM notifications WHERE state = $1 AND next_attempt <= $2 LIMIT 1) d`,
		model.NotificationPending, micros(now)).Scan(&any)
	if err != nil || any == 0 {
		return nil, s.wrap(err, "due notifications")
	}
	var out []model.Notification
	err = s.inTx(ctx, func(t *tx) error {
		out = out[:0]
		rows, err := t.QueryContext(ctx, `SELECT `+notificationCols+` FROM notifications WHERE state = $1 AND next_attempt <= $2 ORDER BY next_attempt, id LIMIT $3`,
			model.NotificationPending, micros(now), limit)
		if err != nil {
			return s.wrap(err, "due notifications")
		}
		var due []model.Notification
		for rows.Next() {
			n, err := scanNotification(rows)
			if err != nil {
				rows.Close()
				return s.wrap(err, "due notifications")
			}
			due = append(due, n)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return s.wrap(err, "due notifications")
		}
		until := micros(now.Add(lease))
		for _, n := range due {
			res, err := t.ExecContext(ctx, `UPDATE notifications SET next_attempt = $1 WHERE id = $2 AND state = $3 AND next_attempt = $4`,
				until, n.ID, model.NotificationPending, micros(n.NextAttempt))
			if err != nil {
				return s.wrap(err, "claiming notification %d", n.ID)
			}
			if k, _ := res.RowsAffected(); k == 1 {
				n.NextAttempt = fromMicros(until)
				out = append(out, n)
			}
		}
		return nil
	})
	return out, err
}

// RecordNotification appends an attempt and sets the state and next try.
func (s *DB) RecordNotification(ctx context.Context, id int64, a model.NotificationAttempt, state string, next time.Time) error {
	switch state {
	case model.NotificationPending, model.NotificationSent, model.NotificationFailed:
	default:
		return invalid("notification %d: state %q", id, state)
	}
	return s.inTx(ctx, func(t *tx) error {
		var attempts string
		if err := t.QueryRowContext(ctx, `SELECT attempts FROM notifications WHERE id = $1`+s.d.ForUpdate, id).Scan(&attempts); err != nil {
			return s.wrap(err, "notification %d", id)
		}
		var list []model.NotificationAttempt
		if err := json.Unmarshal([]byte(attempts), &list); err != nil {
			return fmt.Errorf("notification %d attempts: %w", id, err)
		}
		a.Time = fromMicros(micros(a.Time))
		list = append(list, a)
		b, err := json.Marshal(list)
		if err != nil {
			return fmt.Errorf("notification %d attempts: %w", id, err)
		}
		_, err = t.ExecContext(ctx, `UPDATE notifications SET state = $1, attempts = $2, tries = $3, next_attempt = $4 WHERE id = $5`,
			state, string(b), len(list), micros(next), id)
		return s.wrap(err, "recording an attempt of notification %d", id)
	})
}

// CountNotifications counts notifications by state.
func (s *DB) CountNotifications(ctx context.Context) (map[string]int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT state, COUNT(*) FROM notifications GROUP BY state`)
	if err != nil {
		return nil, s.wrap(err, "counting notifications")
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, s.wrap(err, "counting notifications")
		}
		out[st] = n
	}
	return out, s.wrap(rows.Err(), "counting notifications")
}

// queueExpired queues the notifications of jobs just canceled by their
// queue timeout (only those whose definition has a notify: block are
// read again).
func (s *DB) queueExpired(ctx context.Context, t *tx, ids []int64) error {
	for _, id := range ids {
		var def string
		if err := t.QueryRowContext(ctx, `SELECT definition FROM jobs WHERE id = $1`, id).Scan(&def); err != nil {
			return s.wrap(err, "job %d", id)
		}
		if !strings.Contains(def, "notify") {
			continue
		}
		j, err := s.job(ctx, t, id, "")
		if err != nil {
			return err
		}
		if err := s.queueNotifications(ctx, t, j, model.JobUnknown); err != nil {
			return err
		}
	}
	return nil
}
