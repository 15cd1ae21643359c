package testshell

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/lavalab/lavalab/core/results"
)

// Kind says what a parser Record is.
type Kind int

// Record kinds.
const (
	// KindResult is a results record (Msg holds the mapping).
	KindResult Kind = iota
	// KindWarning is a malformed or misplaced signal; the test goes on.
	KindWarning
	// KindError ends the test with an error (TESTRAISE, a bad result, an
	// install failure): the job is Incomplete.
	KindError
	// KindEvent is a TESTEVENT message.
	KindEvent
	// KindFeedback asks for the pending output of the namespace in Text.
	KindFeedback
	// KindRunnerExit is <LAVA_TEST_RUNNER EXIT>: the stage is over.
	KindRunnerExit
	// KindMultinode is a multinode API call (issue 21): Text is
	// "API ID [args]" (ParseMultinodeCall), Suite the running test.
	KindMultinode
)

// LogLevel is the job log level ("lvl") a record of this kind is logged at.
func (k Kind) LogLevel() string {
	switch k {
	case KindResult:
		return "results"
	case KindWarning:
		return "warning"
	case KindError:
		return "error"
	case KindEvent:
		return "event"
	case KindFeedback:
		return "feedback"
	}
	return "info"
}

// Record is one thing the parser found on the console.
type Record struct {
	Kind Kind
	// Line is the log line number the record was found on.
	Line int64
	// Msg is the results mapping (KindResult).
	Msg map[string]any
	// Text is the message of the other kinds.
	Text string
	// Suite is the test run a KindMultinode call came from ("" = none).
	Suite string
}

// ParserOptions configure a Parser.
type ParserOptions struct {
	// Runs are the overlay's test runs (Overlay.Runs); their parse patterns
	// and fixupdicts apply between their STARTRUN and ENDRUN, and their
	// repository facts go into the lava suite records.
	Runs []Run
	// Level is the pipeline level of the test action, added to every
	// results record when set.
	Level string
	// Namespace is added to every results record when set.
	Namespace string
}

var signalRE = regexp.MustCompile(`<LAVA_SIGNAL_(\S+) ([^>]+)>`)

const (
	runnerExit        = "<LAVA_TEST_RUNNER EXIT>"
	runnerInstallFail = "<LAVA_TEST_RUNNER INSTALL_FAIL>"
)

type parsedRun struct {
	Run
	pattern *regexp.Regexp
}

// Parser reads the console output of a test shell, one line at a time. It
// is not safe for concurrent use.
type Parser struct {
	opts  ParserOptions
	runs  map[string]*parsedRun
	cur   *parsedRun
	curID string
	start time.Time
	set   string
	tc    map[string][2]int64 // case -> starttc, endtc
}

// NewParser compiles the parse patterns of the runs; a pattern Go cannot
// compile (RE2 lacks look-arounds and back references) is an error naming
// the run.
func NewParser(opts ParserOptions) (*Parser, error) {
	p := &Parser{opts: opts, runs: map[string]*parsedRun{}, tc: map[string][2]int64{}}
	for _, r := range opts.Runs {
		pr := &parsedRun{Run: r}
		if r.Pattern != "" {
			re, err := regexp.Compile(r.Pattern)
			if err != nil {
				return nil, fmt.Errorf("test %s: parse pattern: %w", r.ID, err)
			}
			pr.pattern = re
		}
		p.runs[r.ID] = pr
	}
	return p, nil
}

// Feed parses one console line (its trailing CR/LF are ignored). n is the
// line's number in the job log, now the time it was read.
func (p *Parser) Feed(line string, n int64, now time.Time) []Record {
	line = strings.TrimRight(line, "\r\n")
	var out []Record
	if strings.Contains(line, "<LAVA_TEST_RUNNER ") {
		if strings.Contains(line, runnerInstallFail) {
			out = append(out, Record{Kind: KindError, Line: n, Text: "lava-test-runner: an install.sh failed"})
		}
		if strings.Contains(line, runnerExit) {
			if p.cur != nil {
				out = append(out, Record{Kind: KindWarning, Line: n, Text: fmt.Sprintf("test run %s ended without ENDRUN", p.curID)})
				out = append(out, p.endRun(n, now, "fail"))
			}
			out = append(out, Record{Kind: KindRunnerExit, Line: n, Text: "lava-test-runner exited"})
		}
		return out
	}
	if strings.Contains(line, "<LAVA_MULTI_NODE>") {
		return p.multinode(line, n, out) // issue 21: multinode.go
	}
	if !strings.Contains(line, "<LAVA_SIGNAL_") {
		if p.cur != nil && p.cur.pattern != nil {
			out = p.pattern(line, n, out)
		}
		return out
	}
	for _, m := range signalRE.FindAllStringSubmatch(line, -1) {
		out = p.signal(m[1], strings.Fields(m[2]), n, now, out)
	}
	return out
}

