package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/lavalab/lavalab/core/lab"
	"github.com/lavalab/lavalab/core/lavafmt"
	"github.com/lavalab/lavalab/core/metrics"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/results"
	"github.com/lavalab/lavalab/core/store"
)

// Page sizes.
const (
	JobsPerPage = 50
	// CountPagesAhead is how many pages, from the current one, the jobs
	// list counts ("of 500+" beyond that on page 1).
	CountPagesAhead = 10
	// QueueCountLimit is where the home page stops counting a device
	// type's queue ("1000+").
	QueueCountLimit = 1000
	LogPerPage      = 500
	CasesPerPage    = 100
	RecentJobs      = 10
	DeviceJobsShow  = 15
)

// ---- home ----

type typeQueue struct {
	Name  string
	Queue int
	// More says Queue stopped at QueueCountLimit.
	More bool
}

type homeData struct {
	Queue       []typeQueue
	QueueTotal  int
	QueueMore   bool
	Healths     []string
	States      []string
	DeviceCount map[string]map[string]int // health → state → n
	Devices     int
	Workers     []model.Worker
	Online      int
	Jobs        []model.Job
}

func (w *Web) home(rw http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c := caller(ctx)
	types, err := w.lab.ListDeviceTypes(ctx, caller(ctx))
	if err != nil {
		w.fail(rw, r, fmt.Errorf("device types: %w", err))
		return
	}
	d := homeData{DeviceCount: map[string]map[string]int{}}
	for _, dt := range types {
		_, n, err := w.lab.ListJobs(ctx, c, store.JobFilter{States: []model.JobState{model.JobSubmitted}, DeviceType: dt.Name,
			Limit: 1, CountLimit: QueueCountLimit + 1})
		if err != nil {
			w.fail(rw, r, fmt.Errorf("queue of %s: %w", dt.Name, err))
			return
		}
		q := typeQueue{Name: dt.Name, Queue: min(n, QueueCountLimit), More: n > QueueCountLimit}
		d.Queue = append(d.Queue, q)
		d.QueueTotal += q.Queue
		d.QueueMore = d.QueueMore || q.More
	}
	devs, err := w.lab.ListDevices(ctx, caller(ctx), store.DeviceFilter{IncludeRetired: true})
	if err != nil {
		w.fail(rw, r, fmt.Errorf("devices: %w", err))
		return
	}
	for h := model.DeviceGood; h <= model.DeviceRetired; h++ {
		d.Healths = append(d.Healths, h.String())
		d.DeviceCount[h.String()] = map[string]int{}
	}
	for s := model.DeviceIdle; s <= model.DeviceRunning; s++ {
		d.States = append(d.States, s.String())
	}
	for _, dev := range devs {
		d.DeviceCount[dev.Health.String()][dev.State.String()]++
	}
	d.Devices = len(devs)
	if d.Workers, err = w.lab.ListWorkers(ctx, caller(ctx)); err != nil {
		w.fail(rw, r, fmt.Errorf("workers: %w", err))
		return
	}
	for _, wk := range d.Workers {
		if wk.State == model.WorkerOnline {
			d.Online++
		}
	}
	if d.Jobs, _, err = w.lab.ListJobs(ctx, c, store.JobFilter{Limit: RecentJobs, CountLimit: -1}); err != nil {
		w.fail(rw, r, fmt.Errorf("jobs: %w", err))
		return
	}
	w.render(rw, r, 0, "home", "Lab", "home", d)
}

// ---- jobs ----

type jobListData struct {
	Jobs  []model.Job
	Total int
	// More says Total is a lower bound: the count stopped there.
	More        bool
	From, To    int
	Page, Pages int
	Q           url.Values
	States      []string
	Healths     []string
	DeviceTypes []string
	Error       string
}

