package workerserver

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/lavalab/lavalab/core/workerproto"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/lavalab/lavalab/core/auth"
	"github.com/lavalab/lavalab/core/lavatemplate"
	"github.com/lavalab/lavalab/core/metrics"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/multinode"
	"github.com/lavalab/lavalab/core/store"
)

// Defaults of ServerOptions.
const (
	MaxPollWait       = 60 * time.Second
	DefaultSilent     = 60 * time.Second
	DefaultGrace      = 5 * time.Minute
	DefaultCheckEvery = 10 * time.Second
	// OrphanAfter is how long a Running job may go unlisted by its
	// (talking) worker before it is ended as lost.
	OrphanAfter = 10 * time.Second
)

// ServerOptions configure a Server.
type ServerOptions struct {
	// Store must also implement store.WorkerProto (both backends do).
	Store store.Store
	// Multinode coordinates multinode groups (issue 21); nil answers the
	// multinode routes 501.
	Multinode *multinode.Coordinator
	Logger    *slog.Logger
	// Version is the server's version; a worker of another version is
	// set Offline and starts no job.
	Version string
	// PollWait is how long a poll is held when there is nothing to do.
	PollWait time.Duration
	// Silent is how long a worker may stay silent before it goes Offline
	// (its devices' health becomes Unknown).
	Silent time.Duration
	// Grace is how long after going Offline its unfinished jobs are ended
	// Incomplete (Infrastructure).
	Grace time.Duration
	// CheckEvery is the liveness monitor's period (it also checks the
	// job timeouts).
	CheckEvery time.Duration
	// JobGrace is how long past its job timeout (timeouts.job, counted
	// from its start) a Running job may go without its worker's end report
	// before the server ends it Incomplete and frees its device (default
	// DefaultJobGrace).
	JobGrace time.Duration
	// BinariesDir holds the worker builds served for auto-upgrade:
	// lava-worker-GOOS-GOARCH, or lava-worker for the server's own
	// platform. "" serves none.
	BinariesDir string
	// Now returns the current time (default time.Now).
	Now func() time.Time
	// Observer, if set, is told about ingested logs and started jobs
	// (lava-server passes its *metrics.Metrics).
	Observer Observer
	// Driver, if set, names the driver version with a SHA-256 (false when
	// unknown): sent with each job (StartJob.Driver), and used to explain
	// that a native driver's binary is not served.
	Driver func(sha string) (workerproto.DriverRef, bool)
}

// Observer receives the figures the worker protocol makes. Both methods
// must be cheap and safe for concurrent use.
type Observer interface {
	// ObserveLogs counts records newly stored (not a resend) and the
	// bytes of their messages.
	ObserveLogs(records, bytes int)
	// ObserveJobStarted is called once per job, with the job as it moved
	// to Running (its submit and start times).
	ObserveJobStarted(j model.Job)
}

// ReportObserver is an Observer that also receives each worker's report of
// its spools and host (the fleet view).
type ReportObserver interface {
	ObserveWorkerReport(worker string, r metrics.WorkerReport)
}

// SpoolObserver is an Observer that also receives the state of each
// worker's job spools, reported with every poll (metrics.Metrics is one).
type SpoolObserver interface {
	ObserveWorkerSpool(worker string, failing, held, writeErrors, lost int64)
}

// Server serves the worker protocol and watches workers' liveness.
type Server struct {
	o   ServerOptions
	st  store.Store
	wp  store.WorkerProto
	log *slog.Logger

	wake wakers
	bins binaries

	authMu  sync.Mutex
	workers map[string]cachedWorker // by token hash (hex)
	jobAuth map[int64]cachedJob

	// seen is what this instance observed of each unfinished job (for
	// Observer: a resend is not counted twice).
	seenMu sync.Mutex
	seen   map[int64]jobSeen

	timeouts jobTimeouts
}

type jobSeen struct {
	started bool
	logNext int64 // records acknowledged so far
}

type cachedWorker struct {
	hostname string
	exp      time.Time
}

type cachedJob struct {
	worker string
	hash   []byte
	exp    time.Time
}

