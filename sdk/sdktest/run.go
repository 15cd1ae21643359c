package sdktest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/expect"
	"github.com/lavalab/lavalab/sdk"
)

// StepRun is one planned step and what became of it.
type StepRun struct {
	// Action is the action whose plan holds the step ("boot u-boot").
	Action string
	sdk.Step
	// Ran is true for a console step run against the Console (connect,
	// disconnect, expect, send, interrupt, commands, login, wait_shell);
	// false for a step that would touch the worker host (power, serve,
	// tool, flash, host, test_shell), which is only recorded. A power
	// step makes the Console print its Power output.
	Ran bool
	// Err is the step's failure; a step whose failure policy is
	// "continue" keeps its Err and the run goes on.
	Err error
}

// Result is what a Run did: the steps in order and the console's record.
type Result struct {
	Steps []StepRun
	// Received is what the board received: each line (without its line
	// ending) and each Keys input, in order (Console.Received).
	Received []string
	con      *Console
}

// Kinds returns the kinds of the steps, in order.
func (r *Result) Kinds() []string {
	k := make([]string, len(r.Steps))
	for i, s := range r.Steps {
		k[i] = s.Kind
	}
	return k
}

// Index returns the index in Steps of the first step of the given kind,
// or -1.
func (r *Result) Index(kind string) int {
	for i, s := range r.Steps {
		if s.Kind == kind {
			return i
		}
	}
	return -1
}

// Of returns the steps of the given kind, in order.
func (r *Result) Of(kind string) []StepRun {
	var out []StepRun
	for _, s := range r.Steps {
		if s.Kind == kind {
			out = append(out, s)
		}
	}
	return out
}

// Transcript renders the run: the steps, the board's output and the
// driver's input (Console.Transcript).
func (r *Result) Transcript() string { return r.con.Transcript() }

// Run plans each request with the driver and runs the plans in order
// against con, as a worker runs a job's actions on one board; it fails
// the test when the driver refuses a request or a step fails, with the
// console's transcript. A test that expects a failure uses Exec.
func (d *Driver) Run(t testing.TB, con *Console, reqs ...sdk.PlanRequest) *Result {
	t.Helper()
	res, err := d.Exec(t.Context(), con, reqs...)
	if err != nil {
		t.Fatalf("sdktest: %v\n%s", err, failureReport(res))
	}
	return res
}

// Exec is Run returning the first failure instead of failing the test:
// the driver's refusal of a request (see TryPlan) or a step's failure (a
// *StepError). The Result holds the steps up to the failure.
func (d *Driver) Exec(ctx context.Context, con *Console, reqs ...sdk.PlanRequest) (*Result, error) {
	x := &executor{con: con, res: &Result{con: con}}
	defer x.finish()
	for _, req := range reqs {
		plan, err := d.tryPlan(ctx, req)
		if err != nil {
			con.note("plan of the %s action: %v", actionName(req.Action), err)
			return x.res, fmt.Errorf("plan of the %s action: %w", actionName(req.Action), err)
		}
		if err := d.check(req, plan); err != nil {
			con.note("plan of the %s action refused by the worker's sandbox: %v", actionName(req.Action), err)
			return x.res, fmt.Errorf("plan of the %s action: a worker would refuse it: %w", actionName(req.Action), err)
		}
		if err := x.run(ctx, actionName(req.Action), plan); err != nil {
			return x.res, err
		}
	}
	return x.res, nil
}

// Execute runs plans (of a driver called in-process, say) against con
// without a WASM driver: the same executor as Exec.
func Execute(ctx context.Context, con *Console, plans ...sdk.Plan) (*Result, error) {
	x := &executor{con: con, res: &Result{con: con}}
	defer x.finish()
	for i, plan := range plans {
		if err := plan.Validate(); err != nil {
			return x.res, fmt.Errorf("plan %d: %w", i+1, err)
		}
		if err := x.run(ctx, "plan "+strconv.Itoa(i+1), plan); err != nil {
			return x.res, err
		}
	}
	return x.res, nil
}

// StepError is a failed step.
type StepError struct {
	Action string
	// Index is the step's index in its plan.
	Index int
	Step  sdk.Step
	Err   error
}

