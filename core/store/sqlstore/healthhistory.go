package sqlstore

import (
	"context"

	"github.com/lavalab/lavalab/core/model"
)

// noteHealth records a health transition in the transaction (nothing when
// the health did not change).
func (s *DB) noteHealth(ctx context.Context, t *tx, c model.HealthChange) error {
	if c.From == c.To {
		return nil
	}
	_, err := t.ExecContext(ctx, `INSERT INTO device_health_history (device, at, old_health, new_health, cause, job_id, actor, reason)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, c.Device, micros(s.now()), c.From, c.To, c.Cause, c.JobID, c.Actor, c.Reason)
	return s.wrap(err, "recording the health change of device %q", c.Device)
}

// DeviceHealthHistory returns a device's health transitions, newest first.
func (s *DB) DeviceHealthHistory(ctx context.Context, hostname string, limit int) ([]model.HealthChange, error) {
	if limit <= 0 {
		limit = 100
	}
	if _, err := s.device(ctx, s.r, hostname, ""); err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, `SELECT id, at, old_health, new_health, cause, job_id, actor, reason
FROM device_health_history WHERE device = $1 ORDER BY id DESC LIMIT $2`, hostname, limit)
	if err != nil {
		return nil, s.wrap(err, "health history of device %q", hostname)
	}
	defer rows.Close()
	var out []model.HealthChange
	for rows.Next() {
		c := model.HealthChange{Device: hostname}
		var at int64
		if err := rows.Scan(&c.ID, &at, &c.From, &c.To, &c.Cause, &c.JobID, &c.Actor, &c.Reason); err != nil {
			return nil, s.wrap(err, "health history of device %q", hostname)
		}
		c.At = fromMicros(at)
		out = append(out, c)
	}
	return out, s.wrap(rows.Err(), "health history of device %q", hostname)
}