// authTTL bounds how long a cached token check is trusted (a rotated
// worker token stops working within it).
const authTTL = 5 * time.Second

// NewServer checks the options and returns the server; call Run to start
// its event listener and liveness monitor, and Mount to serve it.
func NewServer(o ServerOptions) (*Server, error) {
	wp, ok := o.Store.(store.WorkerProto)
	if !ok {
		return nil, fmt.Errorf("worker protocol: the %T store does not implement store.WorkerProto", o.Store)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if o.PollWait <= 0 {
		o.PollWait = workerproto.DefaultPollWait
	}
	if o.Silent <= 0 {
		o.Silent = DefaultSilent
	}
	if o.Grace <= 0 {
		o.Grace = DefaultGrace
	}
	if o.CheckEvery <= 0 {
		o.CheckEvery = DefaultCheckEvery
	}
	if o.JobGrace <= 0 {
		o.JobGrace = DefaultJobGrace
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Server{o: o, st: o.Store, wp: wp, log: o.Logger, bins: binaries{dir: o.BinariesDir},
		workers: map[string]cachedWorker{}, jobAuth: map[int64]cachedJob{}, seen: map[int64]jobSeen{}}, nil
}

// Mount adds /worker/v1/... to r.
func (s *Server) Mount(r chi.Router) {
	r.Route(workerproto.Prefix, func(r chi.Router) {
		r.Get("/openapi.json", serveOpenAPI) // public: the document only
		r.Group(func(r chi.Router) {
			r.Use(s.recoverer, s.authenticate)
			r.Post("/poll", s.poll)
			r.Post("/logs", s.workerLogs)
			r.Get("/drivers/{sha256}", s.driverModule)
			r.Get("/binaries/{goos}/{goarch}", s.binary)
			r.Route("/jobs/{id}", func(r chi.Router) {
				r.Use(s.jobAuthorize)
				r.Post("/start", s.start)
				r.Post("/logs", s.logs)
				r.Post("/end", s.end)
				s.mountMultinode(r) // issue 21: multinode.go
			})
		})
	})
}

// Run listens for the events that wake polling workers and runs the
// liveness monitor until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	evs, err := s.st.Subscribe(ctx, store.TopicJobScheduled, store.TopicJobCanceling)
	if err != nil {
		return fmt.Errorf("worker protocol: subscribing to job events: %w", err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for ev := range evs {
			s.wake.notify(ev.Key)
		}
	})
	tick := time.NewTicker(s.o.CheckEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return nil
		case <-tick.C:
			if err := s.CheckLiveness(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("worker liveness check failed", "err", err)
			}
			if err := s.CheckJobTimeouts(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("job timeout check failed", "err", err)
			}
		}
	}
}

// ---- wakers: one channel per polling worker, closed on its events ----

type wakers struct {
	mu sync.Mutex
	ch map[string]chan struct{}
}

// waiter returns a channel closed at the worker's next event.
func (w *wakers) waiter(worker string) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ch == nil {
		w.ch = map[string]chan struct{}{}
	}
	c, ok := w.ch[worker]
	if !ok {
		c = make(chan struct{})
		w.ch[worker] = c
	}
	return c
}

func (w *wakers) notify(worker string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c, ok := w.ch[worker]; ok {
		close(c)
		delete(w.ch, worker)
	}
}

// ---- helpers ----

type ctxKey int

const (
	workerKey ctxKey = iota
	jobKey
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(workerproto.ErrorBody{Error: workerproto.ErrorInfo{Code: "internal", Message: "encoding the answer: " + err.Error()}})
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, status int, code, msg string, d *workerproto.ErrorDetail) {
	writeJSON(w, status, workerproto.ErrorBody{Error: workerproto.ErrorInfo{Code: code, Message: msg, Details: d}})
}

