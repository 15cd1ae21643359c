package lab

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// FindJob loads a job by its LAVA id ("12", or a multinode sub id "12.1")
// as c sees it: KindNotFound when there is none, KindForbidden
// (ReasonHidden) when c may not see it. The store's Viewer decides
// visibility; this is the one place a front-end gets a job from. The
// operations on a job's logs and results take the job it returns.
func (s *Service) FindJob(ctx context.Context, c Caller, ref string) (model.Job, error) {
	nf := notFound(ObjJob, ref)
	id, sub, isSub := strings.Cut(ref, ".")
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return model.Job{}, nf
	}
	if isSub {
		k, err := strconv.ParseInt(sub, 10, 64)
		if err != nil || k < 0 {
			return model.Job{}, nf
		}
		n += k
	}
	j, err := s.st.Job(ctx, c.Viewer(), n)
	if errors.Is(err, store.ErrNotFound) {
		// Tell "does not exist" from "may not see".
		if sj, err2 := s.st.Job(ctx, store.System(), n); err2 == nil && (!isSub || sj.SubID == ref) {
			return model.Job{}, &Error{Kind: KindForbidden, Reason: ReasonHidden, Object: ObjJob, Name: ref,
				Msg: fmt.Sprintf("job %s is not visible to %s", ref, nameOr(c.Name(), "anonymous callers"))}
		}
		return model.Job{}, nf
	}
	if err != nil {
		return model.Job{}, fmt.Errorf("job %s: %w", ref, err)
	}
	if isSub && j.SubID != ref {
		return model.Job{}, nf
	}
	return j, nil
}

// Job is FindJob of a numeric id.
func (s *Service) Job(ctx context.Context, c Caller, id int64) (model.Job, error) {
	return s.FindJob(ctx, c, strconv.FormatInt(id, 10))
}

func nameOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ListJobs lists the jobs c may see that match f, newest first, with the
// count of all matches (see store.JobFilter.CountLimit).
func (s *Service) ListJobs(ctx context.Context, c Caller, f store.JobFilter) ([]model.Job, int, error) {
	jobs, n, err := s.st.ListJobs(ctx, c.Viewer(), f)
	if err != nil {
		return nil, 0, fmt.Errorf("listing jobs: %w", err)
	}
	return jobs, n, nil
}

// Validation is what Validate found: the schema's errors and warnings,
// then what the lab lacks to run the definition (in Errors too).
type Validation struct {
	Definition *job.Definition
	Errors     []job.Issue
	Warnings   []job.Issue
}

// Validate checks a definition as a submission does (core/job's rules,
// then what this lab must have to run it) and stores nothing. err is
// only for a store failure.
func (s *Service) Validate(ctx context.Context, text []byte) (Validation, error) {
	def, rep := job.Parse(text)
	v := Validation{Definition: def, Errors: rep.Errors, Warnings: rep.Warnings}
	if !rep.OK() || def == nil {
		return v, nil
	}
	probs, err := s.Problems(ctx, def)
	if err != nil {
		return Validation{}, fmt.Errorf("checking the job against the lab: %w", err)
	}
	v.Errors = append(v.Errors, probs...)
	return v, nil
}

// ValidateSchema checks a definition against the job schema only (as
// LAVA's validate): strict turns warnings (keys LAVA's strict schema
// refuses) into errors.
func ValidateSchema(text []byte, strict bool) []job.Issue {
	_, rep := job.Parse(text)
	out := append([]job.Issue{}, rep.Errors...)
	if strict {
		out = append(out, rep.Warnings...)
	}
	return out
}

// Submitted is a stored submission: one job, or one per multinode sub-job.
type Submitted struct {
	Jobs      []model.Job
	Multinode bool
	Warnings  []job.Issue
}

// IDs are the submitted jobs' ids.
func (r Submitted) IDs() []int64 {
	ids := make([]int64, 0, len(r.Jobs))
	for _, j := range r.Jobs {
		ids = append(ids, j.ID)
	}
	return ids
}

