package dispatch

// Issue 21: LAVA's interactive test action (test: interactive: ...): commands
// sent at a bootloader or shell prompt, answers matched against success and
// failure patterns, results recorded as LAVA's lava-test-interactive does.

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/lavalab/lavalab/core/expect"
	"github.com/lavalab/lavalab/core/multinode"
	"github.com/lavalab/lavalab/sdk"
)

// interactiveScript is one entry of test.interactive.
type interactiveScript struct {
	Name    string
	Prompts []string
	// EchoDiscard is echo: discard: the line after each command (its
	// echo) is read and ignored before matching.
	EchoDiscard bool
	Script      []interactiveCmd
}

// interactiveCmd is one entry of a script: a command with its expected
// answers, a delay, or a multinode call.
type interactiveCmd struct {
	// Command is sent at the prompt; nil sends nothing and only waits.
	Command *string
	// Name records the command's result as a test case; a command without
	// a name that fails ends the action with a TestError.
	Name          string
	Successes     []string
	Failures      []interactiveFailure
	WaitForPrompt bool
	// Delay > 0 is a `delay` entry: wait that long, send nothing.
	Delay time.Duration
	// Multinode is a lava-send, lava-wait, lava-wait-all or lava-sync
	// entry: Op is the API name, Arg its argument line.
	MultinodeOp, MultinodeArg string
}

// interactiveFailure is one failures entry: a pattern, and the exception
// LAVA raises when it matches (none: the command's result is fail only).
type interactiveFailure struct {
	Message   string
	Exception string // "", InfrastructureError, JobError or TestError
	Error     string
}

var interactiveName = regexp.MustCompile(`^[-_a-zA-Z0-9.]+$`)

// parseInteractive reads test.interactive as LAVA's schema defines it
// (lava_common/schemas/test/interactive.py), naming the first bad entry.
func parseInteractive(v any) ([]interactiveScript, error) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return nil, fmt.Errorf("interactive: expected a list of scripts, got %T", v)
	}
	out := make([]interactiveScript, 0, len(list))
	for i, it := range list {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("interactive[%d]: expected a mapping, got %T", i, it)
		}
		var s interactiveScript
		s.Name, _ = m["name"].(string)
		if !interactiveName.MatchString(s.Name) {
			return nil, fmt.Errorf("interactive[%d]: name %q must match %s", i, s.Name, interactiveName)
		}
		ps, ok := m["prompts"].([]any)
		if !ok || len(ps) == 0 {
			return nil, fmt.Errorf("interactive[%d] (%s): prompts: expected a non-empty list of strings", i, s.Name)
		}
		for _, p := range ps {
			ps, ok := p.(string)
			if !ok || ps == "" {
				return nil, fmt.Errorf("interactive[%d] (%s): prompts: %v is not a non-empty string", i, s.Name, p)
			}
			if _, err := regexp.Compile(ps); err != nil {
				return nil, fmt.Errorf("interactive[%d] (%s): prompt %q: %v", i, s.Name, ps, err)
			}
			s.Prompts = append(s.Prompts, ps)
		}
		switch e := m["echo"].(type) {
		case nil:
		case string:
			if e != "discard" {
				return nil, fmt.Errorf("interactive[%d] (%s): echo: only \"discard\" is allowed, got %q", i, s.Name, e)
			}
			s.EchoDiscard = true
		default:
			return nil, fmt.Errorf("interactive[%d] (%s): echo: only \"discard\" is allowed, got %v", i, s.Name, e)
		}
		sc, ok := m["script"].([]any)
		if !ok {
			return nil, fmt.Errorf("interactive[%d] (%s): script: expected a list, got %T", i, s.Name, m["script"])
		}
		for k, c := range sc {
			cmd, err := parseInteractiveCmd(c)
			if err != nil {
				return nil, fmt.Errorf("interactive[%d] (%s) script[%d]: %w", i, s.Name, k, err)
			}
			s.Script = append(s.Script, cmd)
		}
		out = append(out, s)
	}
	return out, nil
}

