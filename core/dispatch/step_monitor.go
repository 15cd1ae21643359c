package dispatch

// Issue 18: the monitors test action (LAVA's lava-test-monitor).

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/lavalab/lavalab/core/expect"
	"github.com/lavalab/lavalab/sdk"
)

// monitorStageName is LAVA's name of a monitors test action's top-level
// action (TestMonitorRetry), the lava suite's case for the stage.
const monitorStageName = "lava-test-monitor-retry"

// monitorResultValues are the results LAVA accepts from a monitor pattern.
var monitorResultValues = map[string]bool{"pass": true, "fail": true, "skip": true, "unknown": true}

// nonWord is LAVA's \W+ that a test case id's special characters become "_".
var nonWord = regexp.MustCompile(`\W+`)

// monitorMatch turns the named groups of one match of a monitor's pattern
// into a results record the way LAVA's TestMonitorAction does: with a
// `result` group, the fixupdict maps it, and a result other than pass, fail,
// skip or unknown is refused (the warning says why); with no `result`
// group, a test_case_id with a measurement is a pass. The case is the
// test_case_id stripped, lower-cased, its runs of non-word characters
// made "_"; the suite (definition) is the monitor's name, lower-cased,
// its spaces "-". A nil record with an empty warning means the match
// holds no test case (a pattern without the groups).
func monitorMatch(m sdk.Monitor, level string, groups map[string]string) (rec map[string]any, warning string) {
	suite := strings.ToLower(strings.ReplaceAll(m.Name, " ", "-"))
	id, hasID := groups["test_case_id"]
	caseOf := func() string { return nonWord.ReplaceAllString(strings.ToLower(strings.TrimSpace(id)), "_") }
	if result, ok := groups["result"]; ok {
		if f, ok := m.Fixup[result]; ok {
			result = f
		}
		if !monitorResultValues[result] {
			return nil, fmt.Sprintf("error: bad test results: %s", result)
		}
		if !hasID {
			return nil, ""
		}
		rec = map[string]any{
			"definition": suite, "case": caseOf(), "level": level, "result": result,
			"extra": map[string]any{"test_case_id": strings.TrimSpace(id)},
		}
		if x, ok := groups["measurement"]; ok {
			rec["measurement"] = x
		}
		if x, ok := groups["units"]; ok {
			rec["units"] = x
		}
		return rec, ""
	}
	meas, hasMeas := groups["measurement"]
	if !hasID || !hasMeas || id == "" || meas == "" {
		return nil, ""
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(meas), 64)
	if err != nil {
		return nil, fmt.Sprintf("error: bad measurement %q: not a number", meas)
	}
	rec = map[string]any{
		"definition": suite, "case": caseOf(), "level": level, "result": "pass", "measurement": f,
		"extra": map[string]any{"test_case_id": strings.TrimSpace(id)},
	}
	if x, ok := groups["units"]; ok {
		rec["units"] = x
	}
	return rec, ""
}

// namedGroups returns the named groups of re's first match in text (a
// group that took no part in the match is "", as it is present in LAVA's
// groupdict).
func namedGroups(re *regexp.Regexp, text string) map[string]string {
	sm := re.FindStringSubmatch(text)
	if sm == nil {
		return nil
	}
	g := map[string]string{}
	for i, n := range re.SubexpNames() {
		if n != "" && i < len(sm) {
			g[n] = sm[i]
		}
	}
	return g
}

// monitors runs a monitor step: each monitor in order waits for its start
// string, then logs a test case for each match of its pattern (in a line
// the board has ended) until its end string. Running out of the stage's time fails the step (the board never
// printed the start or the end).
func (j *run) monitors(ctx context.Context, st *stage, s *sdk.MonitorStep) error {
	if j.eng == nil {
		return errorf(sdk.ErrorJob, "no console to watch: the job needs a boot action before its monitors test action")
	}
	level := st.Action.Level + ".1"
	for _, m := range s.Monitors {
		start, err := expect.Compile(sdk.Pattern{Regex: m.Start})
		if err != nil {
			return errorf(sdk.ErrorJob, "monitor %s: start: %v", m.Name, err)
		}
		// A result is read from a whole line: the console's text is matched
		// as it arrives, and "PASS - test_arit" would match
		// `(?P<test_case_id>\w+)` before "hmetic\n" has come.
		watch, err := expect.Compile(sdk.Pattern{Regex: m.End}, sdk.Pattern{Regex: "(?:" + m.Pattern + ")[^\n]*\n"})
		if err != nil {
			return errorf(sdk.ErrorJob, "monitor %s: %v", m.Name, err)
		}
		pat, err := regexp.Compile("(?m)" + m.Pattern)
		if err != nil {
			return errorf(sdk.ErrorJob, "monitor %s: pattern %q: %v", m.Name, m.Pattern, err)
		}
		j.log.info("Waiting for start message: %s", m.Start)
		if _, err := j.eng.Expect(ctx, start, 0); err != nil {
			return j.monitorErr(ctx, m, fmt.Sprintf("the start string %q was not found", m.Start), err)
		}
		j.log.info("ok: start string found, lava test monitoring started")
		for {
			got, err := j.eng.Expect(ctx, watch, 0)
			if err != nil {
				return j.monitorErr(ctx, m, fmt.Sprintf("the end string %q was not found", m.End), err)
			}
			if got.Index == 0 {
				j.log.info("ok: end string found, lava test monitoring stopped")
				break
			}
			j.log.info("ok: test case found")
			rec, warn := monitorMatch(m, level, namedGroups(pat, got.Text))
			if warn != "" {
				j.log.errorf("%s", warn)
			}
			if rec != nil {
				j.log.debug("test_case_id: %s", rec["case"])
				j.log.result(rec, -1)
			}
		}
	}
	return nil
}

// monitorErr is the error of a monitor that did not see what it waited for.
func (j *run) monitorErr(ctx context.Context, m sdk.Monitor, what string, err error) error {
	var te *expect.TimeoutError
	switch {
	case ctx.Err() != nil || errors.As(err, &te):
		j.log.warn("err: lava test monitoring has timed out")
		return errorf(sdk.ErrorTest, "monitor %s: %s: lava test monitoring has timed out: %v", m.Name, what, err)
	case j.eng != nil && isDone(j.eng.Done()):
		j.log.warn("err: lava test monitoring reached end of file")
		return errorf(sdk.ErrorInfrastructure, "monitor %s: %s: lava test monitoring reached end of file (the console closed): %v", m.Name, what, err)
	}
	return errorf(sdk.ErrorInfrastructure, "monitor %s: %s: %v", m.Name, what, err)
}

func isDone(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}