func (e *StepError) Error() string {
	return fmt.Sprintf("%s action, step %d %s (%s) failed: %v", e.Action, e.Index+1, e.Step.Label(), e.Step.Kind, e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

// failureReport explains a failure: what the board was never answered
// and the transcript.
func failureReport(res *Result) string {
	if res == nil {
		return ""
	}
	var b strings.Builder
	if un := res.con.Unanswered(); len(un) > 0 {
		q := make([]string, len(un))
		for i, s := range un {
			q[i] = strconv.Quote(s)
		}
		fmt.Fprintf(&b, "lines the board received and no reply answered (the script may miss them): %s\n", strings.Join(q, ", "))
	}
	b.WriteString("console transcript (== step, << board output, >> driver input):\n")
	b.WriteString(res.Transcript())
	return b.String()
}

type executor struct {
	con *Console
	res *Result
	eng *expect.Engine
}

func (x *executor) finish() {
	x.disconnect()
	x.res.Received = x.con.Received()
}

func (x *executor) disconnect() {
	if x.eng == nil {
		return
	}
	x.con.disconnect()
	<-x.eng.Done()
	x.eng = nil
}

// run runs one plan with each step's failure policy, as the dispatcher
// does (core/dispatch).
func (x *executor) run(ctx context.Context, action string, plan sdk.Plan) error {
	for i, s := range plan.Steps {
		ran, err := x.runStep(ctx, action, i, len(plan.Steps), s)
		x.res.Steps = append(x.res.Steps, StepRun{Action: action, Step: s, Ran: ran, Err: err})
		if err == nil {
			continue
		}
		if s.OnFailure != nil && s.OnFailure.Policy == sdk.FailIgnore {
			x.con.note("step %s failed, continuing (policy continue): %v", s.Label(), err)
			continue
		}
		return &StepError{Action: action, Index: i, Step: s, Err: err}
	}
	return nil
}

func (x *executor) runStep(ctx context.Context, action string, i, n int, s sdk.Step) (bool, error) {
	tries := 1
	if s.OnFailure != nil && s.OnFailure.Policy == sdk.FailRetry {
		tries += max(s.OnFailure.Retries, 0)
	}
	var ran bool
	var err error
	for try := 1; try <= tries; try++ {
		note := ""
		if tries > 1 {
			note = fmt.Sprintf(", try %d of %d", try, tries)
		}
		x.con.note("%s: step %d/%d %s (%s)%s", action, i+1, n, s.Label(), describeStep(s), note)
		wait := x.con.timeout()
		if s.TimeoutMS > 0 {
			wait = min(wait, time.Duration(s.TimeoutMS)*time.Millisecond)
		}
		sctx, cancel := context.WithTimeout(ctx, x.budget(s, wait))
		ran, err = x.exec(sctx, s, wait)
		var te *expect.TimeoutError
		if err != nil && ctx.Err() == nil && (sctx.Err() != nil || errors.As(err, &te)) {
			err = fmt.Errorf("timed out after %v (the board never printed what the step waits for): %w", wait, err)
		}
		cancel()
		if err == nil || ctx.Err() != nil {
			break
		}
		x.con.note("step %s failed: %v", s.Label(), err)
	}
	return ran, err
}

// budget bounds a whole step: wait for each time it waits for the board,
// and the time its character delays take when the Console keeps them.
func (x *executor) budget(s sdk.Step, wait time.Duration) time.Duration {
	waits, chars, delay := 1, 0, 0
	switch {
	case s.Send != nil:
		chars, delay = len(s.Send.Text)+1, s.Send.CharDelayMS
	case s.Interrupt != nil, s.Login != nil:
		waits = 2
	case s.Menu != nil: // issue 17: a wait per selection, a settle per key
		waits = 2*len(s.Menu.Blocks) + 1
	case s.Commands != nil:
		waits = len(s.Commands.Commands) + 1
		delay = s.Commands.CharDelayMS
		for _, c := range s.Commands.Commands {
			chars += len(c) + 1
		}
	}
	if !x.con.KeepCharDelay {
		delay = 0
	}
	return time.Duration(waits)*wait + time.Duration(chars*delay)*time.Millisecond
}

// exec runs one step: console steps against the Console, host steps
// recorded (and a power step's output printed). wait bounds each wait
// for the board's output.
func (x *executor) exec(ctx context.Context, s sdk.Step, wait time.Duration) (bool, error) {
	switch s.Kind {
	case sdk.StepPower:
		x.con.power(s.Power.Op)
		return false, nil
	case sdk.StepServe, sdk.StepTool, sdk.StepFlash, sdk.StepHost, sdk.StepTestShell, sdk.StepMonitor, sdk.StepMassStorage, sdk.StepFIT, sdk.StepFile: // issue 18: monitor, mass_storage; issue 17: fit, file
		return false, nil
	case sdk.StepConnect:
		x.disconnect()
		x.eng = expect.New(x.con.open(), expect.Options{KeepRaw: true})
		return true, nil
	case sdk.StepDisconnect:
		x.disconnect()
		return true, nil
	}
	if x.eng == nil {
		return true, fmt.Errorf("step %s (%s) needs a console, and no connect step opened one", s.Label(), s.Kind)
	}
	var err error
	switch s.Kind {
	case sdk.StepExpect:
		_, err = x.eng.ExpectStep(ctx, *s.Expect)
	case sdk.StepSend:
		send := *s.Send
		if !x.con.KeepCharDelay {
			send.CharDelayMS = 0
		}
		err = x.eng.SendStep(ctx, send)
	case sdk.StepInterrupt:
		err = x.eng.Interrupt(ctx, *s.Interrupt)
	case sdk.StepCommands:
		cmds := *s.Commands
		if !x.con.KeepCharDelay {
			cmds.CharDelayMS = 0
		}
		err = x.eng.CommandsEach(ctx, cmds, wait)
	case sdk.StepLogin:
		err = x.eng.Login(ctx, *s.Login)
	case sdk.StepShell:
		_, err = x.eng.WaitShell(ctx, *s.Shell)
	case sdk.StepMenu: // issue 17
		menu := *s.Menu
		if !x.con.KeepCharDelay {
			menu.CharDelayMS = 0
		}
		err = x.eng.Menu(ctx, menu, func(f string, a ...any) { x.con.note(f, a...) })
	default:
		err = errors.New("unknown step kind " + strconv.Quote(s.Kind))
	}
	return true, err
}

// describeStep says what a step is for the transcript: its kind, and for
// a step only recorded, that it does not run.
func describeStep(s sdk.Step) string {
	switch s.Kind {
	case sdk.StepPower:
		return "power " + s.Power.Op + ": recorded, not run"
	case sdk.StepServe, sdk.StepTool, sdk.StepFlash, sdk.StepHost, sdk.StepTestShell, sdk.StepMonitor, sdk.StepMassStorage, sdk.StepFIT, sdk.StepFile: // issue 18: monitor, mass_storage; issue 17: fit, file
		return s.Kind + ": recorded, not run"
	case sdk.StepConnect:
		switch c := s.Connect; {
		case c.Connection != "":
			return "connect " + strconv.Quote(c.Connection)
		case c.Tool != nil:
			return "connect tool " + c.Tool.Name
		}
	}
	return s.Kind
}
