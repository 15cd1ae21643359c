package lavarest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/lavalab/lavalab/core/auth"
	"github.com/lavalab/lavalab/core/lab"
	"github.com/lavalab/lavalab/core/lavafmt"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/results"
	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/version"
)

// PageSize is LAVA's REST page size (LimitOffsetPagination), and MaxLimit
// the largest page asked with ?limit=.
const (
	PageSize = 50
	MaxLimit = 1000
	// MaxBody bounds request bodies.
	MaxBody = 1 << 20
)

// Options configure the REST API.
type Options struct {
	Store  store.Store
	Logger *slog.Logger
	// LAVAVersion is what /system/version/ answers (default
	// version.LAVACompat).
	LAVAVersion string
	// Lab is the service the handlers call. Default: a core/lab service
	// on Store (tests); the server passes its own, shared by every
	// front-end.
	Lab *lab.Service
}

// API serves /api/v0.2.
type API struct {
	lab     *lab.Service
	log     *slog.Logger
	version string
}

// New returns the API.
func New(o Options) *API {
	a := &API{lab: o.Lab, log: o.Logger, version: o.LAVAVersion}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.version == "" {
		a.version = version.LAVACompat
	}
	if a.lab == nil {
		a.lab = lab.New(lab.Options{Store: o.Store, Logger: a.log})
	}
	return a
}

// Mount adds /api/v0.2 to r.
func (a *API) Mount(r chi.Router) { r.Mount("/api/v0.2", a.Routes()) }

func userFrom(ctx context.Context) *model.User { return lab.UserFrom(ctx) }

// caller is who calls, for core/lab.
func caller(ctx context.Context) lab.Caller { return lab.As(userFrom(ctx), "rest-v0.2") }

// Routes returns the /api/v0.2 router. Every path has a trailing slash, as
// Django REST framework's router; the slash-less form is served too.
func (a *API) Routes() chi.Router {
	r := chi.NewRouter()
	r.Use(a.recoverer, a.authenticate)
	r.NotFound(func(w http.ResponseWriter, r *http.Request) { detail(w, http.StatusNotFound, "Not found.") })
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		detail(w, http.StatusMethodNotAllowed, fmt.Sprintf("Method \"%s\" not allowed.", r.Method))
	})
	get := func(p string, h http.HandlerFunc) { r.Get(p+"/", h); r.Get(p, h) }
	post := func(p string, h http.HandlerFunc) { r.Post(p+"/", h); r.Post(p, h) }
	get("/system/version", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"version": a.version})
	})
	get("/system/whoami", func(w http.ResponseWriter, r *http.Request) {
		name := ""
		if u := userFrom(r.Context()); u != nil {
			name = u.Username
		}
		writeJSON(w, http.StatusOK, map[string]any{"user": name})
	})
	get("/jobs", a.listJobs)
	post("/jobs", a.submitJob)
	post("/jobs/validate", a.validateJob)
	get("/jobs/{id}", a.showJob)
	get("/jobs/{id}/logs", a.jobLogs)
	get("/jobs/{id}/cancel", a.cancelJob)
	post("/jobs/{id}/resubmit", a.resubmitJob)
	get("/jobs/{id}/suites", a.jobSuites)
	get("/jobs/{id}/tests", a.jobTests)
	get("/jobs/{id}/metadata", a.jobMetadata)
	get("/jobs/{id}/suites/{sid}/tests", a.jobTests)
	for _, f := range []struct {
		name, ctype string
		write       func(io.Writer, []results.Row) error
	}{
		{"yaml", "application/yaml", results.WriteYAML},
		{"csv", "text/csv", results.WriteCSV},
		{"junit", "application/xml", results.WriteJUnit},
		{"tap13", "text/plain", results.WriteTAP13},
	} {
		h := a.export(f.ctype, f.write)
		get("/jobs/{id}/"+f.name, h)
		if f.name == "yaml" || f.name == "csv" {
			get("/jobs/{id}/suites/{sid}/"+f.name, h)
		}
	}
	get("/devices", a.listDevices)
	get("/devices/{name}", a.showDevice)
	get("/devices/{name}/dictionary", a.getDictionary)
	post("/devices/{name}/dictionary", a.setDictionary)
	get("/devicetypes", a.listDeviceTypes)
	get("/devicetypes/{name}", a.showDeviceType)
	get("/devicetypes/{name}/template", a.getTemplate)
	get("/devicetypes/{name}/health-check", a.getHealthCheck)
	get("/workers", a.listWorkers)
	get("/workers/{name}", a.showWorker)
	get("/tags", a.listTags)
	get("/tags/{name}", a.showTag)
	return r
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"detail": "internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

