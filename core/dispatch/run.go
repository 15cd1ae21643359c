package dispatch

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lavalab/lavalab/core/console"
	"github.com/lavalab/lavalab/core/drivers"
	"github.com/lavalab/lavalab/core/expect"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/power"
	"github.com/lavalab/lavalab/core/sandbox"
	"github.com/lavalab/lavalab/core/testshell"
	"github.com/lavalab/lavalab/sdk"
)

// run is one running job.
type run struct {
	d   *Dispatcher
	r   Request
	p   *prepared
	log *jobLog
	id  string
	dir string // the job folder, {WorkDir}/jobs/{id}

	worker  sdk.WorkerFacts
	overlay *testshell.Overlay
	// overlayOn is set once the overlay is on the target (in its ramdisk or
	// NFS root, or sent over the console).
	overlayOn bool
	// overlayInImage is set when the overlay went into a deployed image
	// (ramdisk, NFS root): it survives a reboot.
	overlayInImage bool

	sb *sandbox.Sandbox // the driver sandbox for this job's device

	con console.Console
	eng *expect.Engine
	// keepRaw: a plan walked a menu; the console keeps its raw output.
	keepRaw bool
	// conContainer is the container the console runs (consoleContainer).
	conContainer *containerRun
	prompts      []string // the shell prompts the boot reached

	nbd *nbdServer    // issue 17: the job's nbd-server (step_nbd.go)
	mn  *multinodeJob // a multinode sub-job's group (issue 21), else nil
}

// Run runs one job and always returns its outcome. Cancelling ctx cancels
// the job: the running step stops, the board is powered off and the outcome
// is Canceled. The job's folder is removed at the end.
func (d *Dispatcher) Run(ctx context.Context, r Request, sink Sink) Outcome {
	start := time.Now()
	facts, r, serr := subJob(r) // issue 21: a multinode sub-job runs as a single-device job (multinode.go)
	j := &run{d: d, r: r, log: newJobLog(sink), id: strconv.FormatInt(r.JobID, 10)}
	j.dir = filepath.Join(d.jobsDir, j.id)
	j.worker = d.workerFacts(r.JobID)

	out := Outcome{Health: model.JobComplete}
	fail := func(err error, def string) {
		out.Health, out.ErrorType, out.Error = model.JobIncomplete, errorType(err, def), err.Error()
		if ctx.Err() != nil {
			out.Health, out.ErrorType = model.JobCanceled, sdk.ErrorCanceled
			out.Error = "job canceled: " + err.Error()
		}
	}
	j.log.info("lava-dispatcher, job id %s on device %s", j.id, deviceName(r))
	p, err := prepare(r)
	if serr != nil {
		err = errorf(sdk.ErrorJob, "multinode sub-job: %v", serr)
	}
	if err != nil {
		fail(err, sdk.ErrorConfiguration)
		j.log.errorf("%s", err)
		j.finish(&out, start)
		return out
	}
	j.p = p
	j.sb = j.sandbox()
	out.Settings = p.Settings
	for _, w := range p.Dict.Warnings {
		j.log.warn("device dictionary: %s", w)
	}
	desc := r.Driver.Describe()
	j.log.info("device type %s, driver %s/%s (%s, sha256 %s), ABI version %d (the driver speaks %v, this host %v)",
		p.Def.DeviceType, desc.Name, desc.Version, drivers.KindOf(r.Driver), short(r.Driver.SHA256()),
		drivers.ABIOf(desc), desc.SpokenABIVersions(), sdk.HostABIVersions())
	j.log.info("job timeout %s", p.JobTimeout)

	if err := os.MkdirAll(j.dir, 0o755); err != nil {
		fail(errorf(sdk.ErrorInfrastructure, "job folder: %v", err), "")
		j.finish(&out, start)
		return out
	}
	defer os.RemoveAll(j.dir)
	defer j.stopNBD()
	if d.o.NFSExport != "" {
		defer os.RemoveAll(filepath.Join(d.o.NFSExport, "jobs", j.id))
	}

	jctx, cancel := context.WithTimeoutCause(ctx, p.JobTimeout, errJobTimeout)
	defer cancel()
	err = j.multinodeStages(jctx, facts)
	if err != nil {
		if context.Cause(jctx) == errJobTimeout && ctx.Err() == nil {
			err = errorf(sdk.ErrorJob, "job timed out after %s: %v", p.JobTimeout, err)
		}
		fail(err, sdk.ErrorInfrastructure)
		if out.Health == model.JobCanceled {
			j.log.errorf("%s", out.Error)
		} else {
			j.log.errorf("%s: %s", out.ErrorType, out.Error)
		}
	}
	if perr := j.finalize(); perr != nil {
		j.log.errorf("%v", perr)
		if out.Health == model.JobComplete {
			out.Health, out.ErrorType, out.Error = model.JobIncomplete, sdk.ErrorInfrastructure, perr.Error()
		}
	}
	j.finish(&out, start)
	return out
}