// Submit parses, checks and stores a definition as c's. A refused
// definition is KindInvalid with its Issues: ReasonJobSchema (core/job's
// rules), ReasonJobLab (what the lab lacks; GroupIssues beside) or
// ReasonJobGroup (groups the submitter may not name).
func (s *Service) Submit(ctx context.Context, c Caller, text []byte) (Submitted, error) {
	if err := c.NeedUser(); err != nil {
		return Submitted{}, err
	}
	if strings.TrimSpace(string(text)) == "" {
		is := []job.Issue{{Message: "empty job definition"}}
		return Submitted{}, &Error{Kind: KindInvalid, Reason: ReasonJobEmpty, Object: ObjJob, Msg: "empty job definition", Issues: is}
	}
	def, rep := job.Parse(text)
	if !rep.OK() || def == nil {
		return Submitted{}, invalidJob(ReasonJobSchema, rep.Errors, nil, rep.Warnings)
	}
	probs, err := s.Problems(ctx, def)
	if err != nil {
		return Submitted{}, fmt.Errorf("checking the job against the lab: %w", err)
	}
	gp, err := GroupProblems(ctx, s.st, def, c.User.Username)
	if err != nil {
		return Submitted{}, fmt.Errorf("checking the job against the lab: %w", err)
	}
	if len(probs) > 0 {
		return Submitted{}, invalidJob(ReasonJobLab, probs, gp, rep.Warnings)
	}
	if len(gp) > 0 {
		return Submitted{}, invalidJob(ReasonJobGroup, gp, nil, rep.Warnings)
	}
	jobs, err := s.st.CreateJobs(ctx, JobsOf(def, c.User.Username))
	if err != nil {
		return Submitted{}, fmt.Errorf("storing the job: %w", err)
	}
	s.log.Info("job submitted", "via", c.Via, "id", jobs[0].ID, "jobs", len(jobs), "submitter", c.User.Username, "device_type", jobs[0].RequestedDeviceType)
	return Submitted{Jobs: jobs, Multinode: def.IsMultinode(), Warnings: rep.Warnings}, nil
}

func invalidJob(r Reason, is, group, warnings []job.Issue) *Error {
	all := append(slices.Clone(is), group...)
	return &Error{Kind: KindInvalid, Reason: r, Object: ObjJob, Msg: "invalid job definition: " + IssuesText(all),
		Issues: is, GroupIssues: group, Warnings: warnings}
}

// AllIssues are an invalid job's issues and group issues together.
func (e *Error) AllIssues() []job.Issue { return append(slices.Clone(e.Issues), e.GroupIssues...) }

// Resubmit submits a job's definition again as c (its submitter or an
// admin): not a health check (ReasonHealthCheck) nor one sub-job of a
// multinode job (ReasonMultinodeSub).
func (s *Service) Resubmit(ctx context.Context, c Caller, ref string) (Submitted, error) {
	if err := c.NeedUser(); err != nil {
		return Submitted{}, err
	}
	j, err := s.FindJob(ctx, c, ref)
	if err != nil {
		return Submitted{}, err
	}
	if j.TargetGroup != "" {
		return Submitted{}, &Error{Kind: KindInvalid, Reason: ReasonMultinodeSub, Object: ObjJob, Name: j.SubID,
			Msg: fmt.Sprintf("job %d is one sub-job of a multinode job: submit the whole multinode definition again", j.ID)}
	}
	if j.HealthCheck {
		return Submitted{}, &Error{Kind: KindInvalid, Reason: ReasonHealthCheck, Object: ObjJob, Name: strconv.FormatInt(j.ID, 10),
			Msg: fmt.Sprintf("job %d is a health check: the scheduler runs health checks itself", j.ID)}
	}
	if err := notOwner(c, j, "resubmit"); err != nil {
		return Submitted{}, err
	}
	return s.Submit(ctx, c, []byte(j.Definition))
}

