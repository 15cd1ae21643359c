// Command synthworker is lava-worker's runtime (worker.Main, the same
// poll loop, spool, reporting and upgrade) with a synthetic job runner in
// place of the dispatcher: each job emits LAVA_SYNTH_LINES records of 80
// bytes ("line N ..."), one every LAVA_SYNTH_INTERVAL, and ends Complete
// with one test case. It drives the protocol tests and benchmarks (no
// board needed); it is not shipped. Lines are read in bursts every 10 ms
// (or every LAVA_SYNTH_INTERVAL when longer), as a console's are.
// LAVA_SYNTH_STUCK=1 makes a job ignore its cancel once its lines are out
// (a stuck driver or command); LAVA_SYNTH_RECOVER=FILE makes the runner a
// worker.Recoverer that appends the id of each job it recovers to
// FILE.
package main

import (
	"context"
	"fmt"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/worker"
	"github.com/lavalab/lavalab/core/workerproto"
)

func main() {
	// LAVA_SYNTH_PPROF_LISTEN=ADDR serves net/http/pprof (bench/logingest
	// -worker-pprof profiles the worker while it runs).
	if addr := os.Getenv("LAVA_SYNTH_PPROF_LISTEN"); addr != "" {
		go func() { _ = http.ListenAndServe(addr, nil) }()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := worker.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, newRunner)
	stop()
	os.Exit(code)
}

type runner struct {
	lines    int
	interval time.Duration
	stuck    bool
}

// recoverer is a runner that records the jobs it recovers after a restart.
type recoverer struct {
	*runner
	mark string
}

func (r recoverer) Recover(_ context.Context, job workerproto.StartJob, sink worker.Sink) error {
	sink.Record(model.LogRecord{Level: model.LevelInfo, Message: fmt.Sprintf("recovering job %d", job.ID)})
	f, err := os.OpenFile(r.mark, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = fmt.Fprintln(f, job.ID)
	return err
}

func newRunner(context.Context, worker.RunnerEnv) (worker.Runner, func(), error) {
	r := &runner{lines: 100, interval: 10 * time.Millisecond}
	if v := os.Getenv("LAVA_SYNTH_LINES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, nil, fmt.Errorf("LAVA_SYNTH_LINES=%q: want a count", v)
		}
		r.lines = n
	}
	if v := os.Getenv("LAVA_SYNTH_INTERVAL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return nil, nil, fmt.Errorf("LAVA_SYNTH_INTERVAL=%q: %w", v, err)
		}
		r.interval = d
	}
	r.stuck = os.Getenv("LAVA_SYNTH_STUCK") == "1"
	if m := os.Getenv("LAVA_SYNTH_RECOVER"); m != "" {
		return recoverer{r, m}, func() {}, nil
	}
	return r, func() {}, nil
}

// Line returns the synthetic record n: 80 bytes, numbered. One
// allocation: this program stands for a console, whose bytes cost the
// worker nothing to make; its own cost must not weigh on the figures.
func Line(n int) string {
	var b [80]byte
	s := append(b[:0], "line "...)
	s = strconv.AppendInt(s, int64(n), 10)
	s = append(s, ' ')
	for len(s) < 80 {
		s = append(s, 'x')
	}
	return string(s)
}

// readEvery is how often the synthetic console is read: like a serial port,
// whose bytes arrive in bursts (a UART FIFO, the kernel's tty buffer) and
// are read a few lines at a time, not one wake-up per line.
const readEvery = 10 * time.Millisecond

func (r *runner) Run(ctx context.Context, job workerproto.StartJob, sink worker.Sink) worker.Outcome {
	start := time.Now()
	t := time.NewTicker(max(r.interval, readEvery))
	defer t.Stop()
	for i := 0; i < r.lines; {
		if r.interval > 0 {
			select {
			case <-ctx.Done():
				return worker.Outcome{Health: model.JobCanceled, ErrorType: "Canceled", Error: "the job was canceled"}
			case <-t.C:
			}
		}
		// Every line due by now (line i is due at start + i*interval),
		// stamped as it is read.
		due := r.lines
		if r.interval > 0 {
			due = min(r.lines, int(time.Since(start)/r.interval)+1)
		}
		now := time.Now()
		for ; i < due; i++ {
			sink.Record(model.LogRecord{Time: now, Level: model.LevelTarget, Message: Line(i)})
		}
	}
	if r.stuck {
		select {} // never returns, whatever its context says
	}
	return worker.Outcome{Health: model.JobComplete,
		Cases: []model.TestCase{{Suite: "lava", Name: "synthetic", Result: model.ResultPass, LogStart: 0, LogEnd: int64(r.lines)}}}
}