// Close ends the parse (the connection closed or the test timed out): an
// open test run gets a failed lava record.
func (p *Parser) Close(n int64, now time.Time) []Record {
	if p.cur == nil {
		return nil
	}
	return []Record{
		{Kind: KindWarning, Line: n, Text: fmt.Sprintf("test run %s ended without ENDRUN", p.curID)},
		p.endRun(n, now, "fail"),
	}
}

func (p *Parser) warn(out []Record, n int64, format string, args ...any) []Record {
	return append(out, Record{Kind: KindWarning, Line: n, Text: fmt.Sprintf(format, args...)})
}

func (p *Parser) base(definition, name, result string) map[string]any {
	m := map[string]any{"definition": definition, "case": name, "result": result}
	if p.opts.Level != "" {
		m["level"] = p.opts.Level
	}
	if p.opts.Namespace != "" {
		m["namespace"] = p.opts.Namespace
	}
	return m
}

func (p *Parser) signal(name string, params []string, n int64, now time.Time, out []Record) []Record {
	switch name {
	case "STARTRUN":
		if len(params) < 2 {
			return p.warn(out, n, "malformed STARTRUN signal: %q", strings.Join(params, " "))
		}
		if p.cur != nil {
			out = p.warn(out, n, "STARTRUN %s while %s is running", params[0], p.curID)
			out = append(out, p.endRun(n, now, "fail"))
		}
		pr, ok := p.runs[params[0]]
		if !ok {
			pr = &parsedRun{Run: Run{ID: params[0]}}
		}
		p.cur, p.curID, p.start = pr, params[0], now
		p.cur.UUID = params[1]
		p.set = ""
		clear(p.tc)
	case "ENDRUN":
		if len(params) < 2 {
			return p.warn(out, n, "malformed ENDRUN signal: %q", strings.Join(params, " "))
		}
		if p.cur == nil || params[0] != p.curID {
			return p.warn(out, n, "ENDRUN %s without its STARTRUN", params[0])
		}
		out = append(out, p.endRun(n, now, "pass"))
	case "TESTCASE":
		return p.testCase(params, n, out)
	case "STARTTC", "ENDTC":
		if len(params) != 1 {
			return p.warn(out, n, "malformed %s signal: %q", name, strings.Join(params, " "))
		}
		v := p.tc[params[0]]
		if name == "STARTTC" {
			v[0] = n
		} else {
			v[1] = n
		}
		p.tc[params[0]] = v
	case "TESTSET":
		switch {
		case len(params) == 2 && params[0] == "START":
			if p.set != "" {
				out = p.warn(out, n, "test set %s started inside test set %s", params[1], p.set)
			}
			p.set = params[1]
		case len(params) == 1 && params[0] == "STOP":
			if p.set == "" {
				return p.warn(out, n, "TESTSET STOP without START")
			}
			p.set = ""
		default:
			return p.warn(out, n, "malformed TESTSET signal: %q", strings.Join(params, " "))
		}
	case "TESTREFERENCE":
		if len(params) != 3 {
			return p.warn(out, n, "TESTREFERENCE needs exactly 3 parameters (case result url), got %q", strings.Join(params, " "))
		}
		if p.cur == nil {
			return p.warn(out, n, "TESTREFERENCE %s outside a test run", params[0])
		}
		if !results.ValidResult(params[1]) {
			return append(out, Record{Kind: KindError, Line: n, Text: "Bad test result: " + params[1]})
		}
		m := p.base(p.curID, params[0], params[1])
		m["reference"] = params[2]
		if p.set != "" {
			m["set"] = p.set
		}
		out = append(out, Record{Kind: KindResult, Line: n, Msg: m})
	case "TESTRAISE":
		msg := strings.Join(params, " ")
		return append(out, Record{Kind: KindError, Line: n, Text: msg})
	case "TESTFEEDBACK":
		if len(params) != 1 {
			return p.warn(out, n, "malformed TESTFEEDBACK signal: %q", strings.Join(params, " "))
		}
		return append(out, Record{Kind: KindFeedback, Line: n, Text: params[0]})
	case "TESTEVENT":
		return append(out, Record{Kind: KindEvent, Line: n, Text: strings.Join(params, " ")})
	default:
		return p.warn(out, n, "unknown signal LAVA_SIGNAL_%s", name)
	}
	return out
}

