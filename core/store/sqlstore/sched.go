package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
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
	queuedTypes := slices.Sorted(maps.Keys(used))
	if len(queuedTypes) > 0 {
		// The connection sub-jobs of multinode groups (no device type,
		// issue 21) go with their group's devices.
		queuedTypes = append([]string{""}, queuedTypes...)
	}
	if snap.Queued, err = s.queued(ctx, rtx, queuedTypes); err != nil {
		return snap, s.wrap(err, "reading the queue")
	}
	return snap, nil
}

// queuedCond selects the jobs of the queue index jobs_queued (migration
// 0004): its condition is written with literals, as a partial index is
// only used when the query's condition matches it at planning time, and
// SQLite is told to use it (Dialect.IndexHints): it would rather take
// jobs_state_id and read every queued job's row, definition and all.
var queuedCond = `j.state = ` + strconv.Itoa(int(model.JobSubmitted)) + ` AND j.actual_device = ''`

// queued reads the queue for the given device types, tags included, in
// one query whatever its length, answered from the index jobs_queued
// (migrations 0004 and 0006: it holds every column read here).
func (s *DB) queued(ctx context.Context, q querier, deviceTypes []string) ([]model.Job, error) {
	out := []model.Job{}
	if len(deviceTypes) == 0 {
		return out, nil
	}
	var qa args
	cond := queuedCond + ` AND ` + s.d.inSet(&qa, "j.requested_device_type", textCol(deviceTypes))
	if out, ok, err := s.queuedPacked(ctx, q, cond, qa); err != nil || ok {
		return out, err
	}
	// A name holding a separator: read the queue row by row.
	// Only the columns planning reads: decoding every column of a long
	// queue was most of a pass's cost.
	rows, err := q.QueryContext(ctx, `SELECT j.id, j.target_group, j.priority, j.requested_device_type, j.requested_device,
j.health_check, j.submit_time, j.tag_list FROM jobs j`+s.d.indexedBy("jobs_queued")+` WHERE `+cond, qa...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		j := model.Job{State: model.JobSubmitted, Health: model.JobUnknown}
		var submit int64
		var tags string
		if err := rows.Scan(&j.ID, &j.TargetGroup, &j.Priority, &j.RequestedDeviceType, &j.RequestedDevice,
			&j.HealthCheck, &submit, &tags); err != nil {
			return nil, err
		}
		j.SubmitTime = fromMicros(submit)
		j.Tags = splitTagList(tags)
		out = append(out, j)
	}
	return out, rows.Err()
}

// Separators of queuedPacked's text: ASCII unit and record separators.
const (
	packField  = "\x1f"
	packRecord = "\x1e"
)