// detail answers Django REST framework's error shape.
func detail(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]any{"detail": msg})
}

func message(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]any{"message": msg})
}

func writeText(w http.ResponseWriter, ctype string, body []byte) {
	w.Header().Set("Content-Type", ctype+"; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func (a *API) internal(w http.ResponseWriter, r *http.Request, err error) {
	a.log.Error("api v0.2", "path", r.URL.Path, "err", err)
	detail(w, http.StatusInternalServerError, "Internal server error.")
}

// fault answers a refusal of core/lab with LAVA's fault code as the HTTP
// status (400/401/403/404) and LAVA's message; other errors are internal.
func (a *API) fault(w http.ResponseWriter, r *http.Request, err error) {
	if e, ok := lab.AsError(err); ok {
		code, msg := lavafmt.Fault(e, caller(r.Context()))
		detail(w, code, msg)
		return
	}
	a.internal(w, r, err)
}

// notFound answers DRF's 404 for a refusal that is "not found" (or, for a
// job, not visible: DRF filters the queryset by visibility, so a job you
// may not see does not exist); ok=false means an answer was written.
func (a *API) notFound(w http.ResponseWriter, r *http.Request, err error) bool {
	if err == nil {
		return true
	}
	if k := lab.KindOf(err); k == lab.KindNotFound || k == lab.KindForbidden {
		detail(w, http.StatusNotFound, "Not found.")
		return false
	}
	a.internal(w, r, err)
	return false
}

// forbidden is DRF's answer to a user without the permission.
func forbidden(w http.ResponseWriter) {
	detail(w, http.StatusForbidden, "You do not have permission to perform this action.")
}

func (a *API) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				a.log.Error("api v0.2 panic", "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				detail(w, http.StatusInternalServerError, "Internal server error.")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// authenticate resolves "Authorization: Token <secret>"; no header is
// anonymous, a wrong token is 401 as DRF answers.
func (a *API) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret, err := auth.FromHeader(r.Header.Get("Authorization"))
		if errors.Is(err, auth.ErrNoToken) {
			next.ServeHTTP(w, r)
			return
		}
		if err != nil {
			w.Header().Set("WWW-Authenticate", "Token")
			detail(w, http.StatusUnauthorized, "Invalid token header.")
			return
		}
		u, err := a.lab.Authenticate(r.Context(), secret)
		if lab.KindOf(err) == lab.KindUnauthenticated {
			w.Header().Set("WWW-Authenticate", "Token")
			detail(w, http.StatusUnauthorized, "Invalid token.")
			return
		}
		if err != nil {
			a.internal(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(lab.WithUser(r.Context(), &u)))
	})
}

func needUser(w http.ResponseWriter, r *http.Request) *model.User {
	u := userFrom(r.Context())
	if u == nil {
		w.Header().Set("WWW-Authenticate", "Token")
		detail(w, http.StatusUnauthorized, "Authentication credentials were not provided.")
	}
	return u
}