func (s *Server) internal(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("worker protocol: internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	writeError(w, http.StatusInternalServerError, "internal", "internal server error (logged on the server)", nil)
}

func (s *Server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			rec := recover()
			if rec == nil {
				return
			}
			if rec == http.ErrAbortHandler { //nolint:errorlint // sentinel compared as net/http does
				panic(rec)
			}
			s.log.Error("worker protocol: panic in handler", "path", r.URL.Path, "panic", rec)
			writeError(w, http.StatusInternalServerError, "internal", "internal server error", nil)
		}()
		next.ServeHTTP(w, r)
	})
}

// readBody reads a size-limited request body; false means an answer was
// written.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	var b []byte
	var err error
	if n := r.ContentLength; n > 0 && n <= limit {
		// Read into one buffer of the announced size: a worker's log
		// request is a few MB, and growing a buffer to that (io.ReadAll)
		// was a tenth of the server's CPU at 1,000 jobs (bench/logingest).
		b = make([]byte, n)
		_, err = io.ReadFull(http.MaxBytesReader(w, r.Body, limit), b)
	} else {
		b, err = io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("request body is over the %d bytes limit", mbe.Limit), nil)
			return nil, false
		}
		writeError(w, http.StatusBadRequest, workerproto.CodeBadRequest, "reading the request body: "+err.Error(), nil)
		return nil, false
	}
	return b, true
}

// decode reads a size-limited JSON body into v; false means an answer was
// written.
func decode(w http.ResponseWriter, r *http.Request, limit int64, v any) bool {
	b, ok := readBody(w, r, limit)
	if !ok {
		return false
	}
	if err := json.Unmarshal(b, v); err != nil {
		writeError(w, http.StatusBadRequest, workerproto.CodeBadRequest, "invalid JSON body: "+err.Error(), nil)
		return false
	}
	return true
}

// authenticate checks the worker token and the version header.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret, err := auth.FromHeader(r.Header.Get("Authorization"))
		if err != nil {
			writeError(w, http.StatusUnauthorized, workerproto.CodeUnauthorized, "worker token required: send Authorization: Token <worker token> (make one with: lava-server worker add NAME)", nil)
			return
		}
		if r.Header.Get(workerproto.HeaderVersion) == "" {
			writeError(w, http.StatusBadRequest, workerproto.CodeBadRequest, "missing "+workerproto.HeaderVersion+" header: every worker request carries the worker's version", nil)
			return
		}
		host, err := s.workerByToken(r.Context(), secret)
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusUnauthorized, workerproto.CodeUnauthorized, "invalid worker token: no worker has it (it may have been replaced with: lava-server worker token NAME)", nil)
			return
		}
		if err != nil {
			s.internal(w, r, err)
			return
		}
		if n := r.Header.Get(workerproto.HeaderName); n != "" && n != host {
			writeError(w, http.StatusUnauthorized, workerproto.CodeUnauthorized, fmt.Sprintf("this token is worker %q's, not %q's: check --name and --token-file", host, n), nil)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), workerKey, host)))
	})
}

func (s *Server) workerByToken(ctx context.Context, secret string) (string, error) {
	hash := auth.Hash(secret)
	key := hex.EncodeToString(hash)
	now := s.o.Now()
	s.authMu.Lock()
	c, ok := s.workers[key]
	s.authMu.Unlock()
	if ok && now.Before(c.exp) {
		return c.hostname, nil
	}
	wk, err := s.st.WorkerByTokenHash(ctx, hash)
	if err != nil {
		return "", err
	}
	// The store matched by hash; compare once more in constant time.
	if !auth.Equal(secret, wk.TokenHash) {
		return "", store.ErrNotFound
	}
	s.authMu.Lock()
	if len(s.workers) > 10000 {
		clear(s.workers)
	}
	s.workers[key] = cachedWorker{hostname: wk.Hostname, exp: now.Add(authTTL)}
	s.authMu.Unlock()
	return wk.Hostname, nil
}

func workerFrom(ctx context.Context) string { s, _ := ctx.Value(workerKey).(string); return s }
func jobFrom(ctx context.Context) int64     { id, _ := ctx.Value(jobKey).(int64); return id }