func notOwner(c Caller, j model.Job, verb string) error {
	if c.CanChange(j) {
		return nil
	}
	return &Error{Kind: KindForbidden, Reason: ReasonNotOwner, Object: ObjJob, Name: strconv.FormatInt(j.ID, 10),
		Msg: fmt.Sprintf("job %d was submitted by %q: only its submitter or an admin may %s it", j.ID, j.Submitter, verb)}
}

// Cancel cancels a job as c (its submitter or an admin) and returns it. A
// job finished or being canceled is KindConflict (ReasonFinished).
func (s *Service) Cancel(ctx context.Context, c Caller, ref string) (model.Job, error) {
	if err := c.NeedUser(); err != nil {
		return model.Job{}, err
	}
	j, err := s.FindJob(ctx, c, ref)
	if err != nil {
		return model.Job{}, err
	}
	if err := notOwner(c, j, "cancel"); err != nil {
		return model.Job{}, err
	}
	cj, err := s.st.CancelJob(ctx, j.ID)
	if errors.Is(err, store.ErrConflict) {
		return j, &Error{Kind: KindConflict, Reason: ReasonFinished, Object: ObjJob, Name: ref, Err: err,
			Msg: fmt.Sprintf("job %d cannot be canceled: it is already finished or being canceled", j.ID)}
	}
	if err != nil {
		return model.Job{}, storeErr(err, ObjJob, ref)
	}
	s.log.Info("job canceled", "id", cj.ID, "by", c.User.Username, "via", c.Via)
	return cj, nil
}

// Configuration is a started job's definition (KindNotFound,
// ReasonNotStarted, before it runs).
func (s *Service) Configuration(ctx context.Context, c Caller, ref string) (model.Job, error) {
	j, err := s.FindJob(ctx, c, ref)
	if err != nil {
		return model.Job{}, err
	}
	if j.State < model.JobRunning {
		return model.Job{}, &Error{Kind: KindNotFound, Reason: ReasonNotStarted, Object: ObjJob, Name: strconv.FormatInt(j.ID, 10),
			Msg: fmt.Sprintf("job %d has not started yet", j.ID)}
	}
	return j, nil
}

// Queue lists the queued jobs c may see of any of the device types (all
// types when none), newest first, the first start+limit of each type.
func (s *Service) Queue(ctx context.Context, c Caller, types []string, start, limit int) ([]model.Job, error) {
	if len(types) == 0 {
		types = []string{""}
	}
	var all []model.Job
	for _, t := range types {
		jobs, _, err := s.st.ListJobs(ctx, c.Viewer(), store.JobFilter{States: []model.JobState{model.JobSubmitted}, DeviceType: t, Limit: start + limit, CountLimit: -1})
		if err != nil {
			return nil, fmt.Errorf("listing the queue: %w", err)
		}
		all = append(all, jobs...)
	}
	slices.SortFunc(all, func(x, y model.Job) int { return cmp.Compare(y.ID, x.ID) })
	return all, nil
}

// GroupProblems refuses a job visible to groups its submitter is not a
// member of (admins may name any group), as LAVA does: otherwise a user
// could hand their job, and its secrets, to any group.
func GroupProblems(ctx context.Context, st store.Users, def *job.Definition, submitter string) ([]job.Issue, error) {
	if def.Visibility.Kind != model.VisibilityGroup || len(def.Visibility.Groups) == 0 {
		return nil, nil
	}
	u, err := st.User(ctx, submitter)
	if err != nil {
		return nil, fmt.Errorf("the submitter %q: %w", submitter, err)
	}
	if u.IsAdmin {
		return nil, nil
	}
	var out []job.Issue
	for _, g := range def.Visibility.Groups {
		if !slices.Contains(u.Groups, g) {
			out = append(out, job.Issue{Path: "visibility.group", Message: fmt.Sprintf("%s is not a member of group %q: a job may be visible only to groups its submitter belongs to", submitter, g)})
		}
	}
	return out, nil
}