// page reads limit/offset (LimitOffsetPagination); ok=false means a 400
// was written.
func page(w http.ResponseWriter, r *http.Request) (limit, offset int, ok bool) {
	limit, offset = PageSize, 0
	q := r.URL.Query()
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			detail(w, http.StatusBadRequest, fmt.Sprintf("limit: %q is not a positive integer", s))
			return 0, 0, false
		}
		limit = min(n, MaxLimit)
	}
	if s := q.Get("offset"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			detail(w, http.StatusBadRequest, fmt.Sprintf("offset: %q is not a non-negative integer", s))
			return 0, 0, false
		}
		offset = n
	}
	return limit, offset, true
}

// paged answers {count, next, previous, results}.
func paged(w http.ResponseWriter, r *http.Request, count, limit, offset int, res []any) {
	link := func(off int) any {
		u := *r.URL
		q := u.Query()
		q.Set("limit", strconv.Itoa(limit))
		q.Set("offset", strconv.Itoa(off))
		u.RawQuery = q.Encode()
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		return (&url.URL{Scheme: scheme, Host: r.Host, Path: u.Path, RawQuery: u.RawQuery}).String()
	}
	var next, prev any
	if offset+limit < count {
		next = link(offset + limit)
	}
	if offset > 0 {
		prev = link(max(offset-limit, 0))
	}
	if res == nil {
		res = []any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"count": count, "next": next, "previous": prev, "results": res})
}

// pageOf pages an in-memory list.
func pageOf[T any](w http.ResponseWriter, r *http.Request, all []T, view func(T) any) {
	limit, offset, ok := page(w, r)
	if !ok {
		return
	}
	res := []any{}
	for i := offset; i < len(all) && i < offset+limit; i++ {
		res = append(res, view(all[i]))
	}
	paged(w, r, len(all), limit, offset, res)
}

func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000Z")
}

func strs(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func jobView(j model.Job) map[string]any {
	groups := strs(j.ViewingGroups)
	var multi any
	if j.TargetGroup != "" {
		multi = j.Definition
	}
	return map[string]any{
		"id": j.ID, "submitter": j.Submitter, "viewing_groups": groups, "description": j.Description,
		"health_check": j.HealthCheck, "requested_device_type": nullStr(j.RequestedDeviceType), "tags": strs(j.Tags),
		"actual_device": nullStr(j.ActualDevice), "submit_time": ts(j.SubmitTime), "start_time": ts(j.StartTime),
		"end_time": ts(j.EndTime), "state": j.State.String(), "health": j.Health.String(), "priority": j.Priority,
		"definition": j.Definition, "original_definition": j.Definition, "multinode_definition": multi,
		"failure_tags": []string{}, "failure_comment": nullStr(j.FailureComment),
	}
}

func (a *API) listJobs(w http.ResponseWriter, r *http.Request) {
	limit, offset, ok := page(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	f := store.JobFilter{DeviceType: q.Get("requested_device_type"), Device: q.Get("actual_device"),
		Submitter: q.Get("submitter"), Offset: offset, Limit: limit}
	if s := q.Get("state"); s != "" {
		st, err := model.ParseJobState(s)
		if err != nil {
			detail(w, http.StatusBadRequest, fmt.Sprintf("state: %q is not a job state", s))
			return
		}
		f.States = []model.JobState{st}
	}
	if s := q.Get("health"); s != "" {
		h, err := model.ParseJobHealth(s)
		if err != nil {
			detail(w, http.StatusBadRequest, fmt.Sprintf("health: %q is not a job health", s))
			return
		}
		f.Healths = []model.JobHealth{h}
	}
	if s := q.Get("health_check"); s != "" {
		b, err := strconv.ParseBool(strings.ToLower(s))
		if err != nil {
			detail(w, http.StatusBadRequest, fmt.Sprintf("health_check: %q is not true or false", s))
			return
		}
		f.HealthCheck = &b
	}
	jobs, total, err := a.lab.ListJobs(r.Context(), caller(r.Context()), f)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	res := make([]any, 0, len(jobs))
	for _, j := range jobs {
		res = append(res, jobView(j))
	}
	paged(w, r, total, limit, offset, res)
}

// definition reads a submission: JSON {"definition": ...}, a form field
// "definition", or the raw YAML.
func definition(w http.ResponseWriter, r *http.Request) (string, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		detail(w, http.StatusRequestEntityTooLarge, "Request body too large.")
		return "", false
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		var v struct {
			Definition string `json:"definition"`
		}
		if err := json.Unmarshal(body, &v); err != nil {
			detail(w, http.StatusBadRequest, "JSON parse error - "+err.Error())
			return "", false
		}
		return v.Definition, true
	case "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			detail(w, http.StatusBadRequest, "Malformed form body.")
			return "", false
		}
		return vals.Get("definition"), true
	case "multipart/form-data":
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err := r.ParseMultipartForm(MaxBody); err != nil {
			detail(w, http.StatusBadRequest, "Malformed multipart body.")
			return "", false
		}
		return r.FormValue("definition"), true
	}
	return string(body), true
}