var errJobTimeout = errors.New("job timeout")

// sandbox is the job's driver sandbox (sandbox.go).
func (j *run) sandbox() *sandbox.Sandbox {
	return &sandbox.Sandbox{Driver: j.r.Driver, Admin: j.p.Admin, Device: j.p.Device, DeviceType: j.p.Def.DeviceType, Tools: j.d.o.Tools}
}

func deviceName(r Request) string {
	if r.DeviceName != "" {
		return r.DeviceName
	}
	return "(unnamed)"
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

// finish logs the job's own result and fills the cases.
func (j *run) finish(out *Outcome, start time.Time) {
	rec := map[string]any{"definition": "lava", "case": "job", "result": "pass", "duration": fmt.Sprintf("%.2f", time.Since(start).Seconds())}
	if out.Health != model.JobComplete {
		rec["result"] = "fail"
		rec["error_type"] = out.ErrorType
		rec["error_msg"] = out.Error
	}
	j.log.result(rec, -1)
	j.log.info("job %s: %s", j.id, out.Health)
	out.Cases = j.log.takeCases()
}

// stages runs every stage in order.
func (j *run) stages(ctx context.Context) error {
	if j.p.HasTests {
		if err := j.buildOverlay(ctx); err != nil {
			return err
		}
	}
	for i := range j.p.Stages {
		if err := j.stage(ctx, &j.p.Stages[i]); err != nil {
			return err
		}
	}
	return nil
}

// stage runs one stage with its timeout and failure_retry, and logs its
// result in the lava suite.
func (j *run) stage(ctx context.Context, st *stage) error {
	var err error
	for attempt := 1; attempt <= st.Retry; attempt++ {
		start := time.Now()
		j.log.info("start: %s %s (timeout %s)%s", st.Action.Level, st.Name, st.Timeout, attemptNote(attempt, st.Retry))
		sctx, cancel := context.WithTimeoutCause(ctx, st.Timeout, errStageTimeout)
		err = j.runStage(sctx, st)
		if err != nil && context.Cause(sctx) == errStageTimeout && ctx.Err() == nil {
			typ := sdk.ErrorInfrastructure
			if st.Action.Kind == sdk.ActionTest {
				typ = sdk.ErrorTest
			}
			err = errorf(errorType(err, typ), "%s timed out after %s: %v", st.Name, st.Timeout, err)
		}
		cancel()
		rec := map[string]any{
			"definition": "lava", "case": st.Name, "level": st.Action.Level,
			"duration": fmt.Sprintf("%.2f", time.Since(start).Seconds()), "result": "pass",
			"extra": map[string]any{"attempt": attempt},
		}
		if st.Action.Namespace != "" {
			rec["namespace"] = st.Action.Namespace
		}
		if err != nil {
			rec["result"] = "fail"
			rec["extra"].(map[string]any)["fail"] = err.Error()
		}
		j.log.result(rec, -1)
		j.log.info("end: %s %s (duration %.2fs)", st.Action.Level, st.Name, time.Since(start).Seconds())
		if err == nil || ctx.Err() != nil {
			break
		}
		if attempt < st.Retry {
			j.log.warn("%s failed (attempt %d of %d): %v; retrying", st.Name, attempt, st.Retry, err)
		}
	}
	if err != nil {
		return fmt.Errorf("%s (level %s): %w", st.Name, st.Action.Level, err)
	}
	return nil
}

var errStageTimeout = errors.New("action timeout")

func attemptNote(a, n int) string {
	if n <= 1 {
		return ""
	}
	return fmt.Sprintf(" attempt %d of %d", a, n)
}

// planRequest builds the driver's request for a stage.
func (j *run) planRequest(st *stage) sdk.PlanRequest {
	return sdk.PlanRequest{
		JobID:    j.id,
		Action:   st.Action,
		Context:  sdk.Values(j.p.Def.Context),
		Settings: sdk.Values(j.p.Settings),
		Device:   sdk.DeviceFacts{Hostname: j.p.Device, DeviceType: j.p.Def.DeviceType},
		Worker:   j.worker,
	}
}

// runStage deploys the stage's artifacts (deploy), asks the driver for the
// plan and executes it.
func (j *run) runStage(ctx context.Context, st *stage) error {
	if st.Action.Kind == sdk.ActionDeploy {
		if err := j.deploy(ctx, st); err != nil {
			return err
		}
	}
	if err := j.connectionAddress(ctx, st); err != nil { // issue 21 (connection.go)
		return err
	}
	planStart := time.Now()
	plan, diag, err := j.r.Driver.Plan(ctx, j.planRequest(st))
	took := time.Since(planStart)
	for _, l := range strings.Split(strings.TrimRight(string(diag), "\n"), "\n") {
		if l != "" {
			j.log.debug("driver: %s", l)
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return errorf(errorType(err, sdk.ErrorInfrastructure), "plan: %v", err)
	}
	j.log.debug("driver plan for %s: %d step(s) in %.1f ms", st.Name, len(plan.Steps), float64(took.Microseconds())/1000)
	if err := j.sb.Check(plan); err != nil {
		return err
	}
	j.keepRawFor(plan)
	for _, s := range plan.Steps {
		if err := j.runStep(ctx, st, s); err != nil {
			return err
		}
	}
	return nil
}

// runStep runs one step with its failure policy.
func (j *run) runStep(ctx context.Context, st *stage, s sdk.Step) error {
	tries := 1
	if s.OnFailure != nil && s.OnFailure.Policy == sdk.FailRetry {
		tries += max(s.OnFailure.Retries, 0)
	}
	var err error
	for t := 1; t <= tries; t++ {
		sctx, cancel := ctx, context.CancelFunc(func() {})
		if d := stepTimeout(j.p.Def.Timeouts, s); d > 0 {
			sctx, cancel = context.WithTimeout(ctx, d)
		}
		j.log.debug("step %s (%s)", s.Label(), s.Kind)
		err = j.exec(sctx, st, s)
		if err != nil && sctx.Err() != nil && ctx.Err() == nil {
			err = fmt.Errorf("timed out: %w", err)
		}
		cancel()
		if err == nil || ctx.Err() != nil {
			break
		}
		if t < tries {
			j.log.warn("step %s failed (try %d of %d): %v", s.Label(), t, tries, err)
		}
	}
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("step %s: %w", s.Label(), err)
	}
	if s.OnFailure != nil {
		if s.OnFailure.Policy == sdk.FailIgnore {
			j.log.warn("step %s failed, continuing: %v", s.Label(), err)
			return nil
		}
		if s.OnFailure.Message != "" {
			err = fmt.Errorf("%s: %w", s.OnFailure.Message, err)
		}
		if s.OnFailure.ErrorType != "" {
			return errorf(s.OnFailure.ErrorType, "step %s: %v", s.Label(), err)
		}
	}
	return &jobError{Type: errorType(err, defaultStepErrorType(st, s)), Err: fmt.Errorf("step %s: %w", s.Label(), err)}
}

// toolLine is a tool and its arguments as a shell would read them (for
// logs and errors; the tool runs without a shell).
func toolLine(t *sandbox.Tool) string {
	q := make([]string, 0, len(t.Args)+1)
	q = append(q, t.Name)
	for _, a := range t.Args {
		q = append(q, testshell.ShellQuote(a))
	}
	return strings.Join(q, " ")
}

// defaultStepErrorType is the error type of a failed step that gives none.
func defaultStepErrorType(st *stage, s sdk.Step) string {
	switch {
	case s.Kind == sdk.StepTestShell:
		return sdk.ErrorTest
	case s.Kind == sdk.StepHost && st.Action.Kind == sdk.ActionCommand:
		return sdk.ErrorJob
	}
	return sdk.ErrorInfrastructure
}

// exec runs one step.
func (j *run) exec(ctx context.Context, st *stage, s sdk.Step) error {
	act, err := j.sb.Admit(s)
	if err != nil {
		return err
	}
	switch s.Kind {
	case sdk.StepPower:
		return j.power(ctx, s.Power.Op, act.Shell, 0)
	case sdk.StepHost:
		for _, c := range act.Shell {
			if err := j.hostCommand(ctx, c, 0); err != nil {
				return err
			}
		}
		return nil
	case sdk.StepFlash, sdk.StepTool:
		return j.runToolStep(ctx, s, act.Tool) // issue 18: with its tool files
	case sdk.StepConnect:
		return j.connect(ctx, act)
	case sdk.StepDisconnect:
		j.disconnect()
		return nil
	case sdk.StepServe:
		return j.serve(s)
	case sdk.StepTestShell:
		return j.testShell(ctx, st, s.TestShell)
	case sdk.StepMonitor: // issue 18
		return j.monitors(ctx, st, s.Monitor)
	case sdk.StepMassStorage: // issue 18
		return j.massStorage(ctx, s.MassStorage)
	case sdk.StepFIT:
		return j.fit(ctx, s.FIT)
	case sdk.StepFile:
		return j.writeFile(s.File)
	}
	if j.eng == nil {
		return errorf(sdk.ErrorBug, "step %s (%s) needs a console, and no connect step opened one", s.Label(), s.Kind)
	}
	switch s.Kind {
	case sdk.StepExpect:
		_, err = j.eng.ExpectStep(ctx, *s.Expect)
	case sdk.StepSend:
		j.log.input(s.Send.Text)
		err = j.eng.SendStep(ctx, *s.Send)
	case sdk.StepInterrupt:
		err = j.eng.Interrupt(ctx, *s.Interrupt)
	case sdk.StepCommands:
		err = j.eng.CommandsEach(ctx, *s.Commands, commandTimeout(j.p.Def.Timeouts, s))
	case sdk.StepLogin:
		err = j.eng.Login(ctx, *s.Login)
	case sdk.StepMenu: // issue 17
		err = j.menu(ctx, s.Menu)
	case sdk.StepShell:
		if _, err = j.eng.WaitShell(ctx, *s.Shell); err == nil {
			j.prompts = s.Shell.Prompts
		}
	default:
		return errorf(sdk.ErrorBug, "unknown step kind %q", s.Kind)
	}
	return err
}

// power runs power commands, logging their output.
func (j *run) power(ctx context.Context, op string, cmds []string, timeout time.Duration) error {
	if len(cmds) == 0 {
		j.log.debug("power %s: the device dictionary has no %s", op, sdk.PowerCommandKey(op))
		return nil
	}
	for _, c := range cmds {
		if err := j.hostCommand(ctx, c, timeout); err != nil {
			return fmt.Errorf("power %s: %w", op, err)
		}
	}
	return nil
}

// hostCommand runs one command on the worker, its output in the log. The
// deadline of ctx bounds it (the step's timeout), else timeout.
func (j *run) hostCommand(ctx context.Context, cmd string, timeout time.Duration) error {
	if timeout <= 0 {
		if dl, ok := ctx.Deadline(); ok {
			timeout = time.Until(dl)
		}
	}
	j.log.info("running %q", cmd)
	start := time.Now()
	env := append(os.Environ(), "LAVA_JOB_ID="+j.id)
	err := power.Run(ctx, cmd, timeout, env, func(line string, stderr bool) {
		if stderr {
			j.log.log(model.LevelDebug, "stderr: %s", line)
		} else {
			j.log.log(model.LevelDebug, ">> %s", line)
		}
	})
	if err == nil {
		j.log.debug("%q returned after %.2fs", cmd, time.Since(start).Seconds())
	}
	return err
}

// runTool runs an allowed host tool to its end, its output in the log.
func (j *run) runTool(ctx context.Context, t *sandbox.Tool, timeout time.Duration) error {
	if timeout <= 0 {
		if dl, ok := ctx.Deadline(); ok {
			timeout = time.Until(dl)
		}
	}
	j.log.info("running host tool %s (%s)", toolLine(t), t.Path)
	start := time.Now()
	env := append(os.Environ(), "LAVA_JOB_ID="+j.id)
	var tail toolTail
	err := power.RunArgv(ctx, toolLine(t), t.Path, t.Args, timeout, env, func(line string, stderr bool) {
		if stderr {
			tail.add(line)
			j.log.log(model.LevelDebug, "stderr: %s", line)
		} else {
			j.log.log(model.LevelDebug, ">> %s", line)
		}
	})
	if err == nil {
		j.log.debug("host tool %s returned after %.2fs", t.Name, time.Since(start).Seconds())
	}
	return tail.wrap(err)
}

// connect opens the console the sandbox resolved (closing the previous
// one) and starts the expect engine on it.
func (j *run) connect(ctx context.Context, act sandbox.Action) error {
	j.disconnect()
	var con console.Console
	var err error
	if t := act.ConsoleTool; t != nil {
		j.log.info("connecting to the console: host tool %s (%s)", toolLine(t), t.Path)
		con, err = console.StartTool(ctx, toolLine(t), t.Path, t.Args)
	} else {
		j.log.info("connecting to the console: %s", console.Name(*act.Console))
		con, err = console.Open(ctx, *act.Console)
	}
	if err != nil {
		return err
	}
	j.con = con
	j.conContainer = consoleContainer(act.ConsoleTool)
	j.eng = expect.New(con, expect.Options{Logger: j.log.target, OnLine: j.log.onLine, KeepRaw: j.keepRaw})
	return nil
}

func (j *run) disconnect() {
	if j.con == nil {
		return
	}
	if err := j.con.Close(); err != nil {
		j.log.debug("closing console %s: %v", j.con.Name(), err)
	}
	<-j.eng.Done()
	if j.conContainer != nil {
		j.removeContainer(j.conContainer)
	}
	j.con, j.eng, j.prompts, j.conContainer = nil, nil, nil, nil
	j.overlayOn = j.overlayOn && j.overlayInImage
}

// finalize powers the board off and closes the console, whatever happened.
// It runs with a fresh context: a cancelled job still powers off.
func (j *run) finalize() error {
	var err error
	if j.p != nil {
		// The admin's command only: never a driver's setting default.
		cmds := sandbox.CommandList(sdk.Values(j.p.Admin), "power_off_command")
		to := DefaultPowerOffTimeout
		if x, ok := j.p.Def.Timeouts.Actions["power-off"]; ok && x > 0 {
			to = x
		}
		if len(cmds) > 0 {
			j.log.info("finalize: power off")
			ctx, cancel := context.WithTimeout(context.Background(), to*time.Duration(len(cmds))+time.Second)
			err = j.power(ctx, sdk.PowerOff, cmds, to)
			cancel()
		}
	}
	j.disconnect()
	return err
}
