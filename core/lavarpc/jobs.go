package lavarpc

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lavalab/lavalab/core/api"
	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// Log and list limits.
const (
	// MaxLogLines is the most records one jobs.logs answer holds; lavacli
	// asks again from where it got to.
	MaxLogLines = 10000
	// ListLimit is jobs.list's and jobs.queue's largest page (LAVA's clamp).
	ListLimit = 100
)

// errAuth is LAVA's fault for an anonymous call to a method that needs a
// user.
func errAuth() *Fault {
	return Faultf(401, "Authentication with user and token required for this API.")
}

func needUser(c *Caller) error {
	if c.User == nil {
		return errAuth()
	}
	return nil
}

func needAdmin(c *Caller) error {
	if c.User == nil {
		return errAuth()
	}
	if !c.User.IsAdmin {
		return Faultf(403, "Permission denied.")
	}
	return nil
}

// FindJob loads a job by LAVA id ("12", or a multinode sub id "12.1") as
// v sees it: 404 when there is none, 403 when v may not see it (the store
// decides, from the Viewer).
func FindJob(ctx context.Context, st store.Store, v store.Viewer, ref string) (model.Job, error) {
	notFound := Faultf(404, "Job '%s' was not found.", ref)
	id, sub, isSub := strings.Cut(ref, ".")
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return model.Job{}, notFound
	}
	if isSub {
		k, err := strconv.ParseInt(sub, 10, 64)
		if err != nil || k < 0 {
			return model.Job{}, notFound
		}
		n += k
	}
	j, err := st.Job(ctx, v, n)
	if errors.Is(err, store.ErrNotFound) {
		// Tell "does not exist" from "may not see".
		if sj, err2 := st.Job(ctx, store.System(), n); err2 == nil && (!isSub || sj.SubID == ref) {
			name := v.Username
			if name == "" {
				name = "AnonymousUser"
			}
			return model.Job{}, Faultf(403, "Job '%s' not available to user '%s'.", ref, name)
		}
		return model.Job{}, notFound
	}
	if err != nil {
		return model.Job{}, fmt.Errorf("job %s: %w", ref, err)
	}
	if isSub && j.SubID != ref {
		return model.Job{}, notFound
	}
	return j, nil
}

func (s *Server) job(ctx context.Context, c *Caller, a args, i int) (model.Job, error) {
	ref, err := a.ref(i)
	if err != nil {
		return model.Job{}, err
	}
	return FindJob(ctx, s.st, c.Viewer(), ref)
}

// Submit parses, checks and stores a definition for submitter with the
// same rules as /api/v1 (core/job, then the Checker). Faults carry LAVA's
// codes and messages.
func (s *Server) Submit(ctx context.Context, text, submitter string) ([]model.Job, error) {
	if strings.TrimSpace(text) == "" {
		return nil, Faultf(400, "Problem with submitted job data: empty job definition")
	}
	def, rep := job.Parse([]byte(text))
	if !rep.OK() || def == nil {
		return nil, Faultf(400, "Problem with submitted job data: %s", issues(rep.Errors))
	}
	probs, err := s.chk.Problems(ctx, def)
	if err != nil {
		return nil, fmt.Errorf("checking the job: %w", err)
	}
	if len(probs) > 0 {
		for _, p := range probs {
			if strings.Contains(p.Message, "does not exist.") && strings.HasPrefix(p.Message, "Device type") {
				return nil, Faultf(404, "Specified device or device type not found.")
			}
		}
		// A method the device type's driver lacks is wrong job data (its
		// issues are at actions[N]); the other problems are the lab's.
		if slices.ContainsFunc(probs, func(p job.Issue) bool { return strings.HasPrefix(p.Path, "actions[") }) {
			return nil, Faultf(400, "Problem with submitted job data: %s", issues(probs))
		}
		return nil, Faultf(400, "Device unavailable: %s", issues(probs))
	}
	gp, err := api.GroupProblems(ctx, s.st, def, submitter)
	if err != nil {
		return nil, fmt.Errorf("checking the job: %w", err)
	}
	if len(gp) > 0 {
		return nil, Faultf(400, "Problem with submitted job data: %s", issues(gp))
	}
	jobs, err := s.st.CreateJobs(ctx, api.JobsOf(def, submitter))
	if err != nil {
		return nil, fmt.Errorf("storing the job: %w", err)
	}
	return jobs, nil
}