func (p *Parser) testCase(params []string, n int64, out []Record) []Record {
	kv := map[string]string{}
	for _, s := range params {
		k, v, ok := strings.Cut(s, "=")
		if !ok {
			return p.warn(out, n, "malformed TESTCASE signal: %q", strings.Join(params, " "))
		}
		kv[k] = v
	}
	id, res := kv["TEST_CASE_ID"], kv["RESULT"]
	if id == "" || res == "" {
		return p.warn(out, n, "TESTCASE without TEST_CASE_ID or RESULT: %q", strings.Join(params, " "))
	}
	if p.cur == nil {
		return p.warn(out, n, "TESTCASE %s outside a test run", id)
	}
	return p.addCase(id, res, kv["MEASUREMENT"], kv["UNITS"], n, out)
}

func (p *Parser) addCase(id, res, measurement, units string, n int64, out []Record) []Record {
	if !results.ValidResult(res) {
		return append(out, Record{Kind: KindError, Line: n, Text: "Bad test result: " + res})
	}
	m := p.base(p.curID, id, res)
	if measurement != "" {
		f, err := results.ParseMeasurement(measurement)
		if err != nil {
			return append(out, Record{Kind: KindError, Line: n, Text: fmt.Sprintf("Invalid measurement %s for %s: %v", measurement, id, err)})
		}
		m["measurement"] = f
	}
	if units != "" {
		m["units"] = units
	}
	if p.set != "" {
		m["set"] = p.set
	}
	if tc, ok := p.tc[id]; ok {
		if tc[0] != 0 {
			m["starttc"] = tc[0]
		}
		if tc[1] != 0 {
			m["endtc"] = tc[1]
		}
		delete(p.tc, id)
	}
	return append(out, Record{Kind: KindResult, Line: n, Msg: m})
}

func (p *Parser) pattern(line string, n int64, out []Record) []Record {
	re := p.cur.pattern
	m := re.FindStringSubmatch(line)
	if m == nil {
		return out
	}
	var id, res, meas, units string
	for i, name := range re.SubexpNames() {
		switch name {
		case "test_case_id":
			id = m[i]
		case "result":
			res = m[i]
		case "measurement":
			meas = m[i]
		case "units":
			units = m[i]
		}
	}
	id = strings.TrimSpace(id)
	if id == "" {
		return out
	}
	res = strings.TrimSpace(res)
	if fixed, ok := p.cur.Fixup[res]; ok {
		res = fixed
	}
	return p.addCase(id, res, strings.TrimSpace(meas), strings.TrimSpace(units), n, out)
}

func (p *Parser) endRun(n int64, now time.Time, result string) Record {
	r := p.cur
	m := p.base(results.LavaSuite, p.curID, result)
	m["uuid"] = r.UUID
	d := now.Sub(p.start)
	if d < 0 {
		d = 0
	}
	m["duration"] = strconv.FormatFloat(d.Seconds(), 'f', 2, 64)
	if r.Repository != "" {
		m["repository"] = r.Repository
	}
	if r.Path != "" {
		m["path"] = r.Path
	}
	if r.Revision != "" {
		m["revision"] = r.Revision
	}
	if r.CommitID != "" {
		m["commit_id"] = r.CommitID
	}
	p.cur, p.curID, p.set = nil, "", ""
	clear(p.tc)
	return Record{Kind: KindResult, Line: n, Msg: m}
}