func (a *API) submitJob(w http.ResponseWriter, r *http.Request) {
	u := needUser(w, r)
	if u == nil {
		return
	}
	text, ok := definition(w, r)
	if !ok {
		return
	}
	res, err := a.lab.Submit(r.Context(), caller(r.Context()), []byte(text))
	if e, ok := lab.AsError(err); ok {
		code, msg := lavafmt.SubmitFault(e)
		if code == 400 && strings.HasPrefix(msg, "Device unavailable: ") {
			msg = "Devices unavailable: " + strings.TrimPrefix(msg, "Device unavailable: ")
		}
		message(w, http.StatusBadRequest, msg)
		return
	}
	if err != nil {
		a.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"message": "job(s) successfully submitted", "job_ids": res.IDs()})
}

func (a *API) validateJob(w http.ResponseWriter, r *http.Request) {
	text, ok := definition(w, r)
	if !ok {
		return
	}
	strict := r.URL.Query().Get("strict") == "true"
	if is := lab.ValidateSchema([]byte(text), strict); len(is) > 0 {
		message(w, http.StatusOK, "Job invalid: "+is[0].String())
		return
	}
	message(w, http.StatusOK, "Job valid.")
}

func (a *API) job(w http.ResponseWriter, r *http.Request) (model.Job, bool) {
	j, err := a.lab.FindJob(r.Context(), caller(r.Context()), chi.URLParam(r, "id"))
	return j, a.notFound(w, r, err)
}

func (a *API) showJob(w http.ResponseWriter, r *http.Request) {
	if j, ok := a.job(w, r); ok {
		writeJSON(w, http.StatusOK, jobView(j))
	}
}

func (a *API) jobLogs(w http.ResponseWriter, r *http.Request) {
	j, ok := a.job(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	var start int64
	var end *int64
	if s := q.Get("start"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			detail(w, http.StatusBadRequest, fmt.Sprintf("start: %q is not a line number", s))
			return
		}
		start = n
	}
	if s := q.Get("end"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			detail(w, http.StatusBadRequest, fmt.Sprintf("end: %q is not a line number", s))
			return
		}
		end = &n
	}
	// The whole log (or the range) is answered, in chunks from the store.
	var buf bytes.Buffer
	for {
		_, data, err := lavafmt.Logs(r.Context(), a.lab, j, start, end)
		if err != nil {
			a.internal(w, r, err)
			return
		}
		if string(data) == "[]" {
			break
		}
		buf.Write(data)
		n := int64(bytes.Count(data, []byte("\n")))
		start += n
		if n < lavafmt.MaxLogLines || (end != nil && start >= *end) {
			break
		}
	}
	writeText(w, "application/yaml", buf.Bytes())
}