func parseInteractiveCmd(v any) (interactiveCmd, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return interactiveCmd{}, fmt.Errorf("expected a mapping, got %T", v)
	}
	c := interactiveCmd{WaitForPrompt: true}
	known := map[string]bool{"command": true, "delay": true, "name": true, "wait_for_prompt": true,
		"successes": true, "failures": true, "lava-send": true, "lava-sync": true, "lava-wait": true, "lava-wait-all": true}
	for k := range m {
		if !known[k] {
			return c, fmt.Errorf("unknown key %q", k)
		}
	}
	if d, ok := m["delay"]; ok {
		n, ok := d.(int)
		if !ok || n < 0 {
			return c, fmt.Errorf("delay: expected a number of seconds, got %v", d)
		}
		c.Delay = time.Duration(n) * time.Second
		if c.Delay == 0 {
			c.Delay = time.Nanosecond // a delay entry of 0 s still sends nothing
		}
		return c, nil
	}
	for _, op := range []string{"lava-send", "lava-wait", "lava-wait-all", "lava-sync"} {
		if a, ok := m[op]; ok {
			s, ok := a.(string)
			if !ok || strings.TrimSpace(s) == "" {
				return c, fmt.Errorf("%s: expected a message id, got %v", op, a)
			}
			c.MultinodeOp, c.MultinodeArg = op, s
			return c, nil
		}
	}
	switch x := m["command"].(type) {
	case nil:
	case string:
		c.Command = &x
	default:
		return c, fmt.Errorf("command: expected a string or null, got %T", x)
	}
	if n, ok := m["name"]; ok {
		s, _ := n.(string)
		if !interactiveName.MatchString(s) {
			return c, fmt.Errorf("name %v must match %s", n, interactiveName)
		}
		c.Name = s
	}
	if w, ok := m["wait_for_prompt"]; ok {
		b, ok := w.(bool)
		if !ok {
			return c, fmt.Errorf("wait_for_prompt: expected a boolean, got %v", w)
		}
		c.WaitForPrompt = b
	}
	msg := func(what string, it any) (map[string]any, string, error) {
		e, ok := it.(map[string]any)
		if !ok {
			return nil, "", fmt.Errorf("%s: expected a mapping with a message, got %T", what, it)
		}
		s, _ := e["message"].(string)
		if s == "" {
			return nil, "", fmt.Errorf("%s: message: expected a non-empty string", what)
		}
		if _, err := regexp.Compile(s); err != nil {
			return nil, "", fmt.Errorf("%s: message %q: %v", what, s, err)
		}
		return e, s, nil
	}
	if l, ok := m["successes"]; ok {
		list, ok := l.([]any)
		if !ok {
			return c, fmt.Errorf("successes: expected a list, got %T", l)
		}
		for i, it := range list {
			_, s, err := msg(fmt.Sprintf("successes[%d]", i), it)
			if err != nil {
				return c, err
			}
			c.Successes = append(c.Successes, s)
		}
	}
	if l, ok := m["failures"]; ok {
		list, ok := l.([]any)
		if !ok {
			return c, fmt.Errorf("failures: expected a list, got %T", l)
		}
		for i, it := range list {
			e, s, err := msg(fmt.Sprintf("failures[%d]", i), it)
			if err != nil {
				return c, err
			}
			f := interactiveFailure{Message: s}
			f.Exception, _ = e["exception"].(string)
			switch f.Exception {
			case "", "InfrastructureError", "JobError", "TestError":
			default:
				return c, fmt.Errorf("failures[%d]: exception %q is not InfrastructureError, JobError or TestError", i, f.Exception)
			}
			f.Error, _ = e["error"].(string)
			c.Failures = append(c.Failures, f)
		}
	}
	return c, nil
}