// jobAuthorize checks the per-job token and that the job is the worker's.
func (s *Server) jobAuthorize(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(chi.URLParam(r, "id"), 10, 64)
		if err != nil || id <= 0 {
			writeError(w, http.StatusBadRequest, workerproto.CodeBadRequest, fmt.Sprintf("job id %q is not a positive integer", chi.URLParam(r, "id")), nil)
			return
		}
		token := r.Header.Get(workerproto.HeaderJobToken)
		if token == "" {
			writeError(w, http.StatusForbidden, workerproto.CodeJobToken, "missing "+workerproto.HeaderJobToken+" header: job requests carry the job's token from the poll answer", nil)
			return
		}
		worker := workerFrom(r.Context())
		ok, err := s.checkJobToken(r.Context(), id, worker, token)
		if errors.Is(err, store.ErrNotFound) {
			writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("job %d not found", id), nil)
			return
		}
		if err != nil {
			s.internal(w, r, err)
			return
		}
		if !ok {
			writeError(w, http.StatusForbidden, workerproto.CodeJobToken, fmt.Sprintf("job %d: wrong job token, or the job is not worker %q's", id, worker), nil)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), jobKey, id)))
	})
}

func (s *Server) checkJobToken(ctx context.Context, id int64, worker, token string) (bool, error) {
	now := s.o.Now()
	s.authMu.Lock()
	c, ok := s.jobAuth[id]
	s.authMu.Unlock()
	if ok && now.Before(c.exp) && c.worker == worker && auth.Equal(token, c.hash) {
		return true, nil
	}
	j, err := s.st.Job(ctx, store.System(), id)
	if err != nil {
		return false, err
	}
	if j.Worker != worker || len(j.TokenHash) == 0 || !auth.Equal(token, j.TokenHash) {
		return false, nil
	}
	s.authMu.Lock()
	if len(s.jobAuth) > 100000 {
		clear(s.jobAuth)
	}
	s.jobAuth[id] = cachedJob{worker: worker, hash: j.TokenHash, exp: now.Add(authTTL)}
	s.authMu.Unlock()
	return true, nil
}

// newJobToken makes a per-job token: the secret for the worker, the hash
// to store.
func newJobToken() (string, []byte) {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	secret := "lavaj_" + base64.RawURLEncoding.EncodeToString(b)
	return secret, auth.Hash(secret)
}

// ---- poll ----