func (w *Web) jobList(rw http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	d := jobListData{Q: url.Values{}}
	for _, k := range []string{"state", "health", "device_type", "submitter", "q"} {
		if v := strings.TrimSpace(q.Get(k)); v != "" {
			d.Q.Set(k, v)
		}
	}
	f := store.JobFilter{DeviceType: d.Q.Get("device_type"), Submitter: d.Q.Get("submitter"), Text: d.Q.Get("q"), Limit: JobsPerPage}
	if s := d.Q.Get("state"); s != "" {
		st, err := model.ParseJobState(s)
		if err != nil {
			w.errorPage(rw, r, http.StatusBadRequest, err.Error())
			return
		}
		f.States = []model.JobState{st}
	}
	if s := d.Q.Get("health"); s != "" {
		h, err := model.ParseJobHealth(s)
		if err != nil {
			w.errorPage(rw, r, http.StatusBadRequest, err.Error())
			return
		}
		f.Healths = []model.JobHealth{h}
	}
	d.Page = 1
	if p, err := strconv.Atoi(q.Get("page")); err == nil && p > 1 {
		d.Page = min(p, 1<<20)
	}
	f.Offset = (d.Page - 1) * JobsPerPage
	// Count only CountPagesAhead pages from this one: an exact count reads
	// every visible job (tens of ms at 100,000 jobs).
	f.CountLimit = f.Offset + CountPagesAhead*JobsPerPage + 1
	var err error
	if d.Jobs, d.Total, err = w.lab.ListJobs(ctx, caller(ctx), f); err != nil {
		w.fail(rw, r, fmt.Errorf("jobs: %w", err))
		return
	}
	if d.Total >= f.CountLimit {
		d.Total, d.More = f.CountLimit-1, true
	}
	d.Pages = max(1, (d.Total+JobsPerPage-1)/JobsPerPage)
	if len(d.Jobs) > 0 {
		d.From, d.To = f.Offset+1, f.Offset+len(d.Jobs)
	}
	for s := model.JobSubmitted; s <= model.JobFinished; s++ {
		d.States = append(d.States, s.String())
	}
	for h := model.JobUnknown; h <= model.JobCanceled; h++ {
		d.Healths = append(d.Healths, h.String())
	}
	types, err := w.lab.ListDeviceTypes(ctx, caller(ctx))
	if err != nil {
		w.fail(rw, r, fmt.Errorf("device types: %w", err))
		return
	}
	for _, t := range types {
		d.DeviceTypes = append(d.DeviceTypes, t.Name)
	}
	w.render(rw, r, 0, "jobs", "Jobs", "jobs", d)
}

// visibleJob loads the {id} job if the viewer may see it; false means an
// answer was written.
func (w *Web) visibleJob(rw http.ResponseWriter, r *http.Request) (model.Job, bool) {
	s := chi.URLParam(r, "id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		w.notFound(rw, r, "Job "+strconv.Quote(s))
		return model.Job{}, false
	}
	j, err := w.lab.Job(r.Context(), caller(r.Context()), id)
	if k := lab.KindOf(err); k == lab.KindNotFound || k == lab.KindForbidden {
		w.notFound(rw, r, "Job "+s)
		return model.Job{}, false
	}
	if err != nil {
		w.fail(rw, r, fmt.Errorf("job %d: %w", id, err))
		return model.Job{}, false
	}
	return j, true
}

type jobPageData struct {
	Job       model.Job
	CanCancel bool
	CanResub  bool
	Live      bool
	LogTotal  int64
	LogStart  int64
	LogNext   int64 // index after the last record shown
	LogPrev   int64 // start of the previous page (-1 = none)
	Follow    bool  // the script follows from LogNext
	HasErr    bool
	Blocks    []logBlock
	Suites    []string
	Cases     []model.TestCase
	CaseOff   int
	CaseMore  bool
	// LiveCases: the job runs and Cases are read from its log's results
	// records (the script adds the ones it streams).
	LiveCases bool
	Q         url.Values
	// Notifications are the job's callbacks and emails with their
	// attempts.
	Notifications []model.Notification
	// SubJobs are the sub-jobs of a multinode job's group (issue 21).
	SubJobs []SubJob
}