// interactiveOutcome is what one match means for a command.
type interactiveOutcome struct {
	Pass bool
	// Prompt is set when the match was a prompt (no prompt to wait for then).
	Prompt bool
	// Err ends the action (a failure with an exception).
	Err error
	// Groups are the named groups of a matched success, new substitutions.
	Groups map[string]string
	// Note is what the log says about the match.
	Note string
}

// patterns are the expressions matched after a command, in LAVA's order:
// prompts, then failures, then successes.
func (c *interactiveCmd) patterns(prompts []string) []string {
	out := append([]string{}, prompts...)
	for _, f := range c.Failures {
		out = append(out, f.Message)
	}
	return append(out, c.Successes...)
}

// classify says what matching pattern idx (an index into patterns) with
// the matched text means, as lava-test-interactive does: a prompt passes
// a command that expects no success; a failure fails it (and raises its
// exception); a success passes it and gives its named groups.
func (c *interactiveCmd) classify(prompts []string, idx int, text string) interactiveOutcome {
	np, nf := len(prompts), len(c.Failures)
	switch {
	case idx < np:
		if len(c.Successes) > 0 {
			return interactiveOutcome{Prompt: true, Note: fmt.Sprintf("matched a prompt (was expecting a success): %q", prompts[idx])}
		}
		return interactiveOutcome{Pass: true, Prompt: true, Note: fmt.Sprintf("matched a prompt: %q", prompts[idx])}
	case idx < np+nf:
		f := c.Failures[idx-np]
		o := interactiveOutcome{Note: fmt.Sprintf("matched a failure: %q", f.Message)}
		if f.Exception != "" {
			msg := f.Error
			if msg == "" {
				msg = f.Message
			}
			typ := map[string]string{"InfrastructureError": sdk.ErrorInfrastructure, "JobError": sdk.ErrorJob, "TestError": sdk.ErrorTest}[f.Exception]
			o.Err = errorf(typ, "%s", msg)
		}
		return o
	}
	pat := c.Successes[idx-np-nf]
	o := interactiveOutcome{Pass: true, Note: fmt.Sprintf("matched a success: %q", pat)}
	if re, err := regexp.Compile("(?m)" + pat); err == nil {
		if m := re.FindStringSubmatch(text); m != nil {
			for i, n := range re.SubexpNames() {
				if n != "" {
					if o.Groups == nil {
						o.Groups = map[string]string{}
					}
					o.Groups[n] = m[i]
				}
			}
		}
	}
	if len(o.Groups) > 0 {
		o.Note += fmt.Sprintf(" (groups: %v)", o.Groups)
	}
	return o
}

// substitute replaces every {KEY} of subs in s (LAVA's substitute()).
func substitute(s string, subs map[string]string) string {
	for k, v := range subs {
		s = strings.ReplaceAll(s, k, v)
	}
	return s
}

// interactiveStage is the LAVA "stage" of an interactive test action:
// the number of test actions with definitions before it.
func (j *run) interactiveStage(st *stage) int {
	n := 0
	for _, s := range j.p.Stages {
		if s.Index >= st.Index {
			break
		}
		if s.TestStage >= 0 {
			n++
		}
	}
	return n
}