func (a *API) cancelJob(w http.ResponseWriter, r *http.Request) {
	if needUser(w, r) == nil {
		return
	}
	_, err := a.lab.Cancel(r.Context(), caller(r.Context()), chi.URLParam(r, "id"))
	if e, ok := lab.AsError(err); ok {
		switch e.Reason {
		case lab.ReasonFinished: // a no-op, as LAVA's
		case lab.ReasonNotOwner:
			forbidden(w)
			return
		default:
			a.notFound(w, r, err)
			return
		}
	} else if err != nil {
		a.internal(w, r, err)
		return
	}
	message(w, http.StatusOK, "Job cancel signal sent.")
}

func (a *API) resubmitJob(w http.ResponseWriter, r *http.Request) {
	if needUser(w, r) == nil {
		return
	}
	j, ok := a.job(w, r)
	if !ok {
		return
	}
	res, err := a.lab.Resubmit(r.Context(), caller(r.Context()), strconv.FormatInt(j.ID, 10))
	if e, ok := lab.AsError(err); ok {
		switch e.Reason {
		case lab.ReasonMultinodeSub, lab.ReasonHealthCheck:
			message(w, http.StatusBadRequest, fmt.Sprintf("job %d cannot be resubmitted: it is a multinode sub-job or a health check", j.ID))
		case lab.ReasonNotOwner:
			forbidden(w)
		default:
			_, msg := lavafmt.SubmitFault(e)
			message(w, http.StatusBadRequest, "job submission failed: "+msg+".")
		}
		return
	}
	if err != nil {
		a.internal(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"message": "job(s) successfully submitted", "job_ids": res.IDs()})
}

// suiteName resolves {sid}: a suite id or a suite name.
func (a *API) suiteName(w http.ResponseWriter, r *http.Request, j model.Job) (string, bool) {
	sid := chi.URLParam(r, "sid")
	if sid == "" {
		return "", true
	}
	suites, err := a.lab.Suites(r.Context(), j)
	if err != nil {
		a.internal(w, r, err)
		return "", false
	}
	for _, s := range suites {
		if strconv.FormatInt(s.ID, 10) == sid || s.Name == sid {
			return s.Name, true
		}
	}
	detail(w, http.StatusNotFound, "Not found.")
	return "", false
}

func (a *API) rows(w http.ResponseWriter, r *http.Request, limit, offset int) (model.Job, []results.Row, bool) {
	j, ok := a.job(w, r)
	if !ok {
		return j, nil, false
	}
	suite, ok := a.suiteName(w, r, j)
	if !ok {
		return j, nil, false
	}
	rows, err := lavafmt.JobRows(r.Context(), a.lab, j, suite, "", offset, limit)
	if err != nil {
		a.fault(w, r, err)
		return j, nil, false
	}
	return j, rows, true
}

func (a *API) export(ctype string, write func(io.Writer, []results.Row) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		limit, offset := 0, 0
		q := r.URL.Query()
		if q.Get("limit") != "" || q.Get("offset") != "" {
			var ok bool
			if limit, offset, ok = page(w, r); !ok {
				return
			}
		}
		_, rows, ok := a.rows(w, r, limit, offset)
		if !ok {
			return
		}
		var b bytes.Buffer
		if err := write(&b, rows); err != nil {
			a.internal(w, r, err)
			return
		}
		writeText(w, ctype, b.Bytes())
	}
}

func (a *API) jobSuites(w http.ResponseWriter, r *http.Request) {
	j, ok := a.job(w, r)
	if !ok {
		return
	}
	suites, err := a.lab.Suites(r.Context(), j)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	pageOf(w, r, suites, func(s model.TestSuite) any {
		return map[string]any{"id": s.ID, "job": j.ID, "name": s.Name}
	})
}

func (a *API) jobTests(w http.ResponseWriter, r *http.Request) {
	_, rows, ok := a.rows(w, r, 0, 0)
	if !ok {
		return
	}
	pageOf(w, r, rows, func(row results.Row) any {
		var m any
		if row.Measurement != nil {
			m = strconv.FormatFloat(*row.Measurement, 'f', 10, 64)
		}
		return map[string]any{"id": row.ID, "name": row.Name, "suite": row.Suite, "result": row.Result,
			"measurement": m, "units": row.Units, "logged": ts(row.Logged), "metadata": row.Metadata,
			"start_log_line": row.LogStart, "end_log_line": row.LogEnd}
	})
}