func (s *Server) poll(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	host := workerFrom(ctx)
	ver := r.Header.Get(workerproto.HeaderVersion)
	var req workerproto.PollRequest
	if !decode(w, r, 1<<20, &req) {
		return
	}
	if so, ok := s.o.Observer.(SpoolObserver); ok && req.Spool != nil {
		so.ObserveWorkerSpool(host, req.Spool.Failing, req.Spool.Held, req.Spool.WriteErrors, req.Spool.Lost)
	}
	if ro, ok := s.o.Observer.(ReportObserver); ok && req.Spool != nil {
		rep := metrics.WorkerReport{At: s.o.Now(), SpoolFailing: req.Spool.Failing, SpoolHeld: req.Spool.Held, SpoolLost: req.Spool.Lost,
			SpoolBacklogRecords: req.Spool.BacklogRecords, SpoolBacklogBytes: req.Spool.BacklogBytes}
		if h := req.Host; h != nil {
			rep.HasHost = true
			rep.DiskFreeBytes, rep.JobsRunning = h.DiskFreeBytes, h.JobsRunning
			rep.ArtifactCacheBytes, rep.ArtifactCacheHits, rep.ArtifactCacheMisses = h.ArtifactCacheBytes, h.ArtifactCacheHits, h.ArtifactCacheMisses
		}
		ro.ObserveWorkerReport(host, rep)
	}
	if req.Spool != nil && (req.Spool.Failing > 0 || req.Spool.Lost > 0) {
		s.log.Warn("worker's job spools are failing: its disk refuses log records", "worker", host,
			"failing_jobs", req.Spool.Failing, "held_records", req.Spool.Held, "lost_records", req.Spool.Lost)
	}
	wait := s.o.PollWait
	if req.WaitMS > 0 {
		wait = min(time.Duration(req.WaitMS)*time.Millisecond, MaxPollWait)
	}
	mismatch := ver != s.o.Version
	now := s.o.Now()
	wk, err := s.st.UpdateWorker(ctx, host, func(wk *model.Worker) error {
		wk.LastPing = now
		wk.Version = ver
		switch {
		case mismatch:
			wk.State = model.WorkerOffline
		case wk.State == model.WorkerOffline:
			wk.State = model.WorkerOnline
		}
		return nil
	})
	if err != nil {
		s.internal(w, r, fmt.Errorf("recording the poll of worker %q: %w", host, err))
		return
	}
	if mismatch {
		s.log.Warn("worker version mismatch: worker set Offline, no new job starts on it",
			"worker", host, "worker_version", ver, "server_version", s.o.Version, "state", wk.State)
	}
	listed := map[int64]bool{}
	for _, id := range req.Running {
		listed[id] = true
	}
	canceling := map[int64]bool{}
	for _, id := range req.Canceling {
		canceling[id] = true
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for first := true; ; first = false {
		woken := s.wake.waiter(host)
		ans, busy, err := s.answer(ctx, host, ver, listed, canceling, mismatch, first)
		if err != nil {
			if ctx.Err() != nil {
				stopping(w)
				return
			}
			s.internal(w, r, err)
			return
		}
		if mismatch && !busy {
			writeError(w, http.StatusConflict, workerproto.CodeSafeToStop,
				fmt.Sprintf("version mismatch: worker %q runs %q, the server %q; the worker runs no job: safe to stop and upgrade", host, ver, s.o.Version),
				&workerproto.ErrorDetail{ServerVersion: s.o.Version, Binaries: s.bins.index(s.log)})
			return
		}
		if len(ans.Start) > 0 || len(ans.Cancel) > 0 {
			writeJSON(w, http.StatusOK, ans)
			return
		}
		select {
		case <-woken:
		case <-timer.C:
			writeJSON(w, http.StatusOK, ans)
			return
		case <-ctx.Done():
			stopping(w)
			return
		}
	}
}

// stopping ends a held poll whose context ended: the server is stopping (its
// base context is canceled) or the worker went away, and then nobody reads
// the answer. Without it net/http would send an empty 200 answer, which the
// worker cannot decode.
func stopping(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	writeError(w, http.StatusServiceUnavailable, workerproto.CodeStopping, "the server is stopping: poll again", nil)
}

// answer builds a poll answer from the worker's unfinished jobs. busy says
// whether the worker still has a job running (or reporting). Orphans (jobs
// the server thinks Running that the worker does not list) are ended on
// the first pass only: a poll held for a while may carry a stale list.
func (s *Server) answer(ctx context.Context, host, ver string, listed, canceling map[int64]bool, mismatch, first bool) (workerproto.PollAnswer, bool, error) {
	ans := workerproto.PollAnswer{Start: []workerproto.StartJob{}, Cancel: []int64{}, ServerVersion: s.o.Version}
	jobs, err := s.wp.WorkerJobs(ctx, host)
	if err != nil {
		return ans, false, err
	}
	busy := len(listed) > 0
	seen := map[int64]bool{}
	now := s.o.Now()
	for _, j := range jobs {
		seen[j.ID] = true
		switch {
		case j.State == model.JobScheduled && !listed[j.ID]:
			if mismatch {
				s.endJob(ctx, j.ID, "Infrastructure", fmt.Sprintf("worker %s runs version %s, the server %s: the job was not started", host, ver, s.o.Version))
				continue
			}
			sj, err := s.startEntry(ctx, j)
			if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
				continue // canceled meanwhile
			}
			if err != nil {
				return ans, false, err
			}
			ans.Start = append(ans.Start, sj)
		case !listed[j.ID]: // Running or Canceling, unknown to the worker
			if first && now.Sub(j.StartTime) > OrphanAfter {
				s.endJob(ctx, j.ID, "Infrastructure", fmt.Sprintf("worker %s no longer runs the job (it restarted or lost it)", host))
				continue
			}
			busy = true
		case j.State == model.JobCanceling && !canceling[j.ID]:
			ans.Cancel = append(ans.Cancel, j.ID)
		}
	}
	for id := range listed {
		if !seen[id] && !canceling[id] {
			ans.Cancel = append(ans.Cancel, id) // finished by the server, or not this worker's
		}
	}
	return ans, busy, nil
}