// liveCases reads the test cases of a running job's results records, as
// the dispatcher does when it reports them (records it would refuse are
// left out).
func liveCases(recs []model.LogRecord) []model.TestCase {
	var out []model.TestCase
	for _, r := range recs {
		if r.Level != model.LevelResults {
			continue
		}
		var m map[string]any
		if json.Unmarshal([]byte(r.Message), &m) != nil {
			continue
		}
		c, err := results.FromRecord(m, r.Index)
		if err != nil {
			continue
		}
		out = append(out, model.TestCase{Suite: c.Suite, Name: c.Name, Result: model.TestResult(c.Code()),
			Measurement: c.Measurement, Units: c.Units, Set: c.Set, LogStart: c.LogStart, LogEnd: c.LogEnd})
	}
	return out
}

func (w *Web) jobPage(rw http.ResponseWriter, r *http.Request) {
	j, ok := w.visibleJob(rw, r)
	if !ok {
		return
	}
	ctx := r.Context()
	u := userFrom(ctx)
	q := r.URL.Query()
	d := jobPageData{Job: j, Q: url.Values{}, LogPrev: -1,
		Live:      j.State != model.JobFinished,
		CanCancel: caller(ctx).CanChange(j) && j.State != model.JobFinished && j.State != model.JobCanceling,
		CanResub:  u != nil && j.TargetGroup == "" && !j.HealthCheck}
	d.SubJobs = w.subJobs(ctx, j) // issue 21: multinode.go
	var err error
	if d.LogTotal, err = w.lab.LogCount(ctx, j); err != nil {
		w.fail(rw, r, fmt.Errorf("job %d log: %w", j.ID, err))
		return
	}
	_, explicit := q["log_start"]
	if s, err := strconv.ParseInt(q.Get("log_start"), 10, 64); err == nil && s > 0 {
		d.LogStart = s
		d.Q.Set("log_start", q.Get("log_start"))
	}
	recs, err := w.lab.ReadLogs(ctx, j, d.LogStart, LogPerPage)
	if err != nil {
		w.fail(rw, r, fmt.Errorf("job %d log: %w", j.ID, err))
		return
	}
	d.LogNext = d.LogStart
	if n := len(recs); n > 0 {
		d.LogNext = recs[n-1].Index + 1
	}
	if d.LogStart > 0 {
		d.LogPrev = max(0, d.LogStart-LogPerPage)
	}
	lines := logLines(recs, false)
	for _, l := range lines {
		d.HasErr = d.HasErr || l.FirstErr
	}
	d.Blocks = logBlocks(lines)
	// The script follows from the first page on: it streams the rest of a
	// long log and then the live records.
	d.Follow = !explicit && (d.Live || d.LogNext < d.LogTotal)

	suites, err := w.lab.Suites(ctx, j)
	if err != nil {
		w.fail(rw, r, fmt.Errorf("job %d suites: %w", j.ID, err))
		return
	}
	for _, s := range suites {
		d.Suites = append(d.Suites, s.Name)
	}
	if o, err := strconv.Atoi(q.Get("results_offset")); err == nil && o > 0 {
		d.CaseOff = o
	}
	cases, err := w.lab.TestCases(ctx, j, "", d.CaseOff, CasesPerPage+1)
	if err != nil {
		w.fail(rw, r, fmt.Errorf("job %d results: %w", j.ID, err))
		return
	}
	if len(cases) > CasesPerPage {
		cases, d.CaseMore = cases[:CasesPerPage], true
	}
	d.Cases = cases
	if d.Live && len(cases) == 0 && d.CaseOff == 0 && d.LogStart == 0 {
		// The worker reports the cases when the job ends; until then the
		// table shows the results records of the log (the script adds the
		// ones it streams).
		d.Cases, d.LiveCases = liveCases(recs), true
	}
	if d.Notifications, err = w.lab.Notifications(ctx, j); err != nil {
		w.fail(rw, r, fmt.Errorf("job %d notifications: %w", j.ID, err))
		return
	}
	w.render(rw, r, 0, "job", fmt.Sprintf("Job %d", j.ID), "jobs", d)
}

