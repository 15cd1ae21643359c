package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// HealthCheckSubmitter is the submitter of the health checks Assign creates
// when the assignment names none.
const HealthCheckSubmitter = "lava-health"

// SchedulingSnapshot reads what one scheduling pass needs in one read
// transaction. Queued jobs carry no Definition (the scheduler does not read
// it; a queue of thousands of jobs would otherwise move megabytes).
func (s *DB) SchedulingSnapshot(ctx context.Context) (store.Snapshot, error) {
	snap := store.Snapshot{
		Types:                map[string]model.DeviceType{},
		LastHealthCheck:      map[string]time.Time{},
		JobsSinceHealthCheck: map[string]int{},
		WorkerSlots:          map[string]int{},
		KnownDeviceTypes:     map[string]bool{},
	}
	rtx, err := s.r.BeginTx(ctx, s.d.snapshotOpts())
	if err != nil {
		return snap, s.wrap(err, "reading the scheduling snapshot")
	}
	defer func() { _ = rtx.Rollback() }()

	// Workers that may take jobs, and their free slots.
	busy := map[string]int{}
	rows, err := rtx.QueryContext(ctx, `SELECT worker, COUNT(*) FROM devices WHERE current_job IS NOT NULL AND worker IS NOT NULL GROUP BY worker`)
	if err != nil {
		return snap, s.wrap(err, "counting busy devices")
	}
	for rows.Next() {
		var w string
		var n int
		if err := rows.Scan(&w, &n); err != nil {
			rows.Close()
			return snap, s.wrap(err, "counting busy devices")
		}
		busy[w] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return snap, s.wrap(err, "counting busy devices")
	}
	rows, err = rtx.QueryContext(ctx, `SELECT hostname, job_limit FROM workers WHERE state = $1 AND health = $2`, model.WorkerOnline, model.WorkerActive)
	if err != nil {
		return snap, s.wrap(err, "reading workers")
	}
	for rows.Next() {
		var w string
		var limit int
		if err := rows.Scan(&w, &limit); err != nil {
			rows.Close()
			return snap, s.wrap(err, "reading workers")
		}
		if limit > 0 {
			snap.WorkerSlots[w] = max(limit-busy[w], 0)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return snap, s.wrap(err, "reading workers")
	}

	// Free devices on those workers.
	rows, err = rtx.QueryContext(ctx, `SELECT `+deviceCols+`, d.last_health_check, d.jobs_since_check FROM devices d
JOIN workers w ON w.hostname = d.worker
WHERE d.state = $1 AND d.current_job IS NULL AND d.health IN ($2, $3, $4) AND w.state = $5 AND w.health = $6
ORDER BY d.hostname`, model.DeviceIdle, model.DeviceGood, model.DeviceUnknown, model.DeviceLooping, model.WorkerOnline, model.WorkerActive)
	if err != nil {
		return snap, s.wrap(err, "reading free devices")
	}
	for rows.Next() {
		var d model.Device
		var report, lastHC int64
		var since int
		if err := rows.Scan(&d.Hostname, &d.DeviceType, &d.Description, &d.Worker, &d.State, &d.Health, &d.Dictionary,
			&d.CurrentJob, &report, &lastHC, &since); err != nil {
			rows.Close()
			return snap, s.wrap(err, "reading free devices")
		}
		if n, limited := snap.WorkerSlots[d.Worker]; limited && n <= 0 {
			continue
		}
		d.LastHealthReport = fromMicros(report)
		if lastHC != 0 {
			snap.LastHealthCheck[d.Hostname] = fromMicros(lastHC)
		}
		snap.JobsSinceHealthCheck[d.Hostname] = since
		snap.Devices = append(snap.Devices, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return snap, s.wrap(err, "reading free devices")
	}
	if err := deviceTags(ctx, rtx, snap.Devices); err != nil {
		return snap, s.wrap(err, "reading device tags")
	}

	types, err := s.deviceTypes(ctx, rtx, "")
	if err != nil {
		return snap, s.wrap(err, "reading device types")
	}
	used := map[string]bool{}
	for _, d := range snap.Devices {
		used[d.DeviceType] = true
	}
	for _, dt := range types {
		snap.KnownDeviceTypes[dt.Name] = true
		if used[dt.Name] {
			snap.Types[dt.Name] = dt
		}
	}
	// The queue last, and only for the device types that have a free
	// device: with every board busy (the usual state of a long queue) a
	// pass reads no job at all.
	if snap.Queued, err = s.queued(ctx, rtx, slices.Sorted(maps.Keys(used))); err != nil {
		return snap, s.wrap(err, "reading the queue")
	}
	return snap, nil
}

// queued reads the queue for the given device types and its tags, in two
// queries whatever its length.
func (s *DB) queued(ctx context.Context, q querier, deviceTypes []string) ([]model.Job, error) {
	out := []model.Job{}
	if len(deviceTypes) == 0 {
		return out, nil
	}
	var qa args
	cond := `j.state = ` + qa.add(model.JobSubmitted) + ` AND j.actual_device = '' AND j.requested_device_type IN (` + qa.list(anys(deviceTypes)...) + `)`
	// Only the columns planning reads: decoding every column of a long
	// queue was most of a pass's cost.
	rows, err := q.QueryContext(ctx, `SELECT j.id, j.target_group, j.priority, j.requested_device_type, j.requested_device,
j.health_check, j.submit_time, j.queue_timeout, j.submitter, j.visibility FROM jobs j WHERE `+cond, qa...)
	if err != nil {
		return nil, err
	}
	idx := map[int64]int{}
	for rows.Next() {
		j := model.Job{State: model.JobSubmitted, Health: model.JobUnknown}
		var submit, qt int64
		if err := rows.Scan(&j.ID, &j.TargetGroup, &j.Priority, &j.RequestedDeviceType, &j.RequestedDevice,
			&j.HealthCheck, &submit, &qt, &j.Submitter, &j.Visibility); err != nil {
			rows.Close()
			return nil, err
		}
		j.SubmitTime = fromMicros(submit)
		j.QueueTimeout = time.Duration(qt) * time.Microsecond
		idx[j.ID] = len(out)
		out = append(out, j)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = q.QueryContext(ctx, `SELECT t.job_id, t.tag FROM job_tags t JOIN jobs j ON j.id = t.job_id
WHERE `+cond+` ORDER BY t.job_id, t.tag`, qa...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var tag string
		if err := rows.Scan(&id, &tag); err != nil {
			return nil, err
		}
		if i, ok := idx[id]; ok {
			out[i].Tags = append(out[i].Tags, tag)
		}
	}
	return out, rows.Err()
}

func (d Dialect) snapshotOpts() *sql.TxOptions {
	if d.SnapshotIsolation {
		return &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	return nil
}

// anys converts strings to query arguments.
func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// errSkip rolls an assignment back without failing Assign.
var errSkip = errors.New("assignment is stale")

// assignChunk is how many assignments share one transaction: one commit
// (one fsync on SQLite) per job made a 1,000-device pass cost ~300 ms.
const assignChunk = 200

// Assign applies the assignments in transactions of up to assignChunk,
// each assignment under its own savepoint, skipping (rolling back to the
// savepoint) those whose job or device changed since the snapshot.
func (s *DB) Assign(ctx context.Context, as []store.Assignment) ([]store.Assignment, error) {
	var applied []store.Assignment
	for len(as) > 0 {
		chunk := as[:min(assignChunk, len(as))]
		as = as[len(chunk):]
		var ok []store.Assignment
		err := s.inTx(ctx, func(t *tx) error {
			ok = ok[:0]
			for _, a := range chunk {
				if _, err := t.ExecContext(ctx, `SAVEPOINT assign_one`); err != nil {
					return s.wrap(err, "assigning jobs")
				}
				nev := len(t.events)
				err := s.assign(ctx, t, &a)
				switch {
				case err == nil:
					ok = append(ok, a)
				case errors.Is(err, errSkip):
					t.events = t.events[:nev]
					if _, err := t.ExecContext(ctx, `ROLLBACK TO SAVEPOINT assign_one`); err != nil {
						return s.wrap(err, "assigning jobs")
					}
				default:
					return err
				}
				if _, err := t.ExecContext(ctx, `RELEASE SAVEPOINT assign_one`); err != nil {
					return s.wrap(err, "assigning jobs")
				}
			}
			return nil
		})
		if err != nil {
			return applied, err
		}
		applied = append(applied, ok...)
	}
	return applied, nil
}

func (s *DB) assign(ctx context.Context, t *tx, a *store.Assignment) error {
	j := &a.Job
	if j.ID == 0 {
		if !j.HealthCheck {
			return invalid("assigning a job without an id to %q (only health checks are created by Assign)", a.Device)
		}
		if j.RequestedDevice == "" {
			j.RequestedDevice = a.Device
		}
		if j.Submitter == "" {
			j.Submitter = HealthCheckSubmitter
		}
		if err := validJob(j); err != nil {
			return err
		}
		if j.SubmitTime.IsZero() {
			j.SubmitTime = s.now()
		}
		j.SubmitTime = fromMicros(micros(j.SubmitTime))
		j.State, j.Health, j.TargetGroup, j.SubID = model.JobSubmitted, model.JobUnknown, "", ""
		if err := s.insertJob(ctx, t, j); err != nil {
			return err
		}
	}
	var submit int64
	var hc bool
	settings, err := settingsText(a.Settings)
	if err != nil {
		return err
	}
	err = t.QueryRowContext(ctx, `UPDATE jobs SET state = $1, actual_device = $2, driver_sha256 = $3,
worker = COALESCE((SELECT worker FROM devices WHERE hostname = $2), ''), settings = $6
WHERE id = $4 AND state = $5 AND actual_device = '' RETURNING submit_time, health_check`,
		model.JobScheduled, a.Device, a.DriverSHA256, j.ID, model.JobSubmitted, settings).Scan(&submit, &hc)
	if errors.Is(err, sql.ErrNoRows) {
		return errSkip
	}
	if err != nil {
		return s.wrap(err, "scheduling job %d on %q", j.ID, a.Device)
	}
	var qa args
	set := "state = " + qa.add(model.DeviceReserved) + ", current_job = " + qa.add(j.ID)
	var healths string
	if hc {
		set += ", last_health_check = " + qa.add(submit) + ", jobs_since_check = 0"
		healths = qa.list(model.DeviceGood, model.DeviceUnknown, model.DeviceLooping)
	} else {
		healths = qa.add(model.DeviceGood)
	}
	q := `UPDATE devices SET ` + set + `
WHERE hostname = ` + qa.add(a.Device) + ` AND state = ` + qa.add(model.DeviceIdle) + ` AND current_job IS NULL AND health IN (` + healths + `)
AND EXISTS (SELECT 1 FROM workers w WHERE w.hostname = devices.worker AND w.state = ` + qa.add(model.WorkerOnline) +
		` AND w.health = ` + qa.add(model.WorkerActive) + `) RETURNING worker`
	var worker string
	err = t.QueryRowContext(ctx, q, qa...).Scan(&worker)
	if errors.Is(err, sql.ErrNoRows) {
		return errSkip
	}
	if err != nil {
		return s.wrap(err, "reserving device %q for job %d", a.Device, j.ID)
	}
	j.State, j.ActualDevice, j.Worker, j.DriverSHA256, j.HealthCheck = model.JobScheduled, a.Device, worker, a.DriverSHA256, hc
	j.Settings = a.Settings
	t.emit(store.TopicJobScheduled, worker)
	return nil
}

// ExpireQueued cancels the Submitted jobs whose queue timeout has passed.
func (s *DB) ExpireQueued(ctx context.Context, now time.Time) ([]int64, error) {
	var ids []int64
	err := s.inTx(ctx, func(t *tx) error {
		rows, err := t.QueryContext(ctx, `UPDATE jobs SET state = $1, health = $2, end_time = $3, failure_comment = $4
WHERE state = $5 AND actual_device = '' AND queue_timeout > 0 AND submit_time + queue_timeout < $3 RETURNING id`,
			model.JobFinished, model.JobCanceled, micros(now), "queue timeout passed", model.JobSubmitted)
		if err != nil {
			return s.wrap(err, "expiring queued jobs")
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return s.wrap(err, "expiring queued jobs")
			}
			ids = append(ids, id)
			t.emit(store.TopicJobFinished, strconv.FormatInt(id, 10))
		}
		return s.wrap(rows.Err(), "expiring queued jobs")
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(ids)
	return ids, nil
}

// MarkDeviceGood puts an Unknown device to Good (ErrConflict if it is not
// Unknown).
func (s *DB) MarkDeviceGood(ctx context.Context, hostname string) error {
	return s.inTx(ctx, func(t *tx) error {
		res, err := t.ExecContext(ctx, `UPDATE devices SET health = $1 WHERE hostname = $2 AND health = $3`, model.DeviceGood, hostname, model.DeviceUnknown)
		if err != nil {
			return s.wrap(err, "marking device %q good", hostname)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			if _, err := s.device(ctx, t, hostname, ""); err != nil {
				return err
			}
			return conflict("marking device %q good: its health is not Unknown", hostname)
		}
		t.emit(store.TopicDeviceFree, hostname)
		return nil
	})
}
