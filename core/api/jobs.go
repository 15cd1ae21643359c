package api

import (
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/lab"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// jobBody is the JSON form of a submission.
type jobBody struct {
	Definition string `json:"definition"`
}

// readDefinition reads a job definition from the raw body (YAML) or from
// {"definition": "..."}; false means an answer was written.
func readDefinition(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	ct := r.Header.Get("Content-Type")
	mt := ""
	if ct != "" {
		var err error
		mt, _, err = mime.ParseMediaType(ct)
		if err != nil {
			writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", fmt.Sprintf("Content-Type %q: %v", ct, err), nil)
			return nil, false
		}
	}
	var text []byte
	switch mt {
	case "application/json":
		var b jobBody
		if !decodeJSON(w, r, MaxJobBody, &b) {
			return nil, false
		}
		text = []byte(b.Definition)
	case "", "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain":
		b, ok := readBody(w, r, MaxJobBody)
		if !ok {
			return nil, false
		}
		text = b
	default:
		writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type",
			fmt.Sprintf("Content-Type %q: send the YAML as application/yaml, text/yaml or text/plain, or JSON {\"definition\": \"...\"} as application/json", ct), nil)
		return nil, false
	}
	if strings.TrimSpace(string(text)) == "" {
		writeError(w, http.StatusBadRequest, "invalid_job", "empty job definition", []job.Issue{{Message: "empty job definition"}})
		return nil, false
	}
	return text, true
}

func invalidJob(w http.ResponseWriter, issues []job.Issue) {
	msgs := make([]string, 0, len(issues))
	for _, i := range issues {
		msgs = append(msgs, i.String())
	}
	msg := "invalid job definition: " + strings.Join(msgs, "; ")
	if len(issues) > 5 {
		msg = fmt.Sprintf("invalid job definition: %d errors, the first: %s", len(issues), msgs[0])
	}
	writeError(w, http.StatusBadRequest, "invalid_job", msg, issues)
}

// SubmitResult is the answer to a submission.
type SubmitResult struct {
	ID       int64       `json:"id,omitempty"`
	IDs      []int64     `json:"ids,omitempty"`
	Warnings []job.Issue `json:"warnings,omitempty"`
}

// submit answers a submission (or resubmission) of core/lab.
func (a *API) submit(w http.ResponseWriter, r *http.Request, res lab.Submitted, err error) {
	if err != nil {
		a.labError(w, r, err, "job")
		return
	}
	out := SubmitResult{Warnings: res.Warnings}
	if res.Multinode {
		out.IDs = res.IDs()
	} else {
		out.ID = res.Jobs[0].ID
	}
	writeJSON(w, http.StatusCreated, out)
}

func (a *API) submitJob(w http.ResponseWriter, r *http.Request) {
	if userFrom(r.Context()) == nil {
		writeError(w, http.StatusUnauthorized, "unauthorized", "submitting a job needs a user: send Authorization: Token <secret>", nil)
		return
	}
	text, ok := readDefinition(w, r)
	if !ok {
		return
	}
	res, err := a.lab.Submit(r.Context(), caller(r.Context()), text)
	a.submit(w, r, res, err)
}

// ValidateResult is the answer of /jobs/validate.
type ValidateResult struct {
	Valid    bool        `json:"valid"`
	Errors   []job.Issue `json:"errors"`
	Warnings []job.Issue `json:"warnings"`
}

func (a *API) validateJob(w http.ResponseWriter, r *http.Request) {
	text, ok := readDefinition(w, r)
	if !ok {
		return
	}
	v, err := a.lab.Validate(r.Context(), text)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	res := ValidateResult{Errors: v.Errors, Warnings: v.Warnings}
	if res.Errors == nil {
		res.Errors = []job.Issue{}
	}
	if res.Warnings == nil {
		res.Warnings = []job.Issue{}
	}
	res.Valid = len(res.Errors) == 0
	writeJSON(w, http.StatusOK, res)
}