// jobMetadata answers as LAVA: {"metadata": [{name: value}, ...]}.
func (a *API) jobMetadata(w http.ResponseWriter, r *http.Request) {
	if j, ok := a.job(w, r); ok {
		writeJSON(w, http.StatusOK, map[string]any{"metadata": model.MetadataList(j.Metadata)})
	}
}

func deviceView(d model.Device) any {
	var job any
	if d.CurrentJob != 0 {
		job = d.CurrentJob
	}
	return map[string]any{"hostname": d.Hostname, "device_type": d.DeviceType, "description": d.Description,
		"tags": strs(d.Tags), "state": d.State.String(), "health": d.Health.String(), "worker_host": nullStr(d.Worker),
		"current_job": job, "last_health_report": ts(d.LastHealthReport)}
}

func (a *API) listDevices(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	devs, err := a.lab.ListDevices(r.Context(), caller(r.Context()), store.DeviceFilter{DeviceType: q.Get("device_type"), Worker: q.Get("worker_host"), IncludeRetired: true})
	if err != nil {
		a.internal(w, r, err)
		return
	}
	if s := q.Get("health"); s != "" {
		devs = slices.DeleteFunc(devs, func(d model.Device) bool { return !strings.EqualFold(d.Health.String(), s) })
	}
	if s := q.Get("state"); s != "" {
		devs = slices.DeleteFunc(devs, func(d model.Device) bool { return !strings.EqualFold(d.State.String(), s) })
	}
	pageOf(w, r, devs, deviceView)
}

func (a *API) device(w http.ResponseWriter, r *http.Request) (model.Device, bool) {
	d, err := a.lab.Device(r.Context(), caller(r.Context()), chi.URLParam(r, "name"))
	return d, a.notFound(w, r, err)
}

func (a *API) showDevice(w http.ResponseWriter, r *http.Request) {
	if d, ok := a.device(w, r); ok {
		writeJSON(w, http.StatusOK, deviceView(d))
	}
}

func (a *API) getDictionary(w http.ResponseWriter, r *http.Request) {
	// The dictionary may hold power-switch credentials: admins only.
	if !a.needAdmin(w, r) {
		return
	}
	render := r.URL.Query().Get("render") == "true"
	d, err := a.lab.DeviceDictionary(r.Context(), caller(r.Context()), chi.URLParam(r, "name"), render)
	if e, ok := lab.AsError(err); ok && e.Reason != lab.ReasonNoDictionary && e.Reason != lab.ReasonDictionary {
		a.notFound(w, r, err)
		return
	}
	if err != nil {
		a.fault(w, r, err)
		return
	}
	if !render {
		writeText(w, "text/plain", []byte(d.Device.Dictionary))
		return
	}
	b, err := lavafmt.RenderDictionary(d)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	writeText(w, "application/yaml", b)
}

// needAdmin answers DRF's 401 or 403 unless the caller is an admin.
func (a *API) needAdmin(w http.ResponseWriter, r *http.Request) bool {
	u := needUser(w, r)
	if u == nil {
		return false
	}
	if !caller(r.Context()).IsAdmin() {
		forbidden(w)
		return false
	}
	return true
}

func (a *API) setDictionary(w http.ResponseWriter, r *http.Request) {
	if !a.needAdmin(w, r) {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		detail(w, http.StatusRequestEntityTooLarge, "Request body too large.")
		return
	}
	text := string(body)
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/x-www-form-urlencoded" {
		vals, err := url.ParseQuery(text)
		if err != nil {
			detail(w, http.StatusBadRequest, "Malformed form body.")
			return
		}
		text = vals.Get("dictionary")
	}
	if err := a.lab.SetDictionary(r.Context(), caller(r.Context()), chi.URLParam(r, "name"), text); err != nil {
		a.fault(w, r, err)
		return
	}
	message(w, http.StatusOK, "Device dictionary updated.")
}