func issues(is []job.Issue) string {
	msgs := make([]string, 0, len(is))
	for _, i := range is {
		msgs = append(msgs, i.String())
	}
	if len(msgs) > 5 {
		return fmt.Sprintf("%d errors, the first: %s", len(msgs), msgs[0])
	}
	return strings.Join(msgs, "; ")
}

// submitted is submit's answer: the id, or the sub ids of a multinode job.
func submitted(jobs []model.Job) any {
	if len(jobs) == 1 && jobs[0].SubID == "" {
		return jobs[0].ID
	}
	out := make([]any, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, DisplayID(j))
	}
	return out
}

func timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func strOrNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nonNil(s []string) []any {
	out := make([]any, 0, len(s))
	for _, v := range s {
		out = append(out, v)
	}
	return out
}

func (s *Server) registerJobs() {
	s.add(&method{name: "scheduler.jobs.submit", sig: []string{"int", "string"}, min: 1, max: 1,
		help: "Submit a job definition (YAML). Returns the job id, or the list of sub ids of a multinode job.",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			if err := needUser(c); err != nil {
				return nil, err
			}
			text, err := a.str(0)
			if err != nil {
				return nil, err
			}
			jobs, err := s.Submit(ctx, text, c.User.Username)
			if err != nil {
				return nil, err
			}
			s.log.Info("job submitted", "via", "xml-rpc", "id", jobs[0].ID, "jobs", len(jobs), "submitter", c.User.Username)
			return submitted(jobs), nil
		}})
	s.add(&method{name: "scheduler.jobs.resubmit", sig: []string{"int", "string"}, min: 1, max: 1,
		help: "Resubmit a job's definition as the caller. Returns the new id (or sub ids).",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			if err := needUser(c); err != nil {
				return nil, err
			}
			j, err := s.job(ctx, c, a, 0)
			if err != nil {
				return nil, err
			}
			if j.HealthCheck {
				return nil, Faultf(400, "Job '%d' is a health check: the scheduler runs health checks itself.", j.ID)
			}
			if j.TargetGroup != "" {
				return nil, Faultf(400, "Job '%s' is one sub-job of a multinode job: submit the whole multinode definition again.", j.SubID)
			}
			if !c.User.IsAdmin && c.User.Username != j.Submitter {
				return nil, Faultf(403, "Permission denied.")
			}
			jobs, err := s.Submit(ctx, j.Definition, c.User.Username)
			if err != nil {
				return nil, err
			}
			return submitted(jobs), nil
		}})
	s.add(&method{name: "scheduler.jobs.cancel", sig: []string{"boolean", "string"}, min: 1, max: 1,
		help: "Cancel a job (its submitter or an admin).",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			if err := needUser(c); err != nil {
				return nil, err
			}
			j, err := s.job(ctx, c, a, 0)
			if err != nil {
				return nil, err
			}
			if !c.User.IsAdmin && c.User.Username != j.Submitter {
				return nil, Faultf(403, "Permission denied.")
			}
			if _, err := s.st.CancelJob(ctx, j.ID); err != nil {
				if errors.Is(err, store.ErrConflict) {
					// LAVA: canceling a finished or canceling job is a no-op.
					return true, nil
				}
				return nil, fmt.Errorf("canceling job %d: %w", j.ID, err)
			}
			return true, nil
		}})
	s.add(&method{name: "scheduler.jobs.definition", sig: []string{"string", "string"}, min: 1, max: 1,
		help: "The job's original definition.",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			j, err := s.job(ctx, c, a, 0)
			if err != nil {
				return nil, err
			}
			return j.Definition, nil
		}})
	s.add(&method{name: "scheduler.jobs.show", sig: []string{"struct", "string"}, min: 1, max: 1,
		help: "Details of a job.",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			j, err := s.job(ctx, c, a, 0)
			if err != nil {
				return nil, err
			}
			return map[string]any{
				"id": DisplayID(j), "description": j.Description, "device": strOrNil(j.ActualDevice),
				"device_type": strOrNil(j.RequestedDeviceType), "health_check": j.HealthCheck, "pipeline": true,
				"health": j.Health.String(), "state": j.State.String(), "submitter": j.Submitter,
				"submit_time": timeOrNil(j.SubmitTime), "start_time": timeOrNil(j.StartTime), "end_time": timeOrNil(j.EndTime),
				"tags": nonNil(j.Tags), "visibility": Visibility(j), "failure_comment": strOrNil(j.FailureComment),
				// Not in LAVA's jobs.show: its metadata, in the shape of
				// results.get_testjob_metadata.
				"metadata": MetadataList(j),
			}, nil
		}})
	s.add(&method{name: "scheduler.jobs.list", sig: []string{"array", "string", "string", "int", "int", "int", "boolean"}, min: 0, max: 6,
		help: "List jobs, newest first: list(state=None, health=None, start=0, limit=25, since=0, verbose=False); limit is at most 100, since is minutes (jobs that ended since).",
		fn:   s.listJobs})
	s.add(&method{name: "scheduler.jobs.logs", sig: []string{"array", "string", "int", "int"}, min: 1, max: 3,
		help: "logs(job_id, start=0, end=None) → [finished, Binary(output.yaml lines start..end)].",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			j, err := s.job(ctx, c, a, 0)
			if err != nil {
				return nil, err
			}
			start, err := a.optInt(1, 0)
			if err != nil {
				return nil, err
			}
			end, err := a.optIntPtr(2)
			if err != nil {
				return nil, err
			}
			finished, data, err := Logs(ctx, s.st, j, start, end)
			if err != nil {
				return nil, err
			}
			return []any{finished, Binary(data)}, nil
		}})
	s.add(&method{name: "scheduler.jobs.validate", sig: []string{"struct", "string", "boolean"}, min: 1, max: 2,
		help: "validate(definition, strict=False) → {} when valid, else {path, msg} of the first error.",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			text, err := a.str(0)
			if err != nil {
				return nil, err
			}
			strict, err := a.optBool(1, false)
			if err != nil {
				return nil, err
			}
			if is := Validate(text, strict); len(is) > 0 {
				return map[string]any{"path": is[0].Path, "msg": is[0].Message}, nil
			}
			return map[string]any{}, nil
		}})
	s.add(&method{name: "scheduler.jobs.configuration", sig: []string{"array", "string"}, min: 1, max: 1,
		help: "configuration(job_id) → [definition, device, dispatcher, env, env_dut]; only the definition is kept here.",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			j, err := s.job(ctx, c, a, 0)
			if err != nil {
				return nil, err
			}
			if j.State < model.JobRunning {
				return nil, Faultf(404, "Job '%d' has not started yet", j.ID)
			}
			return []any{j.Definition, nil, nil, nil, nil}, nil
		}})
	s.add(&method{name: "scheduler.jobs.queue", sig: []string{"array", "array", "int", "int"}, min: 0, max: 3,
		help: "queue(device_types=None, start=0, limit=25) → queued jobs {id, description, requested_device_type, submitter}.",
		fn:   s.queue})
}