func (w *Web) resultsExport(rw http.ResponseWriter, r *http.Request) {
	j, ok := w.visibleJob(rw, r)
	if !ok {
		return
	}
	format := chi.URLParam(r, "format")
	type exporter struct {
		ctype string
		write func(w io.Writer, rows []results.Row) error
	}
	var ex exporter
	switch format {
	case "yaml":
		ex = exporter{"application/yaml; charset=utf-8", results.WriteYAML}
	case "csv":
		ex = exporter{"text/csv; charset=utf-8", results.WriteCSV}
	case "xml":
		ex = exporter{"application/xml; charset=utf-8", results.WriteJUnit}
	case "tap":
		ex = exporter{"text/plain; charset=utf-8", results.WriteTAP13}
	default:
		w.notFound(rw, r, "Export format "+strconv.Quote(format))
		return
	}
	var rows []results.Row
	const batch = 5000
	for off := 0; ; off += batch {
		cases, err := w.lab.TestCases(r.Context(), j, "", off, batch)
		if err != nil {
			w.fail(rw, r, fmt.Errorf("job %d results: %w", j.ID, err))
			return
		}
		rows = append(rows, lavafmt.Rows(j.ID, cases)...)
		if len(cases) < batch {
			break
		}
	}
	rw.Header().Set("Content-Type", ex.ctype)
	rw.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="job-%d-results.%s"`, j.ID, format))
	if err := ex.write(rw, rows); err != nil {
		w.log.Warn("web: writing results export", "job", j.ID, "err", err)
	}
}

// postForm parses a POST form and checks its CSRF token; false means an
// answer (403) was written.
func (w *Web) postForm(rw http.ResponseWriter, r *http.Request, maxBytes int64) bool {
	r.Body = http.MaxBytesReader(rw, r.Body, maxBytes)
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/") {
		err = r.ParseMultipartForm(maxBytes)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			w.errorPage(rw, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("The form is too large: over the %d bytes limit.", mbe.Limit))
			return false
		}
		w.errorPage(rw, r, http.StatusBadRequest, "The form could not be read: "+err.Error())
		return false
	}
	if err := w.checkCSRF(r); err != nil {
		w.errorPage(rw, r, http.StatusForbidden, "Refused: "+err.Error())
		return false
	}
	return true
}

// needUser answers 401 with a login link when nobody is logged in.
func (w *Web) needUser(rw http.ResponseWriter, r *http.Request) *model.User {
	u := userFrom(r.Context())
	if u == nil {
		w.errorPage(rw, r, http.StatusUnauthorized, "Log in first.")
	}
	return u
}

func (w *Web) cancel(rw http.ResponseWriter, r *http.Request) {
	if !w.postForm(rw, r, 1<<16) {
		return
	}
	if w.needUser(rw, r) == nil {
		return
	}
	j, ok := w.visibleJob(rw, r)
	if !ok {
		return
	}
	if _, err := w.lab.Cancel(r.Context(), caller(r.Context()), strconv.FormatInt(j.ID, 10)); err != nil {
		w.jobRefused(rw, r, j, "cancel", err)
		return
	}
	redirect(rw, r, fmt.Sprintf("/jobs/%d?flash=%s", j.ID, url.QueryEscape("Cancel requested.")))
}

// jobRefused answers core/lab's refusal to change job j (verb: cancel,
// resubmit).
func (w *Web) jobRefused(rw http.ResponseWriter, r *http.Request, j model.Job, verb string, err error) {
	e, ok := lab.AsError(err)
	switch {
	case !ok:
		w.fail(rw, r, fmt.Errorf("%s job %d: %w", verb, j.ID, err))
	case e.Reason == lab.ReasonNotOwner:
		w.errorPage(rw, r, http.StatusForbidden, fmt.Sprintf("Job %d was submitted by %s: only its submitter or an admin may %s it.", j.ID, j.Submitter, verb))
	case e.Reason == lab.ReasonFinished:
		w.errorPage(rw, r, http.StatusConflict, fmt.Sprintf("Job %d cannot be canceled: it is already finished or being canceled.", j.ID))
	case e.Reason == lab.ReasonMultinodeSub, e.Reason == lab.ReasonHealthCheck:
		w.errorPage(rw, r, http.StatusBadRequest, fmt.Sprintf("Job %d is a multinode sub-job or a health check: it cannot be resubmitted alone.", j.ID))
	case len(e.Issues) > 0:
		msgs := make([]string, 0, len(e.Issues))
		for _, is := range e.AllIssues() {
			msgs = append(msgs, is.String())
		}
		w.errorPage(rw, r, http.StatusBadRequest, "The definition is refused now: "+strings.Join(msgs, "; "))
	default:
		w.labError(rw, r, err, "Job "+strconv.FormatInt(j.ID, 10))
	}
}

func (w *Web) resubmit(rw http.ResponseWriter, r *http.Request) {
	if !w.postForm(rw, r, 1<<16) {
		return
	}
	if w.needUser(rw, r) == nil {
		return
	}
	j, ok := w.visibleJob(rw, r)
	if !ok {
		return
	}
	res, err := w.lab.Resubmit(r.Context(), caller(r.Context()), strconv.FormatInt(j.ID, 10))
	if err != nil {
		w.jobRefused(rw, r, j, "resubmit", err)
		return
	}
	redirect(rw, r, fmt.Sprintf("/jobs/%d?flash=%s", res.Jobs[0].ID, url.QueryEscape(fmt.Sprintf("Resubmitted job %d.", j.ID))))
}

// ---- login ----

func (w *Web) loginPage(rw http.ResponseWriter, r *http.Request) {
	w.render(rw, r, 0, "login", "Log in", "login", map[string]any{"Next": safeNext(r.URL.Query().Get("next"))})
}

// safeNext keeps a local path only (no open redirect).
func safeNext(s string) string {
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.HasPrefix(s, "/\\") {
		return "/"
	}
	return s
}

func (w *Web) login(rw http.ResponseWriter, r *http.Request) {
	if !w.postForm(rw, r, 1<<14) {
		return
	}
	next := safeNext(r.PostFormValue("next"))
	secret := strings.TrimSpace(r.PostFormValue("token"))
	fail := func(msg string) {
		w.render(rw, r, http.StatusUnauthorized, "login", "Log in", "login", map[string]any{"Next": next, "Error": msg})
	}
	if secret == "" {
		fail("Paste an API token (make one with lava-server user add, or POST /api/v1/users/me/tokens).")
		return
	}
	sess, sessHash := newSession()
	u, err := w.lab.Login(r.Context(), secret, sessHash, w.now().Add(SessionTTL))
	if lab.KindOf(err) == lab.KindUnauthenticated {
		fail("No such API token (it may have been deleted).")
		return
	}
	if err != nil {
		w.fail(rw, r, fmt.Errorf("login: %w", err))
		return
	}
	http.SetCookie(rw, w.cookie(r, SessionCookie, sess, int(SessionTTL.Seconds())))
	w.log.Info("web login", "user", u.Username)
	redirect(rw, r, next)
}

func (w *Web) logout(rw http.ResponseWriter, r *http.Request) {
	if !w.postForm(rw, r, 1<<14) {
		return
	}
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		if err := w.lab.Logout(r.Context(), sessionHash(c.Value)); err != nil {
			w.fail(rw, r, fmt.Errorf("logout: %w", err))
			return
		}
	}
	http.SetCookie(rw, w.cookie(r, SessionCookie, "", -1))
	redirect(rw, r, "/")
}

// ---- devices ----

// jobRef is a job shown beside a device or worker: its id only when the
// viewer may see it.
type jobRef struct {
	ID      int64
	Visible bool
}

func (w *Web) jobRef(r *http.Request, id int64) (jobRef, error) {
	if id == 0 {
		return jobRef{}, nil
	}
	ok, err := w.lab.CanSeeJob(r.Context(), caller(r.Context()), id)
	if err != nil {
		return jobRef{}, err
	}
	return jobRef{ID: id, Visible: ok}, nil
}

type deviceRow struct {
	model.Device
	Job jobRef
}

func (w *Web) deviceList(rw http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	dt := r.URL.Query().Get("device_type")
	devs, err := w.lab.ListDevices(ctx, caller(ctx), store.DeviceFilter{DeviceType: dt, Worker: r.URL.Query().Get("worker"), IncludeRetired: r.URL.Query().Get("retired") != ""})
	if err != nil {
		w.fail(rw, r, fmt.Errorf("devices: %w", err))
		return
	}
	rows := make([]deviceRow, 0, len(devs))
	for _, d := range devs {
		ref, err := w.jobRef(r, d.CurrentJob)
		if err != nil {
			w.fail(rw, r, err)
			return
		}
		rows = append(rows, deviceRow{d, ref})
	}
	w.render(rw, r, 0, "devices", "Devices", "devices", map[string]any{"Devices": rows, "DeviceType": dt})
}

func (w *Web) devicePage(rw http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	host := chi.URLParam(r, "hostname")
	d, err := w.lab.Device(ctx, caller(ctx), host)
	if lab.KindOf(err) == lab.KindNotFound {
		w.notFound(rw, r, "Device "+strconv.Quote(host))
		return
	}
	if err != nil {
		w.fail(rw, r, fmt.Errorf("device %s: %w", host, err))
		return
	}
	ref, err := w.jobRef(r, d.CurrentJob)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	c := caller(ctx)
	recent, _, err := w.lab.ListJobs(ctx, c, store.JobFilter{Device: host, Limit: DeviceJobsShow, CountLimit: -1})
	if err != nil {
		w.fail(rw, r, fmt.Errorf("device %s jobs: %w", host, err))
		return
	}
	yes := true
	checks, _, err := w.lab.ListJobs(ctx, c, store.JobFilter{Device: host, HealthCheck: &yes, Limit: DeviceJobsShow, CountLimit: -1})
	if err != nil {
		w.fail(rw, r, fmt.Errorf("device %s health checks: %w", host, err))
		return
	}
	history, err := w.lab.DeviceHealthHistory(ctx, c, host, DeviceJobsShow)
	if err != nil {
		w.fail(rw, r, fmt.Errorf("device %s health history: %w", host, err))
		return
	}
	var healths []string
	for h := model.DeviceGood; h <= model.DeviceRetired; h++ {
		healths = append(healths, h.String())
	}
	// The dictionary may hold power-switch credentials: admins only.
	showDict := c.CanSeeDictionary()
	if !showDict {
		d.Dictionary = ""
	}
	w.render(rw, r, 0, "device", "Device "+host, "devices", map[string]any{
		"Device": d, "Job": ref, "Recent": recent, "Checks": checks, "Healths": healths, "ShowDict": showDict, "History": history})
}

func (w *Web) setHealth(rw http.ResponseWriter, r *http.Request) {
	if !w.postForm(rw, r, 1<<14) {
		return
	}
	u := w.needUser(rw, r)
	if u == nil {
		return
	}
	if !caller(r.Context()).IsAdmin() {
		w.errorPage(rw, r, http.StatusForbidden, "Setting a device's health needs admin rights.")
		return
	}
	host := chi.URLParam(r, "hostname")
	h, err := model.ParseDeviceHealth(r.PostFormValue("health"))
	if err != nil {
		w.errorPage(rw, r, http.StatusBadRequest, err.Error())
		return
	}
	reason := strings.TrimSpace(r.PostFormValue("reason"))
	if len(reason) > lab.MaxHealthReason {
		w.errorPage(rw, r, http.StatusBadRequest, "The reason is too long (at most 1000 bytes).")
		return
	}
	if _, err := w.lab.SetDeviceHealth(r.Context(), caller(r.Context()), host, h, reason); err != nil {
		w.labError(rw, r, err, "Device "+strconv.Quote(host))
		return
	}
	redirect(rw, r, "/devices/"+url.PathEscape(host)+"?flash="+url.QueryEscape("Health set to "+h.String()+"."))
}

// ---- device types ----

type typeRow struct {
	model.DeviceType
	Devices int
	Driver  *DriverInfo
}

// activeDrivers maps device type → active driver (empty when there is no
// registry).
func (w *Web) activeDrivers(r *http.Request) (map[string]*DriverInfo, []DriverInfo, error) {
	if !w.lab.HasDrivers() {
		return map[string]*DriverInfo{}, nil, nil
	}
	active, all, err := w.lab.ActiveDrivers(r.Context(), caller(r.Context()))
	if err != nil {
		return nil, nil, fmt.Errorf("drivers: %w", err)
	}
	return active, all, nil
}

func (w *Web) deviceTypeList(rw http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	types, err := w.lab.ListDeviceTypes(ctx, caller(ctx))
	if err != nil {
		w.fail(rw, r, fmt.Errorf("device types: %w", err))
		return
	}
	devs, err := w.lab.ListDevices(ctx, caller(ctx), store.DeviceFilter{})
	if err != nil {
		w.fail(rw, r, fmt.Errorf("devices: %w", err))
		return
	}
	drv, _, err := w.activeDrivers(r)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	rows := make([]typeRow, 0, len(types))
	for _, t := range types {
		n := 0
		for _, d := range devs {
			if d.DeviceType == t.Name {
				n++
			}
		}
		rows = append(rows, typeRow{t, n, drv[t.Name]})
	}
	w.render(rw, r, 0, "device_types", "Device types", "device-types", map[string]any{"Types": rows, "Registry": w.lab.HasDrivers()})
}

type settingRow struct {
	Key, Type, Help string
	Default         any
	Override        any
	HasOverride     bool
}

func (w *Web) deviceTypePage(rw http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name := chi.URLParam(r, "name")
	t, err := w.lab.DeviceType(ctx, caller(ctx), name)
	if lab.KindOf(err) == lab.KindNotFound {
		w.notFound(rw, r, "Device type "+strconv.Quote(name))
		return
	}
	if err != nil {
		w.fail(rw, r, fmt.Errorf("device type %s: %w", name, err))
		return
	}
	drv, _, err := w.activeDrivers(r)
	if err != nil {
		w.fail(rw, r, err)
		return
	}
	d := drv[name]
	var rows []settingRow
	seen := map[string]bool{}
	if d != nil {
		for _, s := range d.Description.Settings {
			ov, has := t.Settings[s.Key]
			rows = append(rows, settingRow{Key: s.Key, Type: s.Type, Help: s.Help, Default: s.Default, Override: ov, HasOverride: has})
			seen[s.Key] = true
		}
	}
	var extra []string
	for k := range t.Settings {
		if !seen[k] {
			extra = append(extra, k)
		}
	}
	slices.Sort(extra)
	for _, k := range extra {
		rows = append(rows, settingRow{Key: k, Help: "(not declared by the active driver)", Override: t.Settings[k], HasOverride: true})
	}
	devs, err := w.lab.ListDevices(ctx, caller(ctx), store.DeviceFilter{DeviceType: name, IncludeRetired: true})
	if err != nil {
		w.fail(rw, r, fmt.Errorf("devices: %w", err))
		return
	}
	w.render(rw, r, 0, "device_type", "Device type "+name, "device-types", map[string]any{
		"Type": t, "Driver": d, "Settings": rows, "Devices": devs, "Registry": w.lab.HasDrivers()})
}

// ---- workers ----

type workerRow struct {
	model.Worker
	Devices int
	Jobs    []jobRef
	// Report is the worker's last report of its spools and host (nil:
	// none since the server started).
	Report *metrics.WorkerReport
}

func (w *Web) workerList(rw http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	workers, err := w.lab.ListWorkers(ctx, caller(ctx))
	if err != nil {
		w.fail(rw, r, fmt.Errorf("workers: %w", err))
		return
	}
	devs, err := w.lab.ListDevices(ctx, caller(ctx), store.DeviceFilter{})
	if err != nil {
		w.fail(rw, r, fmt.Errorf("devices: %w", err))
		return
	}
	rows := make([]workerRow, 0, len(workers))
	for _, wk := range workers {
		row := workerRow{Worker: wk}
		if w.reports != nil {
			if rep, ok := w.reports.WorkerReport(wk.Hostname); ok {
				row.Report = &rep
			}
		}
		for _, d := range devs {
			if d.Worker != wk.Hostname {
				continue
			}
			row.Devices++
			if d.CurrentJob != 0 {
				ref, err := w.jobRef(r, d.CurrentJob)
				if err != nil {
					w.fail(rw, r, err)
					return
				}
				row.Jobs = append(row.Jobs, ref)
			}
		}
		rows = append(rows, row)
	}
	w.render(rw, r, 0, "workers", "Workers", "workers", map[string]any{"Workers": rows})
}

// ---- drivers ----

func (w *Web) driverList(rw http.ResponseWriter, r *http.Request) {
	data := map[string]any{"Registry": w.lab.HasDrivers()}
	if w.lab.HasDrivers() {
		_, all, err := w.activeDrivers(r)
		if err != nil {
			w.fail(rw, r, err)
			return
		}
		slices.SortStableFunc(all, func(a, b DriverInfo) int {
			if c := strings.Compare(a.Name, b.Name); c != 0 {
				return c
			}
			return b.LoadedAt.Compare(a.LoadedAt)
		})
		_, refused, err := w.lab.ListDrivers(r.Context(), caller(r.Context()))
		if err != nil {
			w.fail(rw, r, fmt.Errorf("refused drivers: %w", err))
			return
		}
		data["Drivers"], data["Refused"] = all, refused
	}
	w.render(rw, r, 0, "drivers", "Drivers", "drivers", data)
}

// adminPost checks the form and admin rights for driver changes.
func (w *Web) adminPost(rw http.ResponseWriter, r *http.Request, maxBytes int64) *model.User {
	if !w.postForm(rw, r, maxBytes) {
		return nil
	}
	u := w.needUser(rw, r)
	if u == nil {
		return nil
	}
	if !caller(r.Context()).IsAdmin() {
		w.errorPage(rw, r, http.StatusForbidden, "Managing drivers needs admin rights.")
		return nil
	}
	if !w.lab.HasDrivers() {
		w.errorPage(rw, r, http.StatusServiceUnavailable, "This server runs without a driver registry.")
		return nil
	}
	return u
}

func (w *Web) driverDone(rw http.ResponseWriter, r *http.Request, u *model.User, what string, info DriverInfo, err error) {
	if err != nil {
		w.errorPage(rw, r, http.StatusBadRequest, what+" refused: "+err.Error())
		return
	}
	redirect(rw, r, "/drivers?flash="+url.QueryEscape(fmt.Sprintf("%s: %s %s (%s) is active.", what, info.Name, info.Version, shortSHA(info.SHA256))))
}

func (w *Web) driverActivate(rw http.ResponseWriter, r *http.Request) {
	u := w.adminPost(rw, r, 1<<14)
	if u == nil {
		return
	}
	info, err := w.lab.ActivateDriver(r.Context(), caller(r.Context()), r.PostFormValue("name"), r.PostFormValue("sha256"))
	w.driverDone(rw, r, u, "Activate", info, err)
}

func (w *Web) driverRollback(rw http.ResponseWriter, r *http.Request) {
	u := w.adminPost(rw, r, 1<<14)
	if u == nil {
		return
	}
	info, err := w.lab.RollbackDriver(r.Context(), caller(r.Context()), r.PostFormValue("name"))
	w.driverDone(rw, r, u, "Roll back", info, err)
}

// MaxDriverUpload is the largest driver module accepted from the page.
const MaxDriverUpload = 64 << 20

func (w *Web) driverUpload(rw http.ResponseWriter, r *http.Request) {
	u := w.adminPost(rw, r, MaxDriverUpload)
	if u == nil {
		return
	}
	f, hdr, err := r.FormFile("module")
	if err != nil {
		w.errorPage(rw, r, http.StatusBadRequest, "Choose a .wasm module to upload: "+err.Error())
		return
	}
	defer f.Close()
	buf, err := io.ReadAll(io.LimitReader(f, MaxDriverUpload))
	if err != nil {
		w.errorPage(rw, r, http.StatusBadRequest, "Reading the upload: "+err.Error())
		return
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	if name == "" {
		name = strings.TrimSuffix(hdr.Filename, ".wasm")
	}
	info, err := w.lab.InstallDriver(r.Context(), caller(r.Context()), name, buf)
	w.driverDone(rw, r, u, "Upload", info, err)
}