// queuedPacked reads the queue as one text value: the drivers' cost per
// row and column was most of a snapshot's (SQLite's by far), and the queue
// is read on every pass. Each job is id, priority, submit time, health check,
// device type, device, target group and tag list, separated by packField;
// jobs are separated by packRecord. ok is false when the text does not
// decode exactly (a name holding a separator): the caller then reads the
// queue row by row.
func (s *DB) queuedPacked(ctx context.Context, q querier, cond string, qa args) ([]model.Job, bool, error) {
	chr := "char" // SQLite's name of the function
	if s.d.Name == "postgres" {
		chr = "chr"
	}
	f := chr + `(31)`
	var n int
	var packed sql.NullString
	err := q.QueryRowContext(ctx, `SELECT COUNT(*), string_agg(CAST(j.id AS TEXT) || `+f+` || CAST(j.priority AS TEXT) || `+f+
		` || CAST(j.submit_time AS TEXT) || `+f+` || CASE WHEN j.health_check THEN '1' ELSE '0' END || `+f+
		` || j.requested_device_type || `+f+` || j.requested_device || `+f+` || j.target_group || `+f+` || j.tag_list, `+chr+`(30))
FROM jobs j`+s.d.indexedBy("jobs_queued")+` WHERE `+cond, qa...).Scan(&n, &packed)
	if err != nil {
		return nil, false, err
	}
	out := make([]model.Job, 0, n)
	if n == 0 {
		return out, true, nil
	}
	recs := strings.Split(packed.String, packRecord)
	if len(recs) != n {
		return nil, false, nil
	}
	for _, r := range recs {
		fs := strings.Split(r, packField)
		if len(fs) != 8 {
			return nil, false, nil
		}
		id, err1 := strconv.ParseInt(fs[0], 10, 64)
		prio, err2 := strconv.Atoi(fs[1])
		submit, err3 := strconv.ParseInt(fs[2], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil || (fs[3] != "0" && fs[3] != "1") {
			return nil, false, nil
		}
		out = append(out, model.Job{ID: id, State: model.JobSubmitted, Health: model.JobUnknown, Priority: prio,
			SubmitTime: fromMicros(submit), HealthCheck: fs[3] == "1", RequestedDeviceType: fs[4], RequestedDevice: fs[5],
			TargetGroup: fs[6], Tags: splitTagList(fs[7])})
	}
	return out, true, nil
}

func (d Dialect) snapshotOpts() *sql.TxOptions {
	if d.SnapshotIsolation {
		return &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
	}
	return nil
}

// assignChunk is how many assignments share one transaction (and one
// statement per table): 1,000 devices assigned in one pass are one
// transaction of a few statements.
const assignChunk = 1000

// Assign applies the assignments set-based, in transactions of up to
// assignChunk: it locks and checks the jobs and devices (one query each),
// skips the assignments whose job or device changed since the snapshot
// (and any that reuse a job or device already taken in this call), creates
// the health checks, then moves the jobs to Scheduled and the devices to
// Reserved with one UPDATE per table. A job and its device always change
// in the same transaction.
func (s *DB) Assign(ctx context.Context, as []store.Assignment) ([]store.Assignment, error) {
	var applied []store.Assignment
	for len(as) > 0 {
		chunk := as[:min(assignChunk, len(as))]
		as = as[len(chunk):]
		var ok []store.Assignment
		err := s.inTx(ctx, func(t *tx) error {
			var err error
			ok, err = s.assignSet(ctx, t, chunk)
			return err
		})
		if err != nil {
			return applied, err
		}
		applied = append(applied, ok...)
	}
	return applied, nil
}

// queuedJob is what assignSet reads of a job it schedules.
type queuedJob struct {
	submit int64
	hc     bool
}

// idleDevice is what assignSet reads of a device it reserves.
type idleDevice struct {
	worker string
	health model.DeviceHealth
}

func (s *DB) assignSet(ctx context.Context, t *tx, given []store.Assignment) ([]store.Assignment, error) {
	chunk := slices.Clone(given)
	out := make([]store.Assignment, 0, len(chunk))
	settings := make([]string, len(chunk))
	var ids []int64
	hosts := make([]string, 0, len(chunk))
	for i := range chunk {
		a := &chunk[i]
		j := &a.Job
		if j.ID == 0 {
			if !j.HealthCheck {
				return nil, invalid("assigning a job without an id to %q (only health checks are created by Assign)", a.Device)
			}
			if j.RequestedDevice == "" {
				j.RequestedDevice = a.Device
			}
			if j.Submitter == "" {
				j.Submitter = HealthCheckSubmitter
			}
			if err := validJob(j, false); err != nil {
				return nil, err
			}
			if j.SubmitTime.IsZero() {
				j.SubmitTime = s.now()
			}
			j.SubmitTime = fromMicros(micros(j.SubmitTime))
			j.State, j.Health, j.TargetGroup, j.SubID = model.JobSubmitted, model.JobUnknown, "", ""
		} else {
			ids = append(ids, j.ID)
		}
		st, err := settingsText(a.Settings)
		if err != nil {
			return nil, err
		}
		settings[i] = st
		hosts = append(hosts, a.Device)
	}
	// Lock and read the jobs, then the devices (the order every job+device
	// change takes), each sorted so concurrent writers cannot deadlock.
	jobs := make(map[int64]queuedJob, len(ids))
	if len(ids) > 0 {
		slices.Sort(ids)
		var qa args
		q := `SELECT id, submit_time, health_check FROM jobs WHERE ` + s.d.inSet(&qa, "id", int64Col(ids)) +
			` AND state = ` + qa.add(model.JobSubmitted) + ` AND actual_device = '' ORDER BY id` + s.d.ForUpdate
		rows, err := t.Tx.QueryContext(ctx, q, qa...)
		if err != nil {
			return nil, s.wrap(err, "reading the jobs to schedule")
		}
		for rows.Next() {
			var id int64
			var j queuedJob
			if err := rows.Scan(&id, &j.submit, &j.hc); err != nil {
				rows.Close()
				return nil, s.wrap(err, "reading the jobs to schedule")
			}
			jobs[id] = j
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, s.wrap(err, "reading the jobs to schedule")
		}
	}
	slices.Sort(hosts)
	hosts = slices.Compact(hosts)
	devs := make(map[string]idleDevice, len(hosts))
	{
		var qa args
		lock := ""
		if s.d.ForUpdate != "" {
			lock = s.d.ForUpdate + " OF d"
		}
		q := `SELECT d.hostname, d.worker, d.health FROM devices d JOIN workers w ON w.hostname = d.worker
WHERE ` + s.d.inSet(&qa, "d.hostname", textCol(hosts)) + ` AND d.state = ` + qa.add(model.DeviceIdle) +
			` AND d.current_job IS NULL AND d.health IN (` + qa.list(model.DeviceGood, model.DeviceUnknown, model.DeviceLooping) +
			`) AND w.state = ` + qa.add(model.WorkerOnline) + ` AND w.health = ` + qa.add(model.WorkerActive) + ` ORDER BY d.hostname` + lock
		rows, err := t.Tx.QueryContext(ctx, q, qa...)
		if err != nil {
			return nil, s.wrap(err, "reading the devices to reserve")
		}
		for rows.Next() {
			var h string
			var d idleDevice
			if err := rows.Scan(&h, &d.worker, &d.health); err != nil {
				rows.Close()
				return nil, s.wrap(err, "reading the devices to reserve")
			}
			devs[h] = d
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, s.wrap(err, "reading the devices to reserve")
		}
	}

	// Keep the assignments whose job and device are as the snapshot saw
	// them, each job and device once, in the order given.
	var (
		jobIDs                       []int64
		jobDevs, jobSHAs, jobWorkers []string
		jobSettings                  []string
		devHosts                     []string
		devJobs, devSubmits          []int64
		devHC                        []bool
		usedJob                      = map[int64]bool{}
		usedDev                      = map[string]bool{}
	)
	for i := range chunk {
		a := &chunk[i]
		j := &a.Job
		dev, ok := devs[a.Device]
		if !ok || usedDev[a.Device] {
			continue
		}
		hc := true
		if j.ID != 0 {
			qj, ok := jobs[j.ID]
			if !ok || usedJob[j.ID] {
				continue
			}
			hc = qj.hc
			j.SubmitTime = fromMicros(qj.submit)
		}
		if !hc && dev.health != model.DeviceGood {
			continue // Unknown and Looping devices take health checks only
		}
		if j.ID == 0 {
			if err := s.insertJob(ctx, t, j); err != nil {
				return nil, err
			}
		}
		usedJob[j.ID], usedDev[a.Device] = true, true
		jobIDs = append(jobIDs, j.ID)
		jobDevs = append(jobDevs, a.Device)
		jobSHAs = append(jobSHAs, a.DriverSHA256)
		jobWorkers = append(jobWorkers, dev.worker)
		jobSettings = append(jobSettings, settings[i])
		devHosts = append(devHosts, a.Device)
		devJobs = append(devJobs, j.ID)
		devHC = append(devHC, hc)
		devSubmits = append(devSubmits, micros(j.SubmitTime))
		j.State, j.ActualDevice, j.Worker, j.DriverSHA256, j.HealthCheck = model.JobScheduled, a.Device, dev.worker, a.DriverSHA256, hc
		j.Settings = a.Settings
		out = append(out, *a)
	}
	if len(out) == 0 {
		return out, nil
	}

	var qa args
	q := `UPDATE jobs SET state = ` + qa.add(model.JobScheduled) + `, actual_device = v.c2, driver_sha256 = v.c3, worker = v.c4, settings = v.c5
FROM ` + s.d.rowsTable(&qa, int64Col(jobIDs), textCol(jobDevs), textCol(jobSHAs), textCol(jobWorkers), textCol(jobSettings)) + `
WHERE jobs.id = v.c1 AND jobs.state = ` + qa.add(model.JobSubmitted) + ` AND jobs.actual_device = ''`
	res, err := t.Tx.ExecContext(ctx, q, qa...)
	if err != nil {
		return nil, s.wrap(err, "scheduling %d jobs", len(jobIDs))
	}
	if err := wantRows(res, len(jobIDs), "scheduling %d jobs", len(jobIDs)); err != nil {
		return nil, err
	}
	qa = qa[:0]
	q = `UPDATE devices SET state = ` + qa.add(model.DeviceReserved) + `, current_job = v.c2,
last_health_check = CASE WHEN v.c3 THEN v.c4 ELSE devices.last_health_check END,
jobs_since_check = CASE WHEN v.c3 THEN 0 ELSE devices.jobs_since_check END
FROM ` + s.d.rowsTable(&qa, textCol(devHosts), int64Col(devJobs), boolCol(devHC), int64Col(devSubmits)) + `
WHERE devices.hostname = v.c1 AND devices.state = ` + qa.add(model.DeviceIdle) + ` AND devices.current_job IS NULL`
	res, err = t.Tx.ExecContext(ctx, q, qa...)
	if err != nil {
		return nil, s.wrap(err, "reserving %d devices", len(devHosts))
	}
	if err := wantRows(res, len(devHosts), "reserving %d devices", len(devHosts)); err != nil {
		return nil, err
	}
	for _, w := range jobWorkers {
		t.emit(store.TopicJobScheduled, w)
	}
	return out, nil
}

// wantRows checks that a statement of assignSet changed the n rows it read
// and locked (a conflict otherwise).
func wantRows(res sql.Result, n int, format string, a ...any) error {
	what := fmt.Sprintf(format, a...)
	got, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if got != int64(n) {
		return conflict("%s: %d changed (the rows were locked)", what, got)
	}
	return nil
}

// expiredCond selects the queued jobs whose queue timeout has passed
// ($1: now), from the index jobs_queue_deadline (migration 0005: the
// condition and the expression are the index's, with literals).
var expiredCond = `state = ` + strconv.Itoa(int(model.JobSubmitted)) +
	` AND actual_device = '' AND queue_timeout > 0 AND submit_time + queue_timeout < $1`

// ExpireQueued cancels the Submitted jobs whose queue timeout has passed.
// It runs before every scheduling pass: when no job has expired (the usual
// case) it is one index read and no write transaction.
func (s *DB) ExpireQueued(ctx context.Context, now time.Time) ([]int64, error) {
	due, err := column[int64](ctx, s.rq, `SELECT id FROM jobs`+s.d.indexedBy("jobs_queue_deadline")+` WHERE `+expiredCond, micros(now))
	if err != nil {
		return nil, s.wrap(err, "finding expired queued jobs")
	}
	if len(due) == 0 {
		return nil, nil
	}
	var ids []int64
	err = s.inTx(ctx, func(t *tx) error {
		var qa args
		qa.add(micros(now))
		var err error
		ids, err = column[int64](ctx, t.Tx, `UPDATE jobs SET state = `+qa.add(model.JobFinished)+`, health = `+qa.add(model.JobCanceled)+
			`, end_time = $1, failure_comment = `+qa.add("queue timeout passed")+`
WHERE `+s.d.inSet(&qa, "id", int64Col(due))+` AND `+expiredCond+` RETURNING id`, qa...)
		if err != nil {
			return s.wrap(err, "expiring queued jobs")
		}
		for _, id := range ids {
			t.emit(store.TopicJobFinished, strconv.FormatInt(id, 10))
		}
		return s.queueExpired(ctx, t, ids)
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
		if err := s.noteHealth(ctx, t, model.HealthChange{Device: hostname, From: model.DeviceUnknown, To: model.DeviceGood,
			Cause: model.HealthCauseScheduler}); err != nil {
			return err
		}
		t.emit(store.TopicDeviceFree, hostname)
		return nil
	})
}
