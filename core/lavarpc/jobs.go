package lavarpc

import (
	"context"
	"time"

	"github.com/lavalab/lavalab/core/lab"
	"github.com/lavalab/lavalab/core/lavafmt"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// List limits.
const (
	// MaxLogLines is the most records one jobs.logs answer holds; lavacli
	// asks again from where it got to.
	MaxLogLines = lavafmt.MaxLogLines
	// ListLimit is jobs.list's and jobs.queue's largest page (LAVA's clamp).
	ListLimit = 100
)

var jobMethods = []method{
	{name: "scheduler.jobs.submit", sig: []string{"int", "string"}, min: 1, max: 1,
		help: "Submit a job definition (YAML). Returns the job id, or the list of sub ids of a multinode job.",
		fn:   (*Server).jobsSubmit},
	{name: "scheduler.jobs.resubmit", sig: []string{"int", "string"}, min: 1, max: 1,
		help: "Resubmit a job's definition as the caller. Returns the new id (or sub ids).",
		fn:   (*Server).jobsResubmit},
	{name: "scheduler.jobs.cancel", sig: []string{"boolean", "string"}, min: 1, max: 1,
		help: "Cancel a job (its submitter or an admin).",
		fn:   (*Server).jobsCancel},
	{name: "scheduler.jobs.definition", sig: []string{"string", "string"}, min: 1, max: 1,
		help: "The job's original definition.",
		fn:   (*Server).jobsDefinition},
	{name: "scheduler.jobs.show", sig: []string{"struct", "string"}, min: 1, max: 1,
		help: "Details of a job.",
		fn:   (*Server).jobsShow},
	{name: "scheduler.jobs.list", sig: []string{"array", "string", "string", "int", "int", "int", "boolean"}, min: 0, max: 6,
		help: "List jobs, newest first: list(state=None, health=None, start=0, limit=25, since=0, verbose=False); limit is at most 100, since is minutes (jobs that ended since).",
		fn:   (*Server).jobsList},
	{name: "scheduler.jobs.logs", sig: []string{"array", "string", "int", "int"}, min: 1, max: 3,
		help: "logs(job_id, start=0, end=None) → [finished, Binary(output.yaml lines start..end)].",
		fn:   (*Server).jobsLogs},
	{name: "scheduler.jobs.validate", sig: []string{"struct", "string", "boolean"}, min: 1, max: 2,
		help: "validate(definition, strict=False) → {} when valid, else {path, msg} of the first error.",
		fn:   (*Server).jobsValidate},
	{name: "scheduler.jobs.configuration", sig: []string{"array", "string"}, min: 1, max: 1,
		help: "configuration(job_id) → [definition, device, dispatcher, env, env_dut]; only the definition is kept here.",
		fn:   (*Server).jobsConfiguration},
	{name: "scheduler.jobs.queue", sig: []string{"array", "array", "int", "int"}, min: 0, max: 3,
		help: "queue(device_types=None, start=0, limit=25) → queued jobs {id, description, requested_device_type, submitter}.",
		fn:   (*Server).jobsQueue},
}

// job reads argument i as a job id and finds the job as c sees it.
func (s *Server) job(ctx context.Context, c *Caller, a args, i int) (model.Job, error) {
	ref, err := a.ref(i)
	if err != nil {
		return model.Job{}, err
	}
	return s.lab.FindJob(ctx, *c, ref)
}

// submitted is submit's answer: the id, or the sub ids of a multinode job.
func submitted(jobs []model.Job) any {
	if len(jobs) == 1 && jobs[0].SubID == "" {
		return jobs[0].ID
	}
	out := make([]any, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, lavafmt.DisplayID(j))
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

func (s *Server) jobsSubmit(ctx context.Context, c *Caller, a args) (any, error) {
	if err := c.NeedUser(); err != nil {
		return nil, err
	}
	text, err := a.str(0)
	if err != nil {
		return nil, err
	}
	res, err := s.lab.Submit(ctx, *c, []byte(text))
	if err != nil {
		return nil, err
	}
	return submitted(res.Jobs), nil
}

func (s *Server) jobsResubmit(ctx context.Context, c *Caller, a args) (any, error) {
	if err := c.NeedUser(); err != nil {
		return nil, err
	}
	ref, err := a.ref(0)
	if err != nil {
		return nil, err
	}
	res, err := s.lab.Resubmit(ctx, *c, ref)
	if err != nil {
		return nil, err
	}
	return submitted(res.Jobs), nil
}

func (s *Server) jobsCancel(ctx context.Context, c *Caller, a args) (any, error) {
	if err := c.NeedUser(); err != nil {
		return nil, err
	}
	ref, err := a.ref(0)
	if err != nil {
		return nil, err
	}
	if _, err := s.lab.Cancel(ctx, *c, ref); err != nil && !isFinished(err) {
		return nil, err
	}
	return true, nil
}

// isFinished: LAVA's cancel of a finished or canceling job is a no-op.
func isFinished(err error) bool {
	e, ok := lab.AsError(err)
	return ok && e.Reason == lab.ReasonFinished
}

func (s *Server) jobsDefinition(ctx context.Context, c *Caller, a args) (any, error) {
	j, err := s.job(ctx, c, a, 0)
	if err != nil {
		return nil, err
	}
	return j.Definition, nil
}

func (s *Server) jobsShow(ctx context.Context, c *Caller, a args) (any, error) {
	j, err := s.job(ctx, c, a, 0)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"id": lavafmt.DisplayID(j), "description": j.Description, "device": strOrNil(j.ActualDevice),
		"device_type": strOrNil(j.RequestedDeviceType), "health_check": j.HealthCheck, "pipeline": true,
		"health": j.Health.String(), "state": j.State.String(), "submitter": j.Submitter,
		"submit_time": timeOrNil(j.SubmitTime), "start_time": timeOrNil(j.StartTime), "end_time": timeOrNil(j.EndTime),
		"tags": nonNil(j.Tags), "visibility": lavafmt.Visibility(j), "failure_comment": strOrNil(j.FailureComment),
		// Not in LAVA's jobs.show: its metadata, in the shape of
		// results.get_testjob_metadata.
		"metadata": lavafmt.MetadataList(j),
	}, nil
}

func (s *Server) jobsLogs(ctx context.Context, c *Caller, a args) (any, error) {
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
	finished, data, err := lavafmt.Logs(ctx, s.lab, j, start, end)
	if err != nil {
		return nil, err
	}
	return []any{finished, Binary(data)}, nil
}

func (s *Server) jobsValidate(ctx context.Context, c *Caller, a args) (any, error) {
	text, err := a.str(0)
	if err != nil {
		return nil, err
	}
	strict, err := a.optBool(1, false)
	if err != nil {
		return nil, err
	}
	if is := lab.ValidateSchema([]byte(text), strict); len(is) > 0 {
		return map[string]any{"path": is[0].Path, "msg": is[0].Message}, nil
	}
	return map[string]any{}, nil
}

func (s *Server) jobsConfiguration(ctx context.Context, c *Caller, a args) (any, error) {
	ref, err := a.ref(0)
	if err != nil {
		return nil, err
	}
	j, err := s.lab.Configuration(ctx, *c, ref)
	if err != nil {
		return nil, err
	}
	return []any{j.Definition, nil, nil, nil, nil}, nil
}

// listArgs are jobs.list's arguments.
type listArgs struct {
	f                   store.JobFilter
	start, limit, since int64
	verbose             bool
}

func readListArgs(a args) (listArgs, error) {
	var l listArgs
	st, err := a.optStr(0, "")
	if err != nil {
		return l, err
	}
	if st != "" {
		js, err := model.ParseJobState(st)
		if err != nil {
			return l, Faultf(400, "Invalid state '%s'", st)
		}
		l.f.States = []model.JobState{js}
	}
	he, err := a.optStr(1, "")
	if err != nil {
		return l, err
	}
	if he != "" {
		jh, err := model.ParseJobHealth(he)
		if err != nil {
			return l, Faultf(400, "Invalid health '%s'", he)
		}
		l.f.Healths = []model.JobHealth{jh}
	}
	if l.start, err = a.optInt(2, 0); err != nil {
		return l, err
	}
	if l.limit, err = a.optInt(3, 25); err != nil {
		return l, err
	}
	if l.since, err = a.optInt(4, 0); err != nil {
		return l, err
	}
	if l.verbose, err = a.optBool(5, false); err != nil {
		return l, err
	}
	l.start = max(l.start, 0)
	l.limit = min(max(l.limit, 0), ListLimit)
	l.f.CountLimit = -1 // the count is not part of the answer
	return l, nil
}

func (s *Server) jobsList(ctx context.Context, c *Caller, a args) (any, error) {
	l, err := readListArgs(a)
	if err != nil {
		return nil, err
	}
	out := []any{}
	if l.limit == 0 {
		return out, nil
	}
	var jobs []model.Job
	if l.since <= 0 {
		l.f.Offset, l.f.Limit = int(l.start), int(l.limit)
		if jobs, _, err = s.lab.ListJobs(ctx, *c, l.f); err != nil {
			return nil, err
		}
	} else if jobs, err = s.endedSince(ctx, c, l); err != nil {
		return nil, err
	}
	for _, j := range jobs {
		m := map[string]any{
			"id": lavafmt.DisplayID(j), "description": j.Description, "device_type": strOrNil(j.RequestedDeviceType),
			"health": j.Health.String(), "state": j.State.String(), "submitter": j.Submitter,
		}
		if l.verbose {
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

// endedSince lists the jobs that ended in the last l.since minutes, newest
// id first: it scans pages and keeps those.
func (s *Server) endedSince(ctx context.Context, c *Caller, l listArgs) ([]model.Job, error) {
	var jobs []model.Job
	cut := s.now().Add(-time.Duration(l.since) * time.Minute)
	skip := l.start
	f := l.f
	f.Limit = 200
	for f.Offset = 0; f.Offset < 20000 && int64(len(jobs)) < l.limit; f.Offset += f.Limit {
		page, _, err := s.lab.ListJobs(ctx, *c, f)
		if err != nil {
			return nil, err
		}
		for _, j := range page {
			if j.EndTime.IsZero() || j.EndTime.Before(cut) {
				continue
			}
			if skip > 0 {
				skip--
				continue
			}
			if int64(len(jobs)) < l.limit {
				jobs = append(jobs, j)
			}
		}
		if len(page) < f.Limit {
			break
		}
	}
	return jobs, nil
}

func (s *Server) jobsQueue(ctx context.Context, c *Caller, a args) (any, error) {
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
	// The store orders newest first; LAVA's queue too (order_by -id is
	// what its list shows), so page over all the asked types together.
	all, err := s.lab.Queue(ctx, *c, types, int(start), int(limit))
	if err != nil {
		return nil, err
	}
	out := []any{}
	for i, j := range all {
		if int64(i) < start {
			continue
		}
		if int64(len(out)) >= limit {
			break
		}
		out = append(out, map[string]any{"id": lavafmt.DisplayID(j), "description": j.Description,
			"requested_device_type": strOrNil(j.RequestedDeviceType), "submitter": j.Submitter})
	}
	return out, nil
}
