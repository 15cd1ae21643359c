package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/lavalab/lavalab/core/workerproto"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lavalab/lavalab/core/model"
)

// Sink receives a job's log records in order (dispatch.Sink has the same
// method).
type Sink interface {
	Record(rec model.LogRecord)
}

// Outcome is how a job ended on the worker.
type Outcome struct {
	Health    model.JobHealth
	ErrorType string
	Error     string
	Cases     []model.TestCase
}

// Runner runs one job on its device: lava-worker's is the dispatcher.
// Cancelling ctx cancels the job (the runner powers the board off and
// returns Canceled).
type Runner interface {
	Run(ctx context.Context, job workerproto.StartJob, sink Sink) Outcome
}

// WorkerOptions configure a Worker.
type WorkerOptions struct {
	Client *Client
	// WorkDir holds the job spools (<WorkDir>/jobs/<id>/).
	WorkDir string
	Runner  Runner
	Logger  *slog.Logger
	// PollWait is how long the server may hold a poll (default 25 s).
	PollWait time.Duration
	// LogInterval is how long records gather before a batch is sent
	// (default 200 ms); a batch also goes when BatchSize records wait.
	LogInterval time.Duration
	BatchSize   int
	// RetryMin and RetryMax bound the back-off after a failed request
	// (defaults 500 ms and 5 s).
	RetryMin, RetryMax time.Duration
	// MismatchRetry is how often a worker of the wrong version asks again
	// when it neither exits nor upgrades (default 60 s).
	MismatchRetry time.Duration
	// ExitOnVersionMismatch makes Run return ErrSafeToStop on the
	// server's "safe to stop" answer.
	ExitOnVersionMismatch bool
	// AutoUpgrade fetches the server's worker build on "safe to stop",
	// replaces the running executable and re-executes it.
	AutoUpgrade bool
	// ShutdownGrace is how long jobs get, once the worker is stopping, to
	// stop and report their end (default DefaultShutdownGrace). Run
	// returns at most ShutdownGrace + StopBound after its context ends,
	// whatever the jobs do: what is unreported resumes at the next start.
	ShutdownGrace time.Duration
}

// Recoverer is implemented by a Runner that can make a device safe after
// a job that a previous run of the worker left unfinished (killed, or the
// host rebooted): lava-worker's powers the board off with the device
// dictionary's power_off_command and removes the job's folders. The
// worker calls it at start, before it reports the job's end (which hands
// the device back to the scheduler); its log goes to the job's log.
type Recoverer interface {
	Recover(ctx context.Context, job workerproto.StartJob, sink Sink) error
}

// ErrSafeToStop is returned by Run with ExitOnVersionMismatch when the
// server says the worker may stop for an upgrade.
var ErrSafeToStop = errors.New("version mismatch: safe to stop and upgrade")

// Worker is lava-worker's runtime.
type Worker struct {
	o   WorkerOptions
	log *slog.Logger

	runCtx, repCtx context.Context // set by Run

	mu   sync.Mutex
	jobs map[int64]*job
	wg   sync.WaitGroup

	spoolStats spoolStats
	host       hostProbe
	ship       *logShipper // the jobs' log batches, a request for many jobs (logship.go)
	// lastContact is the Unix time (ns) of the last poll the server
	// answered (0: none yet); reachable says whether the last poll got
	// an answer.
	lastContact atomic.Int64
	reachable   atomic.Bool
}

// HostStatus returns the host figures the worker reports (measured at
// most every 10 s).
func (w *Worker) HostStatus() workerproto.HostStatus { return w.host.get(w) }

// Reachable reports whether the server answered the last poll, and when
// it last answered one (zero: never).
func (w *Worker) Reachable() (bool, time.Time) {
	var at time.Time
	if ns := w.lastContact.Load(); ns != 0 {
		at = time.Unix(0, ns)
	}
	return w.reachable.Load(), at
}

// DefaultShutdownGrace is how long jobs get by default to stop and report
// their end when the worker stops.
const DefaultShutdownGrace = 15 * time.Second