// startEntry gives a Scheduled job a fresh token and builds its start
// entry.
func (s *Server) startEntry(ctx context.Context, j model.Job) (workerproto.StartJob, error) {
	if j.ActualDevice == "" && j.TargetGroup != "" {
		return s.connectionEntry(ctx, j) // issue 21
	}
	dev, err := s.st.Device(ctx, j.ActualDevice)
	if err != nil {
		return workerproto.StartJob{}, fmt.Errorf("device %q of job %d: %w", j.ActualDevice, j.ID, err)
	}
	settings := j.Settings
	dt, err := s.st.DeviceType(ctx, dev.DeviceType)
	if err != nil {
		return workerproto.StartJob{}, fmt.Errorf("device type %q of job %d: %w", dev.DeviceType, j.ID, err)
	}
	// Issue 16: the scheduler evaluated an imported template over the
	// dictionary; the worker must not layer the dictionary again.
	final := settings != nil && dt.Template != ""
	if settings == nil {
		dt, err := s.st.DeviceType(ctx, dev.DeviceType)
		if err != nil {
			return workerproto.StartJob{}, fmt.Errorf("device type %q of job %d: %w", dev.DeviceType, j.ID, err)
		}
		settings = dt.Settings
	}
	secret, hash := newJobToken()
	if err := s.wp.SetJobToken(ctx, j.ID, hash); err != nil {
		return workerproto.StartJob{}, err
	}
	s.authMu.Lock()
	delete(s.jobAuth, j.ID)
	s.authMu.Unlock()
	sj := workerproto.StartJob{ID: j.ID, Token: secret, Definition: j.Definition, Device: dev.Hostname, DeviceType: dev.DeviceType,
		Dictionary: dev.Dictionary, Settings: settings, DriverSHA256: j.DriverSHA256, HealthCheck: j.HealthCheck,
		SettingsFinal: final}
	if n := lavatemplate.DriverName(dt.Name, dt.Driver); n != dt.Name {
		sj.DriverName = n
	}
	if j.DriverSHA256 != "" && s.o.Driver != nil {
		if ref, ok := s.o.Driver(j.DriverSHA256); ok {
			sj.Driver = &ref
		}
	}
	return sj, nil
}

// endJob ends a job Incomplete with an infrastructure error (the server's
// own decision: lost worker, version mismatch).
func (s *Server) endJob(ctx context.Context, id int64, errType, msg string) {
	_, err := s.st.FinishJob(ctx, id, store.JobResult{Health: model.JobIncomplete, ErrorType: errType, FailureComment: msg})
	switch {
	case err == nil:
		s.log.Warn("job ended by the server", "job", id, "health", model.JobIncomplete, "reason", msg)
	case errors.Is(err, store.ErrConflict):
	default:
		s.log.Error("ending a job", "job", id, "err", err)
	}
}

// ---- job-scoped calls ----