// Validate checks a definition against the job schema only (as LAVA's
// validate): strict turns warnings (keys LAVA's strict schema refuses) into
// errors.
func Validate(text string, strict bool) []job.Issue {
	_, rep := job.Parse([]byte(text))
	out := append([]job.Issue{}, rep.Errors...)
	if strict {
		out = append(out, rep.Warnings...)
	}
	return out
}

// Logs reads a job's log records [start, end) as output.yaml text and
// whether the job is finished and every record up to end was returned.
func Logs(ctx context.Context, st store.Store, j model.Job, start int64, end *int64) (bool, []byte, error) {
	// The job's state is read before the records: a finished job has all
	// its records stored.
	finished := j.State == model.JobFinished
	if start < 0 {
		start = 0
	}
	limit := int64(MaxLogLines)
	if end != nil {
		if *end <= start {
			return finished, []byte("[]"), nil
		}
		limit = min(limit, *end-start)
	}
	recs, err := st.ReadLogs(ctx, j.ID, start, int(limit))
	if err != nil {
		return false, nil, fmt.Errorf("job %d logs: %w", j.ID, err)
	}
	if len(recs) == 0 {
		return finished, []byte("[]"), nil
	}
	if int64(len(recs)) == limit && (end == nil || start+limit < *end) {
		// More may follow: the client asks again.
		finished = false
	}
	var b bytes.Buffer
	if err := WriteOutputYAML(&b, recs); err != nil {
		return false, nil, err
	}
	return finished, b.Bytes(), nil
}