// StopBound is how long Run waits after ShutdownGrace for the jobs'
// reports to give up before it returns anyway.
const StopBound = 3 * time.Second

type job struct {
	start     workerproto.StartJob
	dir       string
	sp        *spool
	cancel    context.CancelFunc
	canceling bool
}

// NewWorker checks the options.
func NewWorker(o WorkerOptions) (*Worker, error) {
	if o.Client == nil || o.Runner == nil || o.WorkDir == "" {
		return nil, errors.New("worker: Client, Runner and WorkDir are required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.PollWait <= 0 {
		o.PollWait = workerproto.DefaultPollWait
	}
	if o.LogInterval <= 0 {
		o.LogInterval = 200 * time.Millisecond
	}
	if o.BatchSize <= 0 || o.BatchSize > workerproto.MaxBatchRecords {
		o.BatchSize = 2000
	}
	if o.RetryMin <= 0 {
		o.RetryMin = 500 * time.Millisecond
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = max(5*time.Second, o.RetryMin)
	}
	if o.MismatchRetry <= 0 {
		o.MismatchRetry = 60 * time.Second
	}
	if o.ShutdownGrace <= 0 {
		o.ShutdownGrace = DefaultShutdownGrace
	}
	if err := os.MkdirAll(filepath.Join(o.WorkDir, "jobs"), 0o700); err != nil {
		return nil, fmt.Errorf("worker: work dir: %w", err)
	}
	return &Worker{o: o, log: o.Logger, jobs: map[int64]*job{}, ship: &logShipper{c: o.Client}}, nil
}

func nowUTC() time.Time { return time.Now().UTC() }

// sleep waits d or until ctx ends; false means ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Run resumes the jobs a previous run left on disk (their logs are resent,
// then their end is reported), then polls until ctx ends. Jobs keep their
// own contexts: when ctx ends, running jobs are canceled and Run waits for
// them to report what they can.
func (w *Worker) Run(ctx context.Context) error {
	// Jobs run under runCtx and report under repCtx: on shutdown jobs are
	// canceled first and get ShutdownGrace to report their end.
	runCtx, cancelRuns := context.WithCancel(context.WithoutCancel(ctx))
	repCtx, cancelReps := context.WithCancel(context.WithoutCancel(ctx))
	w.runCtx, w.repCtx = runCtx, repCtx
	defer func() {
		cancelRuns()
		done := make(chan struct{})
		go func() { w.wg.Wait(); close(done) }()
		select {
		case <-done:
			return
		case <-time.After(w.o.ShutdownGrace):
			w.log.Warn("jobs still running or reporting at shutdown: they resume at the next start", "jobs", w.Jobs())
		}
		cancelReps()
		select {
		case <-done:
		case <-time.After(StopBound):
			// A runner that ignores its cancel (a stuck driver or
			// command) must not keep the worker from stopping.
			w.log.Error("jobs did not stop: exiting without them; they end at the next start", "jobs", w.Jobs())
		}
	}()
	if err := w.resume(repCtx); err != nil {
		return err
	}
	backoff := w.o.RetryMin
	for ctx.Err() == nil {
		running, canceling := w.lists()
		sst, hst := w.SpoolStatus(), w.HostStatus()
		ans, err := w.o.Client.Poll(ctx, workerproto.PollRequest{Running: running, Canceling: canceling, Spool: &sst, Host: &hst}, w.o.PollWait)
		// Any answer from the server (an error it sends too) says it is
		// reachable; a transport error or an unavailable server does not.
		var perr *Error
		if err == nil || (errors.As(err, &perr) && !Unavailable(err)) {
			w.reachable.Store(true)
			w.lastContact.Store(time.Now().UnixNano())
		} else if ctx.Err() == nil {
			w.reachable.Store(false)
		}
		if err == nil {
			backoff = w.o.RetryMin
			w.handle(ans)
			continue
		}
		if ctx.Err() != nil {
			break
		}
		var e *Error
		switch {
		case ErrorCode(err) == workerproto.CodeSafeToStop:
			errors.As(err, &e)
			w.log.Warn("the server runs another version and this worker runs no job: safe to stop and upgrade",
				"worker_version", w.o.Client.Version, "server_version", serverVersion(e.Details))
			if w.o.AutoUpgrade {
				if uerr := w.upgrade(ctx, e.Details); uerr != nil {
					w.log.Error("auto-upgrade failed", "err", uerr)
				}
			}
			if w.o.ExitOnVersionMismatch {
				return ErrSafeToStop
			}
			if !sleep(ctx, w.o.MismatchRetry) {
				return nil
			}
		case errors.As(err, &e) && e.Status == http.StatusUnauthorized:
			w.log.Error("the server refuses this worker's token; check --token-file (lava-server worker token NAME makes a new one)", "err", err)
			if !sleep(ctx, max(w.o.RetryMax, 10*time.Second)) {
				return nil
			}
		case Unavailable(err):
			// A server that stops or restarts: reconnect, no alarm.
			w.log.Info("the server is unavailable (stopping or restarting); reconnecting", "err", err, "in", backoff)
			if !sleep(ctx, backoff) {
				return nil
			}
			backoff = min(backoff*2, w.o.RetryMax)
		default:
			w.log.Warn("poll failed; retrying", "err", err, "in", backoff)
			if !sleep(ctx, backoff) {
				return nil
			}
			backoff = min(backoff*2, w.o.RetryMax)
		}
	}
	return nil
}

// serverVersion is the server version an error answer names ("" if none).
func serverVersion(d *workerproto.ErrorDetail) string {
	if d == nil {
		return ""
	}
	return d.ServerVersion
}

// lists returns the jobs the worker runs or still reports, and those of
// them it is canceling.
func (w *Worker) lists() (running, canceling []int64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	running, canceling = []int64{}, []int64{}
	for id, j := range w.jobs {
		running = append(running, id)
		if j.canceling {
			canceling = append(canceling, id)
		}
	}
	slices.Sort(running)
	slices.Sort(canceling)
	return running, canceling
}

// Jobs returns the ids of the jobs the worker runs or still reports.
func (w *Worker) Jobs() []int64 { r, _ := w.lists(); return r }

// SpoolStatus says how the job spools fare (records held in memory while
// the disk refuses them, records lost): it goes to the server with every
// poll.
func (w *Worker) SpoolStatus() workerproto.SpoolStatus { return w.spoolStats.status() }

func (w *Worker) openSpool(id int64) (*spool, error) {
	return openSpool(w.jobDir(id), &w.spoolStats, w.log.With("job", id))
}

func (w *Worker) handle(ans workerproto.PollAnswer) {
	for _, sj := range ans.Start {
		w.mu.Lock()
		_, known := w.jobs[sj.ID]
		w.mu.Unlock()
		if known {
			continue
		}
		if err := w.startJob(sj); err != nil {
			w.log.Error("cannot start job", "job", sj.ID, "err", err)
		}
	}
	for _, id := range ans.Cancel {
		w.mu.Lock()
		j, ok := w.jobs[id]
		if ok && !j.canceling {
			j.canceling = true
			j.cancel()
			w.log.Info("job canceled by the server", "job", id)
		}
		w.mu.Unlock()
	}
}

func (w *Worker) jobDir(id int64) string {
	return filepath.Join(w.o.WorkDir, "jobs", strconv.FormatInt(id, 10))
}

// startJob spools the start entry, then runs the job in its goroutine.
func (w *Worker) startJob(sj workerproto.StartJob) error {
	dir := w.jobDir(sj.ID)
	_ = os.RemoveAll(dir) // leftovers of an earlier, acknowledged attempt
	sp, err := w.openSpool(sj.ID)
	if err == nil {
		err = writeJSONFile(filepath.Join(dir, spoolStart), sj)
	}
	if err != nil {
		// A full disk: the job runs all the same, its log in memory (it
		// most likely fails for want of space, which ends it and frees
		// its device, rather than waiting Scheduled for good). A restart
		// before its end loses it; the server then ends it.
		w.log.Error("cannot spool the job on disk: it runs with its log held in memory", "job", sj.ID, "err", err)
		if sp != nil {
			_ = sp.close()
		}
		_ = os.RemoveAll(dir)
		sp = memSpool(dir, &w.spoolStats, w.log.With("job", sj.ID), err)
	}
	jctx, cancel := context.WithCancel(w.runCtx)
	j := &job{start: sj, dir: dir, sp: sp, cancel: cancel}
	w.mu.Lock()
	w.jobs[sj.ID] = j
	w.mu.Unlock()
	w.log.Info("job starting", "job", sj.ID, "device", sj.Device, "device_type", sj.DeviceType)
	w.wg.Go(func() { w.runJob(jctx, w.repCtx, j) })
	return nil
}

// runJob tells the server the job starts, runs it, writes its end report
// and hands over to the reporter.
func (w *Worker) runJob(jctx, ctx context.Context, j *job) {
	id := j.start.ID
	reporterDone := make(chan struct{})
	ended := make(chan workerproto.EndReport, 1)
	go func() {
		defer close(reporterDone)
		w.report(ctx, j, ended)
	}()
	if err := w.retry(jctx, "start", id, func() error { return w.o.Client.Start(jctx, id, j.start.Token) }); err != nil {
		// Canceled or finished before it started: nothing ran, nothing to
		// report.
		w.log.Info("job not started", "job", id, "reason", err)
		j.cancel()
		w.forget(j)
		close(ended)
		<-reporterDone
		return
	}
	out := w.o.Runner.Run(jctx, j.start, j.sp)
	j.cancel()
	if lost := j.sp.lostRecords(); lost > 0 {
		msg := fmt.Sprintf("%d log records were lost: the worker's disk refused them and the memory bound (%d MiB) was reached", lost, maxUnspooled>>20)
		j.sp.Record(model.LogRecord{Level: model.LevelError, Message: msg})
		w.log.Error("job log records lost", "job", id, "lost", lost)
		out = lostOutcome(out, msg)
	}
	_, last := j.sp.done()
	rep := workerproto.EndReport{Health: out.Health.String(), ErrorType: out.ErrorType, Error: out.Error, LastIndex: last}
	for _, c := range out.Cases {
		rep.Cases = append(rep.Cases, workerproto.ToCase(c))
	}
	if err := writeJSONFile(filepath.Join(j.dir, spoolEnd), rep); err != nil {
		w.log.Error("spooling the end report", "job", id, "err", err)
	}
	w.log.Info("job ended; reporting", "job", id, "health", out.Health, "records", last+1)
	ended <- rep
	<-reporterDone
}

// lostOutcome makes a job that lost log records Incomplete (an
// Infrastructure error) unless it already failed; msg joins its error.
func lostOutcome(out Outcome, msg string) Outcome {
	switch out.Health {
	case model.JobComplete:
		out.Health, out.ErrorType, out.Error = model.JobIncomplete, "Infrastructure", msg
	default:
		out.Error = strings.TrimPrefix(out.Error+"; "+msg, "; ")
	}
	return out
}

// retry calls fn until it succeeds, fails for good, or ctx ends.
func (w *Worker) retry(ctx context.Context, what string, id int64, fn func() error) error {
	backoff := w.o.RetryMin
	for {
		err := fn()
		if err == nil || !Retryable(err) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		w.log.Warn("request failed; retrying", "what", what, "job", id, "err", err, "in", backoff)
		if !sleep(ctx, backoff) {
			return ctx.Err()
		}
		backoff = min(backoff*2, w.o.RetryMax)
	}
}

// report sends the job's records as they come, then its end report once
// it arrives on ended, until the server acknowledges; then it forgets the
// job. ctx is the worker's: a job's cancel does not stop its reporting.
func (w *Worker) report(ctx context.Context, j *job, ended <-chan workerproto.EndReport) {
	id := j.start.ID
	var rep *workerproto.EndReport
	backoff := w.o.RetryMin
	fail := func(what string, err error) bool {
		w.log.Warn("report failed; retrying", "what", what, "job", id, "err", err, "in", backoff)
		ok := sleep(ctx, backoff)
		backoff = min(backoff*2, w.o.RetryMax)
		return ok
	}
	for ctx.Err() == nil {
		first, recs, err := j.sp.batch(w.o.BatchSize)
		if err != nil {
			w.log.Error("reading the spool", "job", id, "err", err)
			if !sleep(ctx, w.o.RetryMax) {
				return
			}
			continue
		}
		if recs.n > 0 {
			sent := time.Now()
			next, err := w.ship.send(ctx, id, j.start.Token, first, recs)
			var e *Error
			switch {
			case err == nil:
				j.sp.ack(next)
				backoff = w.o.RetryMin
				// The next batch leaves --log-interval after this one
				// left, not after its answer: a record waits one interval
				// for its batch at most, however long the round trip (the
				// shipper puts the batches of every job in one request).
				if recs.n < w.o.BatchSize && !w.gather(ctx, ended, &rep, w.o.LogInterval-time.Since(sent)) {
					return
				}
			case errors.As(err, &e) && e.Code == workerproto.CodeLogGap:
				exp, _ := e.Expected()
				w.log.Warn("the server expects other records; resending from there", "job", id, "sent_from", first, "expected", exp)
				j.sp.ack(exp)
			case Retryable(err):
				if !fail("logs", err) {
					return
				}
			default:
				w.log.Error("the server refuses the job's logs; dropping the job", "job", id, "err", err)
				w.forget(j)
				return
			}
			continue
		}
		if rep == nil {
			select {
			case r, ok := <-ended:
				if !ok {
					return // never started
				}
				rep = &r
				continue // flush what came with the end
			case <-j.sp.notify:
				if !w.gather(ctx, ended, &rep, w.o.LogInterval) {
					return
				}
				continue
			case <-ctx.Done():
				return
			}
		}
		health, err := w.o.Client.End(ctx, id, j.start.Token, *rep)
		var e *Error
		switch {
		case err == nil:
			w.log.Info("job end acknowledged", "job", id, "health", health)
			w.forget(j)
			return
		case errors.As(err, &e) && e.Code == workerproto.CodeLogsMissing:
			exp, _ := e.Expected()
			if _, last := j.sp.done(); exp > last {
				// The server lacks records the spool no longer has (held
				// in memory when the disk was full, then the worker
				// restarted): the job ends with what the server has.
				lost := rep.LastIndex + 1 - exp
				msg := fmt.Sprintf("%d log records were lost (the worker restarted while its disk refused them)", lost)
				w.log.Error("job log records lost", "job", id, "lost", lost)
				o := lostOutcome(Outcome{Health: healthOf(rep.Health), ErrorType: rep.ErrorType, Error: rep.Error}, msg)
				rep.Health, rep.ErrorType, rep.Error, rep.LastIndex = o.Health.String(), o.ErrorType, o.Error, exp-1
				continue
			}
			j.sp.ack(exp)
		case Retryable(err):
			if !fail("end", err) {
				return
			}
		default:
			w.log.Error("the server refuses the job's end report; dropping the job", "job", id, "err", err)
			w.forget(j)
			return
		}
	}
}

// gather waits wait (at most --log-interval) for more records to batch, or less when the
// job's end report arrives first (it is stored in *rep): a job's last
// records and its end are sent at once, not an interval or two later. Once
// the job has ended it does not wait. It returns false when ctx ends or the
// job never started.
func (w *Worker) gather(ctx context.Context, ended <-chan workerproto.EndReport, rep **workerproto.EndReport, wait time.Duration) bool {
	if *rep != nil || wait <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case r, ok := <-ended:
		if !ok {
			return false
		}
		*rep = &r
		return true
	case <-ctx.Done():
		return false
	}
}