func (s *Server) start(w http.ResponseWriter, r *http.Request) {
	id := jobFrom(r.Context())
	j, err := s.st.StartJob(r.Context(), id)
	if errors.Is(err, store.ErrConflict) {
		writeError(w, http.StatusConflict, workerproto.CodeJobFinished, fmt.Sprintf("job %d cannot start: it is %s", id, j.State), nil)
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if s.o.Observer != nil && s.markSeen(id, func(js *jobSeen) bool { was := js.started; js.started = true; return !was }) {
		s.o.Observer.ObserveJobStarted(j)
	}
	writeJSON(w, http.StatusOK, map[string]string{"state": j.State.String()})
}

// markSeen updates what this instance saw of a job; f's answer is
// returned.
func (s *Server) markSeen(id int64, f func(*jobSeen) bool) bool {
	s.seenMu.Lock()
	defer s.seenMu.Unlock()
	if len(s.seen) > 100000 {
		clear(s.seen) // jobs ended while this instance did not see their end
	}
	js := s.seen[id]
	ok := f(&js)
	s.seen[id] = js
	return ok
}

// observeLogs counts the records of batch b (first index first) that
// this append stored: those at or past the acknowledged index this
// instance knows (a restarted server counts a resend once more).
func (s *Server) observeLogs(id, first int64, recs []model.LogRecord, next int64) {
	if s.o.Observer == nil {
		return
	}
	var from int64
	s.markSeen(id, func(js *jobSeen) bool {
		from = max(first, js.logNext)
		js.logNext = max(js.logNext, next)
		return true
	})
	n, bytes := 0, 0
	for i := from - first; i < int64(len(recs)) && first+i < next; i++ {
		n++
		bytes += len(recs[i].Message)
	}
	s.o.Observer.ObserveLogs(n, bytes)
}

func (s *Server) logs(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := jobFrom(ctx)
	body, ok := readBody(w, r, workerproto.MaxBodyBytes)
	if !ok {
		return
	}
	b, _, err := readLogBatch(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, workerproto.CodeBadRequest, "invalid JSON body: "+err.Error(), nil)
		return
	}
	next, status, refused, err := s.appendBatch(ctx, id, b)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if refused != nil {
		writeError(w, status, refused.Code, refused.Message, refused.Details)
		return
	}
	writeJSON(w, http.StatusOK, workerproto.LogAck{Next: next})
}

// appendBatch stores job id's batch b: the next record index the server
// expects, or the refusal the worker gets (with its HTTP status), or an
// internal error.
func (s *Server) appendBatch(ctx context.Context, id int64, b workerproto.LogBatch) (next int64, status int, refused *workerproto.ErrorInfo, err error) {
	bad := func(msg string) (int64, int, *workerproto.ErrorInfo, error) {
		return 0, http.StatusBadRequest, &workerproto.ErrorInfo{Code: workerproto.CodeBadRequest, Message: msg}, nil
	}
	if b.First < 0 {
		return bad(fmt.Sprintf("first %d: a record index is >= 0", b.First))
	}
	if len(b.Records) > workerproto.MaxBatchRecords {
		return bad(fmt.Sprintf("%d records: a batch carries at most %d", len(b.Records), workerproto.MaxBatchRecords))
	}
	recs := make([]model.LogRecord, len(b.Records))
	for i, rec := range b.Records {
		var err error
		if recs[i], err = workerproto.FromRecord(b.First+int64(i), rec); err != nil {
			return bad("log batch: " + err.Error())
		}
	}
	next, err = s.st.AppendLogs(ctx, id, b.First, recs)
	if errors.Is(err, store.ErrConflict) {
		n, cerr := s.st.LogCount(ctx, id)
		if cerr != nil {
			return 0, 0, nil, cerr
		}
		return 0, http.StatusConflict, &workerproto.ErrorInfo{Code: workerproto.CodeLogGap,
			Message: fmt.Sprintf("job %d: batch starts at record %d, the next expected record is %d: resend from there", id, b.First, n),
			Details: &workerproto.ErrorDetail{Expected: &n}}, nil
	}
	if err != nil {
		return 0, 0, nil, err
	}
	s.observeLogs(id, b.First, recs, next)
	return next, http.StatusOK, nil, nil
}