func (s *Server) listJobs(ctx context.Context, c *Caller, a args) (any, error) {
	var f store.JobFilter
	st, err := a.optStr(0, "")
	if err != nil {
		return nil, err
	}
	if st != "" {
		js, err := model.ParseJobState(st)
		if err != nil {
			return nil, Faultf(400, "Invalid state '%s'", st)
		}
		f.States = []model.JobState{js}
	}
	he, err := a.optStr(1, "")
	if err != nil {
		return nil, err
	}
	if he != "" {
		jh, err := model.ParseJobHealth(he)
		if err != nil {
			return nil, Faultf(400, "Invalid health '%s'", he)
		}
		f.Healths = []model.JobHealth{jh}
	}
	start, err := a.optInt(2, 0)
	if err != nil {
		return nil, err
	}
	limit, err := a.optInt(3, 25)
	if err != nil {
		return nil, err
	}
	since, err := a.optInt(4, 0)
	if err != nil {
		return nil, err
	}
	verbose, err := a.optBool(5, false)
	if err != nil {
		return nil, err
	}
	start = max(start, 0)
	limit = min(max(limit, 0), ListLimit)
	out := []any{}
	if limit == 0 {
		return out, nil
	}
	var jobs []model.Job
	f.CountLimit = -1 // the count is not part of the answer
	if since <= 0 {
		f.Offset, f.Limit = int(start), int(limit)
		jobs, _, err = s.st.ListJobs(ctx, c.Viewer(), f)
		if err != nil {
			return nil, fmt.Errorf("listing jobs: %w", err)
		}
	} else {
		// Jobs that ended in the last `since` minutes, newest id first:
		// scan pages and keep those.
		cut := s.now().Add(-time.Duration(since) * time.Minute)
		skip := start
		f.Limit = 200
		for f.Offset = 0; f.Offset < 20000 && int64(len(jobs)) < limit; f.Offset += f.Limit {
			page, _, err := s.st.ListJobs(ctx, c.Viewer(), f)
			if err != nil {
				return nil, fmt.Errorf("listing jobs: %w", err)
			}
			for _, j := range page {
				if j.EndTime.IsZero() || j.EndTime.Before(cut) {
					continue
				}
				if skip > 0 {
					skip--
					continue
				}
				if int64(len(jobs)) < limit {
					jobs = append(jobs, j)
				}
			}
			if len(page) < f.Limit {
				break
			}
		}
	}
	for _, j := range jobs {
		m := map[string]any{
			"id": DisplayID(j), "description": j.Description, "device_type": strOrNil(j.RequestedDeviceType),
			"health": j.Health.String(), "state": j.State.String(), "submitter": j.Submitter,
		}
		if verbose {
			m["actual_device"] = strOrNil(j.ActualDevice)
			m["start_time"] = timeOrNil(j.StartTime)
			m["end_time"] = timeOrNil(j.EndTime)
			m["error_msg"] = strOrNil(j.FailureComment)
			m["error_type"] = strOrNil(j.ErrorType)
		}
		out = append(out, m)
	}
	return out, nil
}

func (s *Server) queue(ctx context.Context, c *Caller, a args) (any, error) {
	var types []string
	if a.has(0) {
		switch v := a.p[0].(type) {
		case []any:
			for i, e := range v {
				t, ok := e.(string)
				if !ok {
					return nil, Faultf(CodeInvalidParams, "%s: device_types[%d] must be a str, not %s", a.method, i, pyType(e))
				}
				types = append(types, t)
			}
		case string:
			types = []string{v}
		default:
			return nil, a.bad(0, "a list of device types")
		}
	}
	start, err := a.optInt(1, 0)
	if err != nil {
		return nil, err
	}
	limit, err := a.optInt(2, 25)
	if err != nil {
		return nil, err
	}
	start, limit = max(start, 0), min(max(limit, 0), ListLimit)
	out := []any{}
	if len(types) == 0 {
		types = []string{""}
	}
	// The store orders newest first; LAVA's queue too (order_by -id is
	// what its list shows), so page over all the asked types together.
	var all []model.Job
	for _, t := range types {
		jobs, _, err := s.st.ListJobs(ctx, c.Viewer(), store.JobFilter{States: []model.JobState{model.JobSubmitted}, DeviceType: t, Limit: int(start + limit), CountLimit: -1})
		if err != nil {
			return nil, fmt.Errorf("listing the queue: %w", err)
		}
		all = append(all, jobs...)
	}
	slices.SortFunc(all, func(x, y model.Job) int { return cmp.Compare(y.ID, x.ID) })
	for i, j := range all {
		if int64(i) < start {
			continue
		}
		if int64(len(out)) >= limit {
			break
		}
		out = append(out, map[string]any{"id": DisplayID(j), "description": j.Description,
			"requested_device_type": strOrNil(j.RequestedDeviceType), "submitter": j.Submitter})
	}
	return out, nil
}