// forget removes a job that needs nothing more from the worker.
func (w *Worker) forget(j *job) {
	w.mu.Lock()
	if w.jobs[j.start.ID] == j {
		delete(w.jobs, j.start.ID)
	}
	w.mu.Unlock()
	_ = j.sp.close()
	if err := os.RemoveAll(j.dir); err != nil {
		w.log.Warn("removing a job's spool", "job", j.start.ID, "err", err)
	}
}

// resume picks up the jobs a previous run left: their remaining records
// are sent, then their end. A job without an end was interrupted by the
// restart: the runner (a Recoverer) makes its device safe first, then it
// ends Incomplete.
func (w *Worker) resume(ctx context.Context) error {
	ents, err := os.ReadDir(filepath.Join(w.o.WorkDir, "jobs"))
	if err != nil {
		return fmt.Errorf("worker: reading spools: %w", err)
	}
	for _, e := range ents {
		id, err := strconv.ParseInt(e.Name(), 10, 64)
		if err != nil || !e.IsDir() {
			continue
		}
		dir := w.jobDir(id)
		var sj workerproto.StartJob
		b, err := os.ReadFile(filepath.Join(dir, spoolStart))
		if err == nil {
			err = json.Unmarshal(b, &sj)
		}
		if err != nil || sj.ID != id {
			w.log.Warn("dropping an unreadable job spool", "dir", dir, "err", err)
			_ = os.RemoveAll(dir)
			continue
		}
		sp, err := w.openSpool(id)
		if err != nil {
			return err
		}
		var rep workerproto.EndReport
		b, err = os.ReadFile(filepath.Join(dir, spoolEnd))
		if err == nil {
			err = json.Unmarshal(b, &rep)
		}
		interrupted := err != nil
		j := &job{start: sj, dir: dir, sp: sp, cancel: func() {}, canceling: true}
		w.mu.Lock()
		w.jobs[id] = j
		w.mu.Unlock()
		w.log.Info("resuming a job left by a previous run", "job", id, "interrupted", interrupted)
		w.wg.Go(func() {
			if interrupted {
				var ok bool
				if rep, ok = w.interrupted(j); !ok {
					return // stopping: the next start does it again
				}
			}
			w.log.Info("reporting the end of a job left by a previous run", "job", id, "health", rep.Health, "records", rep.LastIndex+1)
			ended := make(chan workerproto.EndReport, 1)
			ended <- rep
			w.report(ctx, j, ended)
		})
	}
	return nil
}