// csvParam parses a comma-separated list of names with parse.
func csvParam[T any](w http.ResponseWriter, r *http.Request, name string, parse func(string) (T, error)) ([]T, bool) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return nil, true
	}
	var out []T
	for part := range strings.SplitSeq(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		v, err := parse(part)
		if err != nil {
			paramError(w, name, err.Error())
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}

func (a *API) listJobs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := store.JobFilter{DeviceType: q.Get("device_type"), Device: q.Get("device"), Submitter: q.Get("submitter"), Text: q.Get("q")}
	var ok bool
	if f.States, ok = csvParam(w, r, "state", model.ParseJobState); !ok {
		return
	}
	if f.Healths, ok = csvParam(w, r, "health", model.ParseJobHealth); !ok {
		return
	}
	if hc := q.Get("health_check"); hc != "" {
		b, err := strconv.ParseBool(hc)
		if err != nil {
			paramError(w, "health_check", fmt.Sprintf("%q is not true or false", hc))
			return
		}
		f.HealthCheck = &b
	}
	if f.Limit, ok = intParam(w, r, "limit", 50, 1, 1000); !ok {
		return
	}
	if f.Offset, ok = intParam(w, r, "offset", 0, 0, 1<<31-1); !ok {
		return
	}
	if f.Metadata, ok = metadataParams(w, q); !ok {
		return
	}
	jobs, total, err := a.lab.ListJobs(r.Context(), caller(r.Context()), f)
	if err != nil {
		a.labError(w, r, err, "jobs")
		return
	}
	page := Page[JobView]{Count: total, Limit: f.Limit, Offset: f.Offset, Results: make([]JobView, 0, len(jobs))}
	for _, j := range jobs {
		v := jobView(j)
		v.Settings = nil
		page.Results = append(page.Results, v)
	}
	writeJSON(w, http.StatusOK, page)
}

// maxMetadataFilters bounds the metadata.NAME parameters of a job list.
const maxMetadataFilters = 20

// metadataParams reads the job list's metadata filter: each parameter
// metadata.NAME=VALUE keeps the jobs whose metadata has NAME with exactly
// VALUE; false means an error was written.
func metadataParams(w http.ResponseWriter, q url.Values) (map[string]string, bool) {
	var f map[string]string
	for p, vs := range q {
		name, ok := strings.CutPrefix(p, "metadata.")
		if !ok {
			continue
		}
		switch {
		case name == "":
			paramError(w, p, "no metadata name after \"metadata.\" (metadata.NAME=VALUE)")
			return nil, false
		case len(vs) > 1:
			paramError(w, p, fmt.Sprintf("given %d times; a metadata name takes one value", len(vs)))
			return nil, false
		}
		if f == nil {
			f = map[string]string{}
		}
		f[name] = vs[0]
	}
	if len(f) > maxMetadataFilters {
		paramError(w, "metadata", fmt.Sprintf("%d metadata filters, at most %d", len(f), maxMetadataFilters))
		return nil, false
	}
	return f, true
}

// visibleJob loads the job of the {id} path parameter if the caller may
// see it; false means an answer was written (a job the caller may not see
// is a 404, the same as one that does not exist).
func (a *API) visibleJob(w http.ResponseWriter, r *http.Request) (model.Job, bool) {
	s := chi.URLParam(r, "id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		paramError(w, "id", fmt.Sprintf("%q is not a job id (a positive integer)", s))
		return model.Job{}, false
	}
	j, err := a.lab.Job(r.Context(), caller(r.Context()), id)
	if err != nil {
		a.labError(w, r, err, fmt.Sprintf("job %d", id))
		return model.Job{}, false
	}
	return j, true
}

func (a *API) showJob(w http.ResponseWriter, r *http.Request) {
	if j, ok := a.visibleJob(w, r); ok {
		v := jobView(j)
		ns, err := a.lab.Notifications(r.Context(), j)
		if err != nil {
			a.labError(w, r, err, fmt.Sprintf("notifications of job %d", j.ID))
			return
		}
		if len(ns) > 0 {
			v.Notifications = notificationViews(ns)
		}
		if !a.addSubJobs(w, r, j, &v) { // issue 21: multinode.go
			return
		}
		writeJSON(w, http.StatusOK, v)
	}
}

func (a *API) jobDefinition(w http.ResponseWriter, r *http.Request) {
	j, ok := a.visibleJob(w, r)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(j.Definition))
}

// jobID reads the {id} path parameter; false means an answer was written.
func jobID(w http.ResponseWriter, r *http.Request) (string, bool) {
	s := chi.URLParam(r, "id")
	if id, err := strconv.ParseInt(s, 10, 64); err != nil || id <= 0 {
		paramError(w, "id", fmt.Sprintf("%q is not a job id (a positive integer)", s))
		return "", false
	}
	return s, true
}

