package sqlstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// jobColumns lists a job's columns; definition is the 5th.
var jobColumns = []string{"j.id", "j.sub_id", "j.target_group", "j.description", "j.definition", "j.state", "j.health",
	"j.priority", "j.visibility", "j.requested_device_type", "j.requested_device", "j.actual_device", "j.worker",
	"j.submitter", "j.health_check", "j.submit_time", "j.start_time", "j.end_time", "j.queue_timeout",
	"j.error_type", "j.failure_comment", "j.driver_sha256", "j.token_hash", "j.settings"}

var (
	jobCols = strings.Join(jobColumns, ", ")
)

func scanJob(sc interface{ Scan(...any) error }) (model.Job, error) {
	var j model.Job
	var submit, start, end, qt int64
	var settings string
	err := sc.Scan(&j.ID, &j.SubID, &j.TargetGroup, &j.Description, &j.Definition, &j.State, &j.Health,
		&j.Priority, &j.Visibility, &j.RequestedDeviceType, &j.RequestedDevice, &j.ActualDevice, &j.Worker,
		&j.Submitter, &j.HealthCheck, &submit, &start, &end, &qt,
		&j.ErrorType, &j.FailureComment, &j.DriverSHA256, &j.TokenHash, &settings)
	j.SubmitTime, j.StartTime, j.EndTime = fromMicros(submit), fromMicros(start), fromMicros(end)
	j.QueueTimeout = time.Duration(qt) * time.Microsecond
	if err == nil && settings != "" {
		if uerr := json.Unmarshal([]byte(settings), &j.Settings); uerr != nil {
			err = fmt.Errorf("job %d: settings: %w", j.ID, uerr)
		}
	}
	return j, err
}

// settingsText encodes a job's merged settings ("" for none).
func settingsText(m map[string]any) (string, error) {
	if m == nil {
		return "", nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", invalid("job settings: %v", err)
	}
	return string(b), nil
}