func (s *Server) end(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := jobFrom(ctx)
	var rep workerproto.EndReport
	if !decode(w, r, workerproto.MaxBodyBytes, &rep) {
		return
	}
	health, err := model.ParseJobHealth(rep.Health)
	if err != nil || health == model.JobUnknown {
		writeError(w, http.StatusBadRequest, workerproto.CodeBadRequest, fmt.Sprintf("health %q: want complete, incomplete or canceled", rep.Health), nil)
		return
	}
	if rep.LastIndex < -1 {
		writeError(w, http.StatusBadRequest, workerproto.CodeBadRequest, fmt.Sprintf("last_index %d: want -1 (no record) or more", rep.LastIndex), nil)
		return
	}
	cases := make([]model.TestCase, len(rep.Cases))
	for i, c := range rep.Cases {
		if cases[i], err = workerproto.FromCase(c); err != nil {
			writeError(w, http.StatusBadRequest, workerproto.CodeBadRequest, "end report: "+err.Error(), nil)
			return
		}
	}
	n, err := s.st.LogCount(ctx, id)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	if n < rep.LastIndex+1 {
		writeError(w, http.StatusConflict, workerproto.CodeLogsMissing,
			fmt.Sprintf("job %d ends at record %d but only records 0..%d arrived: send records from %d first", id, rep.LastIndex, n-1, n),
			&workerproto.ErrorDetail{Expected: &n})
		return
	}
	j, err := s.wp.EndJob(ctx, id, store.JobResult{Health: health, ErrorType: rep.ErrorType, FailureComment: rep.Error}, cases)
	if errors.Is(err, store.ErrConflict) {
		// Already finished (a resent report, or the server ended it): the
		// report is acknowledged, nothing more is stored.
		if j, err = s.st.Job(ctx, store.System(), id); err != nil {
			s.internal(w, r, err)
			return
		}
	} else if err != nil {
		if errors.Is(err, store.ErrInvalid) {
			writeError(w, http.StatusBadRequest, workerproto.CodeBadRequest, "end report: "+err.Error(), nil)
			return
		}
		s.internal(w, r, err)
		return
	}
	s.authMu.Lock()
	delete(s.jobAuth, id)
	s.authMu.Unlock()
	s.seenMu.Lock()
	delete(s.seen, id)
	s.seenMu.Unlock()
	writeJSON(w, http.StatusOK, workerproto.EndAck{Health: j.Health.String()})
}

// ---- modules and binaries ----

func (s *Server) driverModule(w http.ResponseWriter, r *http.Request) {
	sha := chi.URLParam(r, "sha256")
	if b, err := hex.DecodeString(sha); err != nil || len(b) != 32 {
		writeError(w, http.StatusBadRequest, workerproto.CodeBadRequest, fmt.Sprintf("%q is not a hex SHA-256", sha), nil)
		return
	}
	data, err := s.st.DriverModule(r.Context(), sha)
	if errors.Is(err, store.ErrNotFound) {
		msg := fmt.Sprintf("driver module %s is not stored on the server", sha)
		if ref, ok := s.nativeDriver(sha); ok {
			msg = fmt.Sprintf("driver %s %s (sha256 %s) is a native driver: the server does not send native binaries; "+
				"the worker's admin installs the binary and lists it in lava-worker --native-drivers", ref.Name, ref.Version, sha)
		}
		writeError(w, http.StatusNotFound, "not_found", msg, nil)
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/wasm")
	w.Header().Set(workerproto.HeaderSHA256, sha)
	_, _ = w.Write(data)
}

// nativeDriver names the native driver with SHA-256 sha, if it is one.
func (s *Server) nativeDriver(sha string) (workerproto.DriverRef, bool) {
	if s.o.Driver == nil {
		return workerproto.DriverRef{}, false
	}
	ref, ok := s.o.Driver(sha)
	return ref, ok && ref.Kind == "native"
}

func (s *Server) binary(w http.ResponseWriter, r *http.Request) {
	goos, goarch := chi.URLParam(r, "goos"), chi.URLParam(r, "goarch")
	b, ok := s.bins.get(goos, goarch)
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", fmt.Sprintf("the server has no lava-worker build for %s/%s (put lava-worker-%s-%s in its --worker-binaries directory)", goos, goarch, goos, goarch), nil)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set(workerproto.HeaderSHA256, b.sha)
	w.Header().Set(workerproto.HeaderBuildVersion, s.o.Version)
	w.Header().Set("Content-Length", strconv.Itoa(len(b.data)))
	_, _ = w.Write(b.data)
}