// interactive runs an interactive test action on the console the boot
// left open: each script in turn, its result in the lava suite as
// "<stage>_<name>", each named command's in suite "<stage>_<name>".
func (j *run) interactive(ctx context.Context, st *stage, s *sdk.TestShellStep) error {
	scripts, err := parseInteractive(st.Action.Params["interactive"])
	if err != nil {
		return errorf(sdk.ErrorJob, "%v", err)
	}
	if j.eng == nil {
		return errorf(sdk.ErrorJob, "no console for the interactive test: the job needs a boot action before it")
	}
	stageNo := j.interactiveStage(st)
	subs := map[string]string{"{SERVER_IP}": j.worker.ServerIP, "{JOB_ID}": j.id}
	timeout := time.Duration(0)
	if c := j.p.Def.Timeouts.Connection; c > 0 {
		timeout = c
	}
	if timeout > 0 {
		j.log.info("Test interactive timeout: %ds (minimum of the action and connection timeout)", int(min(timeout, st.Timeout).Seconds()))
	}
	for _, sc := range scripts {
		start := time.Now()
		err := j.interactiveScript(ctx, stageNo, sc, subs, timeout, time.Duration(s.CharDelayMS)*time.Millisecond)
		res := "pass"
		if err != nil {
			res = "fail"
		}
		j.log.result(map[string]any{
			"definition": "lava", "case": fmt.Sprintf("%d_%s", stageNo, sc.Name), "result": res,
			"duration": fmt.Sprintf("%.02f", time.Since(start).Seconds()),
		}, -1)
		if err != nil {
			return err
		}
	}
	return nil
}