func (a *API) cancelJob(w http.ResponseWriter, r *http.Request) {
	if userFrom(r.Context()) == nil {
		writeError(w, http.StatusUnauthorized, "unauthorized", "canceling a job needs a user: send Authorization: Token <secret>", nil)
		return
	}
	id, ok := jobID(w, r)
	if !ok {
		return
	}
	j, err := a.lab.Cancel(r.Context(), caller(r.Context()), id)
	if err != nil {
		a.labError(w, r, err, "job "+id)
		return
	}
	writeJSON(w, http.StatusOK, jobView(j))
}

func (a *API) resubmitJob(w http.ResponseWriter, r *http.Request) {
	if userFrom(r.Context()) == nil {
		writeError(w, http.StatusUnauthorized, "unauthorized", "resubmitting a job needs a user: send Authorization: Token <secret>", nil)
		return
	}
	id, ok := jobID(w, r)
	if !ok {
		return
	}
	res, err := a.lab.Resubmit(r.Context(), caller(r.Context()), id)
	a.submit(w, r, res, err)
}

// LogsResult is a page of a job's log.
type LogsResult struct {
	JobID int64 `json:"job_id"`
	Start int64 `json:"start"`
	// Next is the index to ask for next.
	Next int64 `json:"next"`
	// Total is the number of records stored so far.
	Total    int64     `json:"total"`
	Finished bool      `json:"finished"`
	Records  []LogView `json:"records"`
}

func (a *API) jobLogs(w http.ResponseWriter, r *http.Request) {
	j, ok := a.visibleJob(w, r)
	if !ok {
		return
	}
	start, ok := intParam(w, r, "start", 0, 0, 1<<62)
	if !ok {
		return
	}
	limit, ok := intParam(w, r, "limit", 1000, 1, 10000)
	if !ok {
		return
	}
	total, err := a.lab.LogCount(r.Context(), j)
	if err != nil {
		a.labError(w, r, err, fmt.Sprintf("job %d", j.ID))
		return
	}
	recs, err := a.lab.ReadLogs(r.Context(), j, int64(start), limit)
	if err != nil {
		a.labError(w, r, err, fmt.Sprintf("job %d", j.ID))
		return
	}
	res := LogsResult{JobID: j.ID, Start: int64(start), Next: int64(start), Total: total,
		Finished: j.State == model.JobFinished, Records: make([]LogView, 0, len(recs))}
	for _, rec := range recs {
		res.Records = append(res.Records, logView(rec))
		res.Next = rec.Index + 1
	}
	writeJSON(w, http.StatusOK, res)
}

// ResultsResult is a page of a job's test results.
type ResultsResult struct {
	JobID  int64      `json:"job_id"`
	Suites []string   `json:"suites"`
	Offset int        `json:"offset"`
	Limit  int        `json:"limit"`
	Cases  []CaseView `json:"cases"`
}

func (a *API) jobResults(w http.ResponseWriter, r *http.Request) {
	j, ok := a.visibleJob(w, r)
	if !ok {
		return
	}
	offset, ok := intParam(w, r, "offset", 0, 0, 1<<31-1)
	if !ok {
		return
	}
	limit, ok := intParam(w, r, "limit", 1000, 1, 10000)
	if !ok {
		return
	}
	suites, err := a.lab.Suites(r.Context(), j)
	if err != nil {
		a.labError(w, r, err, fmt.Sprintf("job %d", j.ID))
		return
	}
	cases, err := a.lab.TestCases(r.Context(), j, r.URL.Query().Get("suite"), offset, limit)
	if err != nil {
		a.labError(w, r, err, fmt.Sprintf("job %d", j.ID))
		return
	}
	res := ResultsResult{JobID: j.ID, Suites: make([]string, 0, len(suites)), Offset: offset, Limit: limit, Cases: make([]CaseView, 0, len(cases))}
	for _, s := range suites {
		res.Suites = append(res.Suites, s.Name)
	}
	for _, c := range cases {
		res.Cases = append(res.Cases, caseView(c))
	}
	writeJSON(w, http.StatusOK, res)
}
