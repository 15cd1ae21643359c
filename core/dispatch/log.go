package dispatch

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/results"
	"github.com/lavalab/lavalab/core/testshell"
)

// jobLog numbers a job's records, hands them to the sink in order and keeps
// the test cases. It is safe for concurrent use: the console reader and the
// stage runner both log.
type jobLog struct {
	mu     sync.Mutex
	sink   Sink
	next   int64
	cases  []model.TestCase
	now    func() time.Time
	lastTa int64 // index of the last target record

	// parser is the running test shell's signal parser, if any; found gets
	// what it finds that ends or fails the stage.
	parser *testshell.Parser
	found  chan testshell.Record
}

func newJobLog(sink Sink) *jobLog {
	if sink == nil {
		sink = SinkFunc(func(model.LogRecord) {})
	}
	return &jobLog{sink: sink, now: time.Now, lastTa: -1}
}

// emit sends one record; called with mu held.
func (l *jobLog) emit(level, msg string, structured bool) int64 {
	i := l.next
	l.next++
	l.sink.Record(model.LogRecord{Index: i, Time: l.now().UTC(), Level: level, Message: msg, Structured: structured})
	return i
}

func (l *jobLog) log(level, format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.emit(level, fmt.Sprintf(format, args...), false)
}

func (l *jobLog) info(format string, args ...any)  { l.log(model.LevelInfo, format, args...) }
func (l *jobLog) debug(format string, args ...any) { l.log(model.LevelDebug, format, args...) }
func (l *jobLog) warn(format string, args ...any)  { l.log(model.LevelWarning, format, args...) }
func (l *jobLog) errorf(format string, args ...any) {
	l.log(model.LevelError, format, args...)
}

// input logs what is sent to the board.
func (l *jobLog) input(text string) { l.log(model.LevelInput, "%s", text) }

// target logs one raw console line. The carriage returns that end it
// (a console's CRLF line ending) are not part of the line, as in LAVA's
// logs; any other \r (a countdown redrawn in place) is kept raw.
func (l *jobLog) target(raw string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lastTa = l.emit(model.LevelTarget, strings.TrimRight(raw, "\r"), false)
}

// result logs a results record and keeps its case. A record LAVA would
// refuse is logged as a warning instead.
func (l *jobLog) result(msg map[string]any, line int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.resultLocked(msg, line)
}

func (l *jobLog) resultLocked(msg map[string]any, line int64) {
	b, err := json.Marshal(msg)
	if err != nil {
		l.emit(model.LevelWarning, fmt.Sprintf("results record not logged: %v", err), false)
		return
	}
	idx := l.emit(model.LevelResults, string(b), true)
	if line < 0 {
		line = idx
	}
	c, err := results.FromRecord(msg, line)
	if err != nil {
		l.emit(model.LevelWarning, fmt.Sprintf("results record ignored: %v", err), false)
		return
	}
	tc := model.TestCase{
		Suite: c.Suite, Name: c.Name, Result: model.TestResult(c.Code()),
		Measurement: c.Measurement, Units: c.Units, Set: c.Set,
		Metadata: b, Logged: l.now().UTC(), LogStart: c.LogStart, LogEnd: c.LogEnd,
	}
	if tc.LogStart == 0 && tc.LogEnd == 0 {
		tc.LogStart, tc.LogEnd = idx, idx
	}
	l.cases = append(l.cases, tc)
}

// onLine feeds a cleaned console line to the running test shell parser.
func (l *jobLog) onLine(clean string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.parser == nil {
		return
	}
	l.handle(l.parser.Feed(clean, l.lastTa, l.now()))
}

// handle logs parser records; called with mu held.
func (l *jobLog) handle(recs []testshell.Record) {
	for _, r := range recs {
		switch r.Kind {
		case testshell.KindResult:
			l.resultLocked(r.Msg, r.Line)
		case testshell.KindRunnerExit:
			l.emit(model.LevelInfo, "lava-test-runner exited", false)
		default:
			l.emit(r.Kind.LogLevel(), r.Text, false)
		}
		if r.Kind == testshell.KindError || r.Kind == testshell.KindRunnerExit || r.Kind == testshell.KindMultinode {
			select {
			case l.found <- r:
			default:
				l.emit(model.LevelError, "test shell records are not read fast enough: dropped "+r.Text, false)
			}
		}
	}
}

// startParser makes p the running parser.
func (l *jobLog) startParser(p *testshell.Parser) <-chan testshell.Record {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.parser = p
	l.found = make(chan testshell.Record, 256)
	return l.found
}

// stopParser closes the running parser (an open run gets its failed record).
func (l *jobLog) stopParser() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.parser == nil {
		return
	}
	l.handle(l.parser.Close(l.lastTa, l.now()))
	l.parser = nil
}

func (l *jobLog) takeCases() []model.TestCase {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]model.TestCase(nil), l.cases...)
}