func deviceTypeView(dt model.DeviceType) any {
	den := dt.HealthDenominator
	if den == "" {
		den = "hours"
	}
	return map[string]any{"name": dt.Name, "description": dt.Description, "aliases": strs(dt.Aliases),
		"health_frequency": dt.HealthFrequency, "disable_health_check": dt.HealthDisabled,
		"health_denominator": den, "display": dt.Display}
}

func (a *API) listDeviceTypes(w http.ResponseWriter, r *http.Request) {
	dts, err := a.lab.ListDeviceTypes(r.Context(), caller(r.Context()))
	if err != nil {
		a.internal(w, r, err)
		return
	}
	pageOf(w, r, dts, deviceTypeView)
}

func (a *API) deviceType(w http.ResponseWriter, r *http.Request) (model.DeviceType, bool) {
	dt, err := a.lab.DeviceType(r.Context(), caller(r.Context()), chi.URLParam(r, "name"))
	return dt, a.notFound(w, r, err)
}

func (a *API) showDeviceType(w http.ResponseWriter, r *http.Request) {
	if dt, ok := a.deviceType(w, r); ok {
		writeJSON(w, http.StatusOK, deviceTypeView(dt))
	}
}

func (a *API) getTemplate(w http.ResponseWriter, r *http.Request) {
	dt, err := a.lab.DeviceType(r.Context(), caller(r.Context()), chi.URLParam(r, "name"))
	if err != nil {
		a.fault(w, r, err)
		return
	}
	b, err := lavafmt.Template(dt)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	writeText(w, "application/yaml", b)
}

func (a *API) getHealthCheck(w http.ResponseWriter, r *http.Request) {
	hc, err := a.lab.HealthCheck(r.Context(), caller(r.Context()), chi.URLParam(r, "name"))
	if err != nil {
		a.fault(w, r, err)
		return
	}
	writeText(w, "application/yaml", []byte(hc))
}

func workerView(wk model.Worker) any {
	return map[string]any{"hostname": wk.Hostname, "description": wk.Description, "last_ping": ts(wk.LastPing),
		"state": wk.State.String(), "health": wk.Health.String(), "job_limit": wk.JobLimit, "version": nullStr(wk.Version)}
}

func (a *API) listWorkers(w http.ResponseWriter, r *http.Request) {
	ws, err := a.lab.ListWorkers(r.Context(), caller(r.Context()))
	if err != nil {
		a.internal(w, r, err)
		return
	}
	pageOf(w, r, ws, workerView)
}

func (a *API) showWorker(w http.ResponseWriter, r *http.Request) {
	wk, err := a.lab.Worker(r.Context(), caller(r.Context()), chi.URLParam(r, "name"))
	if !a.notFound(w, r, err) {
		return
	}
	writeJSON(w, http.StatusOK, workerView(wk))
}

func tagView(t model.Tag) any {
	return map[string]any{"name": t.Name, "description": nullStr(t.Description)}
}

func (a *API) listTags(w http.ResponseWriter, r *http.Request) {
	tags, err := a.lab.ListTags(r.Context(), caller(r.Context()))
	if err != nil {
		a.internal(w, r, err)
		return
	}
	pageOf(w, r, tags, tagView)
}

func (a *API) showTag(w http.ResponseWriter, r *http.Request) {
	tags, err := a.lab.ListTags(r.Context(), caller(r.Context()))
	if err != nil {
		a.internal(w, r, err)
		return
	}
	for _, t := range tags {
		if t.Name == chi.URLParam(r, "name") {
			writeJSON(w, http.StatusOK, tagView(t))
			return
		}
	}
	detail(w, http.StatusNotFound, "Not found.")
}