// jobExtras fills the tags, metadata and viewing groups of the jobs.
func jobExtras(ctx context.Context, q querier, jobs []model.Job, groups bool) error {
	if len(jobs) == 0 {
		return nil
	}
	idx := make(map[int64]int, len(jobs))
	ids := make([]any, len(jobs))
	for i := range jobs {
		idx[jobs[i].ID] = i
		ids[i] = jobs[i].ID
	}
	fill := func(table, col string, set func(*model.Job, string)) error {
		for start := 0; start < len(ids); start += 500 {
			chunk := ids[start:min(start+500, len(ids))]
			var a args
			rows, err := q.QueryContext(ctx, `SELECT job_id, `+col+` FROM `+table+` WHERE job_id IN (`+a.list(chunk...)+`) ORDER BY job_id, `+col, a...)
			if err != nil {
				return err
			}
			for rows.Next() {
				var id int64
				var v string
				if err := rows.Scan(&id, &v); err != nil {
					rows.Close()
					return err
				}
				if i, ok := idx[id]; ok {
					set(&jobs[i], v)
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	}
	if err := fill("job_tags", "tag", func(j *model.Job, v string) { j.Tags = append(j.Tags, v) }); err != nil {
		return err
	}
	if err := fillJobMetadata(ctx, q, jobs, idx, ids); err != nil {
		return err
	}
	if !groups {
		return nil
	}
	return fill("job_viewing_groups", "group_name", func(j *model.Job, v string) { j.ViewingGroups = append(j.ViewingGroups, v) })
}

func (s *DB) job(ctx context.Context, q querier, id int64, lock string) (model.Job, error) {
	j, err := scanJob(q.QueryRowContext(ctx, `SELECT `+jobCols+` FROM jobs j WHERE j.id = $1`+lock, id))
	if err != nil {
		return j, s.wrap(err, "job %d", id)
	}
	js := []model.Job{j}
	if err := jobExtras(ctx, q, js, true); err != nil {
		return j, s.wrap(err, "job %d", id)
	}
	return js[0], nil
}

// A sub-job of a multinode job (group) may have no device type when its
// definition is a connection role's (issue 21).
func validJob(j *model.Job, group bool) error {
	if strings.TrimSpace(j.RequestedDeviceType) == "" {
		if !group || j.RequestedDeviceType != "" {
			return invalid("job %q: no device type", j.Description)
		}
		if f, _, err := job.ReadSubJob([]byte(j.Definition)); err != nil || f == nil || f.Connection == "" {
			return invalid("job %q: no device type, and not a multinode connection sub-job", j.Description)
		}
	}
	if j.Priority < 0 || j.Priority > 100 {
		return invalid("job %q: priority %d out of 0..100", j.Description, j.Priority)
	}
	switch j.Visibility {
	case "":
		j.Visibility = model.VisibilityPublic
	case model.VisibilityPublic, model.VisibilityPersonal:
	case model.VisibilityGroup:
		if len(j.ViewingGroups) == 0 {
			return invalid("job %q: group visibility without groups", j.Description)
		}
	default:
		return invalid("job %q: visibility %q", j.Description, j.Visibility)
	}
	if j.QueueTimeout < 0 {
		return invalid("job %q: negative queue timeout", j.Description)
	}
	return nil
}

func randomGroup() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// tagList is a job's tags as stored on its row (migration 0006): sorted,
// one per line.
func tagList(sorted []string) string { return strings.Join(sorted, "\n") }

// splitTagList is the reverse of tagList.
func splitTagList(l string) []string {
	if l == "" {
		return nil
	}
	return strings.Split(l, "\n")
}

// insertJob inserts a Submitted job with its tags and groups.
func (s *DB) insertJob(ctx context.Context, t *tx, j *model.Job) error {
	j.Tags = sortedCopy(j.Tags)
	fillMetadata(j)
	err := t.QueryRowContext(ctx, `INSERT INTO jobs (sub_id, target_group, description, definition, state, health, priority,
visibility, requested_device_type, requested_device, submitter, health_check, submit_time, queue_timeout, token_hash, tag_list)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id`,
		j.SubID, j.TargetGroup, j.Description, j.Definition, j.State, j.Health, j.Priority,
		j.Visibility, j.RequestedDeviceType, j.RequestedDevice, j.Submitter, j.HealthCheck, micros(j.SubmitTime),
		j.QueueTimeout.Microseconds(), nullBytes(j.TokenHash), tagList(j.Tags)).Scan(&j.ID)
	if err != nil {
		return s.wrap(err, "inserting job %q", j.Description)
	}
	for _, tg := range j.Tags {
		if _, err := t.ExecContext(ctx, `INSERT INTO job_tags (job_id, tag) VALUES ($1, $2)`, j.ID, tg); err != nil {
			return s.wrap(err, "tagging job %d", j.ID)
		}
	}
	j.ViewingGroups = sortedCopy(j.ViewingGroups)
	for _, g := range j.ViewingGroups {
		if _, err := t.ExecContext(ctx, `INSERT INTO job_viewing_groups (job_id, group_name) VALUES ($1, $2)`, j.ID, g); err != nil {
			return s.wrap(err, "setting the viewing groups of job %d", j.ID)
		}
	}
	var mdJob []int64
	var mdNames, mdValues []string
	metadataRows(j, &mdJob, &mdNames, &mdValues)
	if err := s.insertMetadata(ctx, t, mdJob, mdNames, mdValues); err != nil {
		return s.wrap(err, "storing the metadata of job %d", j.ID)
	}
	return nil
}

// insertJobsSet inserts Submitted jobs that are not multinode with one
// statement per table (ArrayParams backends: a burst of submissions is a
// few round trips to PostgreSQL instead of a few per job), and emits their
// job_submitted events.
func (s *DB) insertJobsSet(ctx context.Context, t *tx, jobs []*model.Job) error {
	if len(jobs) == 0 {
		return nil
	}
	n := len(jobs)
	var (
		subID, group, desc, def, vis, dtype, dev, submitter, token = make([]string, n), make([]string, n), make([]string, n),
			make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		tagLists                        = make([]string, n)
		state, health, prio, submit, qt = make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
		hc                              = make([]bool, n)
		tagJob, viewJob, mdJob          []int64
		tags, views, mdNames, mdValues  []string
	)
	for i, j := range jobs {
		subID[i], group[i], desc[i], def[i], vis[i] = j.SubID, j.TargetGroup, j.Description, j.Definition, string(j.Visibility)
		dtype[i], dev[i], submitter[i], token[i] = j.RequestedDeviceType, j.RequestedDevice, j.Submitter, hex.EncodeToString(j.TokenHash)
		state[i], health[i], prio[i], submit[i], qt[i] = int64(j.State), int64(j.Health), int64(j.Priority), micros(j.SubmitTime), j.QueueTimeout.Microseconds()
		hc[i] = j.HealthCheck
		j.Tags = sortedCopy(j.Tags)
		tagLists[i] = tagList(j.Tags)
		fillMetadata(j)
	}
	var qa args
	q := `INSERT INTO jobs (sub_id, target_group, description, definition, state, health, priority,
visibility, requested_device_type, requested_device, submitter, health_check, submit_time, queue_timeout, token_hash, tag_list)
SELECT c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, CASE WHEN c15 = '' THEN NULL ELSE decode(c15, 'hex') END, c16
FROM ` + s.d.rowsTable(&qa, textCol(subID), textCol(group), textCol(desc), textCol(def), int64Col(state), int64Col(health),
		int64Col(prio), textCol(vis), textCol(dtype), textCol(dev), textCol(submitter), boolCol(hc), int64Col(submit), int64Col(qt),
		textCol(token), textCol(tagLists)) + ` RETURNING id`
	ids, err := column[int64](ctx, t.Tx, q, qa...)
	if err != nil {
		return s.wrap(err, "inserting %d jobs", n)
	}
	if len(ids) != n {
		return fmt.Errorf("inserting %d jobs: %d ids returned", n, len(ids))
	}
	// The ids come from a sequence, taken row by row in the order the rows
	// are inserted: sorted, they are the jobs' in order.
	slices.Sort(ids)
	for i, j := range jobs {
		j.ID = ids[i]
		for _, tg := range j.Tags {
			tagJob, tags = append(tagJob, j.ID), append(tags, tg)
		}
		j.ViewingGroups = sortedCopy(j.ViewingGroups)
		for _, g := range j.ViewingGroups {
			viewJob, views = append(viewJob, j.ID), append(views, g)
		}
		metadataRows(j, &mdJob, &mdNames, &mdValues)
	}
	if len(tags) > 0 {
		qa = qa[:0]
		if _, err := t.Tx.ExecContext(ctx, `INSERT INTO job_tags (job_id, tag) SELECT c1, c2 FROM `+
			s.d.rowsTable(&qa, int64Col(tagJob), textCol(tags)), qa...); err != nil {
			return s.wrap(err, "tagging %d jobs", n)
		}
	}
	if len(views) > 0 {
		qa = qa[:0]
		if _, err := t.Tx.ExecContext(ctx, `INSERT INTO job_viewing_groups (job_id, group_name) SELECT c1, c2 FROM `+
			s.d.rowsTable(&qa, int64Col(viewJob), textCol(views)), qa...); err != nil {
			return s.wrap(err, "setting the viewing groups of %d jobs", n)
		}
	}
	if err := s.insertMetadata(ctx, t, mdJob, mdNames, mdValues); err != nil {
		return s.wrap(err, "storing the metadata of %d jobs", n)
	}
	for _, j := range jobs {
		t.events = append(t.events, store.Event{Topic: store.TopicJobSubmitted, Key: strconv.FormatInt(j.ID, 10)})
	}
	return nil
}

// CreateJobs inserts jobs, Submitted, in one transaction. Several jobs (or
// one with a TargetGroup) make a multinode job: they share a TargetGroup
// (made up if empty) and get SubIDs "<first id>.<n>". A zero SubmitTime is
// set to now.
func (s *DB) CreateJobs(ctx context.Context, jobs []model.Job) ([]model.Job, error) {
	if len(jobs) == 0 {
		return nil, invalid("creating jobs: none given")
	}
	out := slices.Clone(jobs)
	multi := len(out) > 1 || slices.ContainsFunc(out, func(j model.Job) bool { return j.TargetGroup != "" })
	group := ""
	for i := range out {
		j := &out[i]
		if err := validJob(j, multi); err != nil {
			return nil, err
		}
		if j.TargetGroup != "" {
			multi = true
			group = j.TargetGroup
		}
		j.State, j.Health, j.ActualDevice, j.Worker = model.JobSubmitted, model.JobUnknown, "", ""
		j.StartTime, j.EndTime, j.SubID = time.Time{}, time.Time{}, ""
		if j.SubmitTime.IsZero() {
			j.SubmitTime = s.now()
		}
		j.SubmitTime = fromMicros(micros(j.SubmitTime))
	}
	if multi && group == "" {
		group = randomGroup()
	}
	req := &createReq{jobs: out, multi: multi, group: group}
	if s.cfg.GroupCommit {
		return s.createGrouped(ctx, req)
	}
	if err := s.inTx(ctx, func(t *tx) error { return s.insertJobs(ctx, t, req) }); err != nil {
		return nil, err
	}
	return req.jobs, nil
}

// createReq is one CreateJobs call, validated.
type createReq struct {
	jobs  []model.Job
	multi bool
	group string
	err   error
	done  chan struct{}
}

func (s *DB) insertJobs(ctx context.Context, t *tx, req *createReq) error {
	for i := range req.jobs {
		j := &req.jobs[i]
		if req.multi {
			j.TargetGroup = req.group
			if i > 0 {
				j.SubID = fmt.Sprintf("%d.%d", req.jobs[0].ID, i)
			}
		}
		if err := s.insertJob(ctx, t, j); err != nil {
			return err
		}
		if req.multi && i == 0 {
			j.SubID = fmt.Sprintf("%d.0", j.ID)
			if _, err := t.ExecContext(ctx, `UPDATE jobs SET sub_id = $1 WHERE id = $2`, j.SubID, j.ID); err != nil {
				return s.wrap(err, "numbering job %d", j.ID)
			}
		}
		t.emit(store.TopicJobSubmitted, strconv.FormatInt(j.ID, 10))
	}
	return nil
}

// maxGroup bounds the CreateJobs calls committed together.
const maxGroup = 256

// createGrouped commits concurrent CreateJobs calls together (group
// commit): the first caller to find no commit under way becomes the
// committer and commits every call queued meanwhile in one transaction,
// until the queue is empty. If a group fails, its calls are retried one by
// one so that each gets its own answer.
func (s *DB) createGrouped(ctx context.Context, req *createReq) ([]model.Job, error) {
	req.done = make(chan struct{})
	s.creates.do(ctx, req, req.done, maxGroup, s.commitGroup)
	return req.jobs, req.err
}

func (s *DB) commitGroup(ctx context.Context, group []*createReq) {
	saved := make([][]model.Job, len(group))
	for i, r := range group {
		saved[i] = slices.Clone(r.jobs)
	}
	err := s.inTx(ctx, func(t *tx) error {
		var single []*model.Job
		for _, r := range group {
			if s.d.ArrayParams && !r.multi {
				single = append(single, &r.jobs[0])
				continue
			}
			if err := s.insertJobs(ctx, t, r); err != nil {
				return err
			}
		}
		return s.insertJobsSet(ctx, t, single)
	})
	if err != nil && len(group) > 1 {
		for i, r := range group {
			r.jobs = saved[i]
			r.err = s.inTx(ctx, func(t *tx) error { return s.insertJobs(ctx, t, r) })
			close(r.done)
		}
		return
	}
	for _, r := range group {
		r.err = err
		close(r.done)
	}
}

// visibility returns the SQL condition on jobs j for the viewer ("" for
// admins): the same rule as store.CanView.
func visibility(v store.Viewer, a *args) string {
	if v.Admin {
		return ""
	}
	conds := []string{"j.visibility = " + a.add(model.VisibilityPublic)}
	if v.Username != "" {
		conds = append(conds, "j.submitter = "+a.add(v.Username))
	}
	if len(v.Groups) > 0 {
		gs := make([]any, len(v.Groups))
		for i, g := range v.Groups {
			gs[i] = g
		}
		conds = append(conds, "(j.visibility = "+a.add(model.VisibilityGroup)+
			" AND EXISTS (SELECT 1 FROM job_viewing_groups g WHERE g.job_id = j.id AND g.group_name IN ("+a.list(gs...)+")))")
	}
	return "(" + strings.Join(conds, " OR ") + ")"
}

// Job returns one job if the viewer may see it.
func (s *DB) Job(ctx context.Context, v store.Viewer, id int64) (model.Job, error) {
	j, err := s.job(ctx, s.rq, id, "")
	if err != nil {
		return model.Job{}, err
	}
	if !store.CanView(v, j) {
		return model.Job{}, notFound("job %d", id)
	}
	return j, nil
}

// likeEscape escapes LIKE's wildcards (escape character \).
func likeEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// ListJobs returns a page of the jobs the viewer may see, newest first,
// and how many such jobs there are.
func (s *DB) ListJobs(ctx context.Context, v store.Viewer, f store.JobFilter) ([]model.Job, int, error) {
	var a args
	var where []string
	if c := visibility(v, &a); c != "" {
		where = append(where, c)
	}
	if len(f.States) > 0 {
		vs := make([]any, len(f.States))
		for i, st := range f.States {
			vs[i] = int(st)
		}
		where = append(where, "j.state IN ("+a.list(vs...)+")")
	}
	if len(f.Healths) > 0 {
		vs := make([]any, len(f.Healths))
		for i, h := range f.Healths {
			vs[i] = int(h)
		}
		where = append(where, "j.health IN ("+a.list(vs...)+")")
	}
	if f.DeviceType != "" {
		where = append(where, "j.requested_device_type = "+a.add(f.DeviceType))
	}
	if f.Device != "" {
		p := a.add(f.Device)
		where = append(where, "(j.actual_device = "+p+" OR j.requested_device = "+p+")")
	}
	if f.Submitter != "" {
		where = append(where, "j.submitter = "+a.add(f.Submitter))
	}
	if f.Text != "" {
		where = append(where, `LOWER(j.description) LIKE `+a.add("%"+likeEscape(strings.ToLower(f.Text))+"%")+` ESCAPE '\'`)
	}
	if f.HealthCheck != nil {
		where = append(where, "j.health_check = "+a.add(*f.HealthCheck))
	}
	if c, err := s.metadataFilter(ctx, f.Metadata, &a); err != nil {
		return nil, 0, err
	} else if c != "" {
		where = append(where, c)
	}
	if !f.SubmittedAfter.IsZero() {
		where = append(where, "j.submit_time >= "+a.add(micros(f.SubmittedAfter)))
	}
	if !f.SubmittedBefore.IsZero() {
		where = append(where, "j.submit_time < "+a.add(micros(f.SubmittedBefore)))
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	limit, offset := f.Limit, f.Offset
	if limit <= 0 {
		limit = 50
	}
	if offset < 0 {
		offset = 0
	}
	total := -1
	switch {
	case f.CountLimit == 0:
		if err := s.rq.QueryRowContext(ctx, `SELECT COUNT(*) FROM jobs j`+cond, a...).Scan(&total); err != nil {
			return nil, 0, s.wrap(err, "counting jobs")
		}
	case f.CountLimit > 0:
		// Newest first, as the list: the jobs counted are the ones paged.
		ca := slices.Clone(a)
		q := `SELECT COUNT(*) FROM (SELECT 1 FROM jobs j` + cond + ` ORDER BY j.id DESC LIMIT ` + ca.add(f.CountLimit) + `) c`
		if err := s.rq.QueryRowContext(ctx, q, ca...).Scan(&total); err != nil {
			return nil, 0, s.wrap(err, "counting jobs")
		}
	}
	if total >= 0 && offset >= total && (f.CountLimit <= 0 || total < f.CountLimit) {
		return []model.Job{}, total, nil
	}
	q := `SELECT ` + jobCols + ` FROM jobs j` + cond + ` ORDER BY j.id DESC LIMIT ` + a.add(limit) + ` OFFSET ` + a.add(offset)
	jobs, err := s.scanJobs(ctx, s.rq, q, true, a...)
	if err != nil {
		return nil, 0, s.wrap(err, "listing jobs")
	}
	return jobs, total, nil
}

func (s *DB) scanJobs(ctx context.Context, q querier, query string, groups bool, a ...any) ([]model.Job, error) {
	rows, err := q.QueryContext(ctx, query, a...)
	if err != nil {
		return nil, err
	}
	out := []model.Job{}
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, j)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, jobExtras(ctx, q, out, groups)
}

func isConflict(err error) bool { return errors.Is(err, store.ErrConflict) }

// freeDevice puts the job's device back to Idle if the job holds it.
func freeDevice(ctx context.Context, t *tx, j model.Job) error {
	if j.ActualDevice == "" {
		return nil
	}
	_, err := t.ExecContext(ctx, `UPDATE devices SET state = $1, current_job = NULL WHERE hostname = $2 AND current_job = $3`,
		model.DeviceIdle, j.ActualDevice, j.ID)
	return err
}

// cancelJob is CancelJob inside a transaction.
func (s *DB) cancelJob(ctx context.Context, t *tx, id int64) (model.Job, error) {
	j, err := s.job(ctx, t, id, s.d.ForUpdate)
	if err != nil {
		return j, err
	}
	key := strconv.FormatInt(id, 10)
	now := fromMicros(micros(s.now()))
	switch j.State {
	case model.JobSubmitted, model.JobScheduling, model.JobScheduled:
		if _, err := t.ExecContext(ctx, `UPDATE jobs SET state = $1, health = $2, end_time = $3 WHERE id = $4`,
			model.JobFinished, model.JobCanceled, micros(now), id); err != nil {
			return j, s.wrap(err, "canceling job %d", id)
		}
		if err := freeDevice(ctx, t, j); err != nil {
			return j, s.wrap(err, "freeing the device of job %d", id)
		}
		if j.ActualDevice != "" {
			t.emit(store.TopicDeviceFree, j.ActualDevice)
		}
		if j.Worker != "" {
			t.emit(store.TopicJobCanceling, j.Worker)
		}
		t.emit(store.TopicJobFinished, key)
		old := j.Health
		j.State, j.Health, j.EndTime = model.JobFinished, model.JobCanceled, now
		if err := s.queueNotifications(ctx, t, j, old); err != nil {
			return j, err
		}
	case model.JobRunning:
		if _, err := t.ExecContext(ctx, `UPDATE jobs SET state = $1 WHERE id = $2`, model.JobCanceling, id); err != nil {
			return j, s.wrap(err, "canceling job %d", id)
		}
		t.emit(store.TopicJobCanceling, j.Worker)
		j.State = model.JobCanceling
	default:
		return j, conflict("canceling job %d: it is %s", id, j.State)
	}
	return j, nil
}

// CancelJob cancels a job: Submitted, Scheduling and Scheduled (not yet
// started by a worker) jobs are Finished/Canceled at once, their device
// freed; Running jobs go to Canceling for the worker to stop them.
func (s *DB) CancelJob(ctx context.Context, id int64) (model.Job, error) {
	var j model.Job
	err := s.inTx(ctx, func(t *tx) error {
		var err error
		j, err = s.cancelJob(ctx, t, id)
		return err
	})
	return j, err
}

// StartJob moves a Scheduled job and its device to Running. Starting a
// Running job again returns it unchanged (a worker's resend).
func (s *DB) StartJob(ctx context.Context, id int64) (model.Job, error) {
	var j model.Job
	err := s.inTx(ctx, func(t *tx) error {
		var err error
		j, err = s.job(ctx, t, id, s.d.ForUpdate)
		if err != nil {
			return err
		}
		switch j.State {
		case model.JobRunning:
			return nil
		case model.JobScheduled:
		default:
			return conflict("starting job %d: it is %s", id, j.State)
		}
		now := fromMicros(micros(s.now()))
		if _, err := t.ExecContext(ctx, `UPDATE jobs SET state = $1, start_time = $2 WHERE id = $3`, model.JobRunning, micros(now), id); err != nil {
			return s.wrap(err, "starting job %d", id)
		}
		if j.ActualDevice == "" && j.TargetGroup != "" {
			// A connection sub-job (issue 21) holds no device.
			j.State, j.StartTime = model.JobRunning, now
			return s.queueNotifications(ctx, t, j, j.Health)
		}
		inc := 1
		if j.HealthCheck {
			inc = 0
		}
		res, err := t.ExecContext(ctx, `UPDATE devices SET state = $1, jobs_since_check = jobs_since_check + $2 WHERE hostname = $3 AND current_job = $4`,
			model.DeviceRunning, inc, j.ActualDevice, id)
		if err != nil {
			return s.wrap(err, "starting the device of job %d", id)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return conflict("starting job %d: device %q is not reserved for it", id, j.ActualDevice)
		}
		j.State, j.StartTime = model.JobRunning, now
		return s.queueNotifications(ctx, t, j, j.Health)
	})
	return j, err
}

// FinishJob ends a job and frees and grades its device, in one transaction.
func (s *DB) FinishJob(ctx context.Context, id int64, r store.JobResult) (model.Job, error) {
	switch r.Health {
	case model.JobComplete, model.JobIncomplete, model.JobCanceled:
	default:
		return model.Job{}, invalid("finishing job %d: health %s", id, r.Health)
	}
	var j model.Job
	err := s.inTx(ctx, func(t *tx) error {
		var err error
		j, err = s.finishJob(ctx, t, id, r)
		return err
	})
	return j, err
}

// finishJob is FinishJob inside a transaction (r.Health already checked).
func (s *DB) finishJob(ctx context.Context, t *tx, id int64, r store.JobResult) (model.Job, error) {
	return s.endJob(ctx, t, id, r, false)
}

// endJob ends a job; admin (FailJob) also ends Submitted jobs and keeps
// r.Health for a Canceling job (otherwise Canceled).
func (s *DB) endJob(ctx context.Context, t *tx, id int64, r store.JobResult, admin bool) (model.Job, error) {
	j, err := s.job(ctx, t, id, s.d.ForUpdate)
	if err != nil {
		return j, err
	}
	err = func() error {
		switch j.State {
		case model.JobScheduling, model.JobScheduled, model.JobRunning, model.JobCanceling:
		case model.JobSubmitted:
			if !admin {
				return conflict("finishing job %d: it is %s", id, j.State)
			}
		default:
			return conflict("finishing job %d: it is %s", id, j.State)
		}
		h := r.Health
		if j.State == model.JobCanceling && !admin {
			h = model.JobCanceled
		}
		now := fromMicros(micros(s.now()))
		if _, err := t.ExecContext(ctx, `UPDATE jobs SET state = $1, health = $2, end_time = $3, error_type = $4, failure_comment = $5 WHERE id = $6`,
			model.JobFinished, h, micros(now), r.ErrorType, r.FailureComment, id); err != nil {
			return s.wrap(err, "finishing job %d", id)
		}
		old := j.Health
		j.State, j.Health, j.EndTime, j.ErrorType, j.FailureComment = model.JobFinished, h, now, r.ErrorType, r.FailureComment
		t.emit(store.TopicJobFinished, strconv.FormatInt(id, 10))
		if err := s.queueNotifications(ctx, t, j, old); err != nil {
			return err
		}
		if j.ActualDevice == "" {
			return nil
		}
		var devHealth model.DeviceHealth
		var cur int64
		err = t.QueryRowContext(ctx, `SELECT health, COALESCE(current_job, 0) FROM devices WHERE hostname = $1`+s.d.ForUpdate, j.ActualDevice).Scan(&devHealth, &cur)
		if err != nil {
			return s.wrap(err, "device %q of job %d", j.ActualDevice, id)
		}
		if cur != id {
			return nil // the device has moved on (admin action): leave it
		}
		newHealth := deviceHealthAfter(j.HealthCheck, h, r.ErrorType, devHealth)
		q := `UPDATE devices SET state = $1, current_job = NULL, health = $2 WHERE hostname = $3`
		a := []any{model.DeviceIdle, newHealth, j.ActualDevice}
		if j.HealthCheck {
			q = `UPDATE devices SET state = $1, current_job = NULL, health = $2, last_health_report = $4 WHERE hostname = $3`
			a = append(a, micros(now))
		}
		if _, err := t.ExecContext(ctx, q, a...); err != nil {
			return s.wrap(err, "freeing device %q of job %d", j.ActualDevice, id)
		}
		if j.HealthCheck && newHealth != devHealth {
			if err := s.noteHealth(ctx, t, model.HealthChange{Device: j.ActualDevice, From: devHealth, To: newHealth,
				Cause: model.HealthCauseHealthCheck, JobID: id}); err != nil {
				return err
			}
		}
		switch newHealth {
		case model.DeviceGood, model.DeviceUnknown, model.DeviceLooping:
			t.emit(store.TopicDeviceFree, j.ActualDevice)
		}
		return nil
	}()
	return j, err
}

// deviceHealthAfter is the device's health once a job ended on it: a
// health check grades it (Complete → Good, a Looping device stays Looping;
// Incomplete → Bad; Canceled → Unknown); an infrastructure error on an
// Incomplete normal job puts a Good device to Unknown. Maintenance, Bad and
// Retired devices keep the admin's health.
func deviceHealthAfter(healthCheck bool, h model.JobHealth, errorType string, cur model.DeviceHealth) model.DeviceHealth {
	switch cur {
	case model.DeviceGood, model.DeviceUnknown, model.DeviceLooping:
	default:
		return cur
	}
	if healthCheck {
		switch h {
		case model.JobComplete:
			if cur == model.DeviceLooping {
				return cur
			}
			return model.DeviceGood
		case model.JobIncomplete:
			return model.DeviceBad
		default:
			return model.DeviceUnknown
		}
	}
	if h == model.JobIncomplete && store.InfrastructureError(errorType) && cur == model.DeviceGood {
		return model.DeviceUnknown
	}
	return cur
}