func (j *run) interactiveScript(ctx context.Context, stageNo int, sc interactiveScript, subs map[string]string, timeout, delay time.Duration) error {
	suite := fmt.Sprintf("%d_%s", stageNo, sc.Name)
	promptSet, err := expect.Compile(expect.Regexes(false, "", sc.Prompts...)...)
	if err != nil {
		return errorf(sdk.ErrorJob, "interactive %s: prompts: %v", sc.Name, err)
	}
	nl, _ := expect.Compile(sdk.Pattern{Regex: "\n"})
	for _, c := range sc.Script {
		if c.Delay > 0 {
			j.log.info("Delaying for %ds", int(c.Delay.Seconds()))
			select {
			case <-time.After(c.Delay):
			case <-ctx.Done():
				return ctx.Err()
			}
			continue
		}
		if c.MultinodeOp != "" {
			if err := j.interactiveMultinode(ctx, c, subs); err != nil {
				return err
			}
			continue
		}
		start := time.Now()
		err := j.interactiveCommand(ctx, sc, c, promptSet, nl, subs, timeout, delay)
		pass := err == nil
		var fe *failedCmd
		if asFailed(err, &fe) {
			err = nil
			if c.Name == "" {
				err = errorf(sdk.ErrorTest, "Failed to run command '%s'", fe.command)
			}
		}
		if c.Name != "" {
			res := "pass"
			if !pass {
				res = "fail"
			}
			j.log.result(map[string]any{
				"definition": suite, "case": c.Name, "result": res,
				"duration": fmt.Sprintf("%.02f", time.Since(start).Seconds()),
			}, -1)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// failedCmd is a command whose answer was a failure (or a prompt where a
// success was expected), without an exception.
type failedCmd struct{ command string }

func (e *failedCmd) Error() string { return "failed to run command " + strconv.Quote(e.command) }

func asFailed(err error, out **failedCmd) bool {
	if f, ok := err.(*failedCmd); ok {
		*out = f
		return true
	}
	return false
}

// interactiveCommand sends one command and matches its answer.
func (j *run) interactiveCommand(ctx context.Context, sc interactiveScript, c interactiveCmd, promptSet, nl *expect.Set, subs map[string]string, timeout, delay time.Duration) error {
	command := ""
	if c.Command == nil {
		j.log.info("Sending nothing, waiting")
	} else {
		command = substitute(*c.Command, subs)
		j.log.info("Sending '%s'", command)
		j.log.input(command)
		if err := j.eng.Send(ctx, command, true, delay); err != nil {
			return errorf(sdk.ErrorInfrastructure, "interactive %s: sending %q: %v", sc.Name, command, err)
		}
		if sc.EchoDiscard {
			if m, err := j.eng.Expect(ctx, nl, timeout); err == nil {
				j.log.debug("Ignoring echo: %q", m.Before)
			} else {
				return j.interactiveWaitErr(ctx, err)
			}
		}
	}
	pats := c.patterns(sc.Prompts)
	set, err := expect.Compile(expect.Regexes(false, "", pats...)...)
	if err != nil {
		return errorf(sdk.ErrorJob, "interactive %s: %v", sc.Name, err)
	}
	j.log.debug("Waiting for '%s'", strings.Join(pats, "', '"))
	m, err := j.eng.Expect(ctx, set, timeout)
	if err != nil {
		return j.interactiveWaitErr(ctx, err)
	}
	o := c.classify(sc.Prompts, m.Index, m.Text)
	switch {
	case o.Err != nil:
		j.log.errorf("%s", capitalize(o.Note))
	case o.Pass:
		j.log.info("%s", capitalize(o.Note))
	default:
		j.log.errorf("%s", capitalize(o.Note))
	}
	for k, v := range o.Groups {
		subs["{"+k+"}"] = v
	}
	if o.Err != nil {
		return o.Err
	}
	if !o.Prompt && c.WaitForPrompt {
		pm, err := j.eng.Expect(ctx, promptSet, timeout)
		if err != nil {
			return j.interactiveWaitErr(ctx, err)
		}
		j.log.debug("Matched a prompt: '%s'", sc.Prompts[pm.Index])
	}
	if !o.Pass {
		return &failedCmd{command: command}
	}
	return nil
}

// interactiveWaitErr is LAVA's error for a wait that ended: a timeout is
// "interactive connection timed out", a closed console an infrastructure
// error.
func (j *run) interactiveWaitErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("interactive: %w", context.Cause(ctx))
	}
	var te *expect.TimeoutError
	if asTimeout(err, &te) {
		return errorf(sdk.ErrorTest, "interactive connection timed out: %v", err)
	}
	return errorf(sdk.ErrorInfrastructure, "Connection closed: %v", err)
}

func asTimeout(err error, out **expect.TimeoutError) bool {
	for e := err; e != nil; {
		if t, ok := e.(*expect.TimeoutError); ok {
			*out = t
			return true
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		e = u.Unwrap()
	}
	return false
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// interactiveMultinode runs a lava-send, lava-wait, lava-wait-all or
// lava-sync entry of an interactive script through the job's multinode
// group; the key=value pairs a wait receives become substitutions.
func (j *run) interactiveMultinode(ctx context.Context, c interactiveCmd, subs map[string]string) error {
	if j.mn == nil {
		return errorf(sdk.ErrorJob, "%s in an interactive test needs a multinode job", c.MultinodeOp)
	}
	line := substitute(c.MultinodeArg, subs)
	parts := strings.Fields(line)
	req := multinode.Request{Op: c.MultinodeOp, MessageID: parts[0]}
	switch c.MultinodeOp {
	case "lava-send":
		req.Data = map[string]string{}
		for _, p := range parts[1:] {
			k, v, ok := strings.Cut(p, "=")
			if !ok {
				return errorf(sdk.ErrorJob, "lava-send %s: %q is not key=value", parts[0], p)
			}
			req.Data[k] = v
		}
	case "lava-wait-all":
		if len(parts) > 2 {
			return errorf(sdk.ErrorJob, "lava-wait-all expects 1 or 2 params, got: %v", parts)
		}
		if len(parts) == 2 {
			k, role, _ := strings.Cut(parts[1], "=")
			if k != "role" {
				return errorf(sdk.ErrorJob, "lava-wait-all 2nd param must be role=<rolename>, got: %s", k)
			}
			req.Role = role
		}
	}
	resp, err := j.multinodeCall(ctx, req)
	if err != nil {
		return err
	}
	if resp.Nack {
		return errorf(sdk.ErrorTest, "%s %s: %s", c.MultinodeOp, parts[0], resp.Reason)
	}
	j.log.info("%s result: %v", strings.TrimPrefix(c.MultinodeOp, "lava-"), resp.Messages)
	for _, data := range resp.Messages {
		for k, v := range data {
			subs["{"+k+"}"] = v
		}
	}
	return nil
}