// interrupted ends a job the previous run left running: the runner makes
// the device safe (a Recoverer powers it off and cleans the job's
// folders), then the job ends Incomplete. false means the worker is
// stopping before that was done.
func (w *Worker) interrupted(j *job) (workerproto.EndReport, bool) {
	id := j.start.ID
	j.sp.Record(model.LogRecord{Level: model.LevelError, Message: "lava-worker restarted while the job ran: the job was interrupted"})
	if rc, ok := w.o.Runner.(Recoverer); ok {
		w.log.Info("making the device of an interrupted job safe", "job", id, "device", j.start.Device)
		if err := rc.Recover(w.runCtx, j.start, j.sp); err != nil {
			if w.runCtx.Err() != nil {
				w.forgetMemory(j)
				return workerproto.EndReport{}, false
			}
			// The Recoverer logged the failure in the job's log too.
			w.log.Error("making the device of an interrupted job safe", "job", id, "device", j.start.Device, "err", err)
		}
	}
	_, last := j.sp.done()
	rep := workerproto.EndReport{Health: model.JobIncomplete.String(), ErrorType: "Infrastructure",
		Error: "lava-worker restarted while the job ran", LastIndex: last}
	if err := writeJSONFile(filepath.Join(j.dir, spoolEnd), rep); err != nil {
		// Reported from memory all the same.
		w.log.Error("spooling the end report", "job", id, "err", err)
	}
	return rep, true
}

// forgetMemory drops a job from the running list without removing its
// spool (the next start resumes it).
func (w *Worker) forgetMemory(j *job) {
	w.mu.Lock()
	if w.jobs[j.start.ID] == j {
		delete(w.jobs, j.start.ID)
	}
	w.mu.Unlock()
	_ = j.sp.close()
}

func healthOf(s string) model.JobHealth {
	h, err := model.ParseJobHealth(s)
	if err != nil {
		return model.JobIncomplete
	}
	return h
}
