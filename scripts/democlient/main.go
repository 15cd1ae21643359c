package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
	"unicode"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	interrupted := ctx.Err() != nil
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "democlient:", err)
		if interrupted {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

const usage = "usage: democlient wait URL [SECONDS [PID]] | submit URL TOKEN JOB.yaml | follow URL TOKEN ID [all]"

func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) < 2 {
		return errors.New(usage)
	}
	c := client{url: args[1], http: &http.Client{Timeout: 30 * time.Second}}
	switch {
	case args[0] == "wait" && len(args) <= 4:
		secs, pid := 20, 0
		var err error
		if len(args) >= 3 {
			if secs, err = strconv.Atoi(args[2]); err != nil || secs <= 0 {
				return fmt.Errorf("wait: bad SECONDS %q", args[2])
			}
		}
		if len(args) == 4 {
			if pid, err = strconv.Atoi(args[3]); err != nil || pid <= 0 {
				return fmt.Errorf("wait: bad PID %q", args[3])
			}
		}
		return c.wait(ctx, time.Duration(secs)*time.Second, pid)
	case args[0] == "submit" && len(args) == 4:
		c.token = args[2]
		id, err := c.submit(ctx, args[3])
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, id)
		return nil
	case args[0] == "follow" && (len(args) == 4 || len(args) == 5 && args[4] == "all"):
		c.token = args[2]
		ctx, cancel := context.WithTimeout(ctx, 15*time.Minute)
		defer cancel()
		return c.follow(ctx, args[3], len(args) == 5, stdout)
	}
	return errors.New(usage)
}

// client calls one server's REST API.
type client struct {
	url, token string
	http       *http.Client
}

// call sends one request and decodes a JSON answer into out (nil: ignored).
func (c client) call(ctx context.Context, method, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.url+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Token "+c.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/yaml")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(b))
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decoding the answer: %w", method, path, err)
		}
	}
	return nil
}

// wait polls /healthz until it answers, for at most limit; it gives up
// early when process pid (0: none) has exited.
func (c client) wait(ctx context.Context, limit time.Duration, pid int) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	for {
		if c.call(ctx, "GET", "/healthz", nil, nil) == nil {
			return nil
		}
		if pid > 0 && syscall.Kill(pid, 0) != nil {
			return fmt.Errorf("%s: the server (pid %d) has exited", c.url, pid)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s does not answer after %s", c.url, limit)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// submit posts a job definition file and returns the (first) job id.
func (c client) submit(ctx context.Context, file string) (int64, error) {
	def, err := os.ReadFile(file)
	if err != nil {
		return 0, fmt.Errorf("reading the job: %w", err)
	}
	var res struct {
		ID  int64   `json:"id"`
		IDs []int64 `json:"ids"`
	}
	if err := c.call(ctx, "POST", "/api/v1/jobs", def, &res); err != nil {
		return 0, fmt.Errorf("submitting %s: %w", file, err)
	}
	if res.ID == 0 && len(res.IDs) > 0 {
		res.ID = res.IDs[0]
	}
	if res.ID == 0 {
		return 0, fmt.Errorf("submitting %s: the answer holds no job id", file)
	}
	return res.ID, nil
}

// logPage is one answer of GET /api/v1/jobs/{id}/logs.
type logPage struct {
	Next     int64 `json:"next"`
	Finished bool  `json:"finished"`
	Records  []struct {
		Time  string          `json:"dt"`
		Level string          `json:"lvl"`
		Msg   json.RawMessage `json:"msg"`
	} `json:"records"`
}

// jobView is the part of a job the demo shows.
type jobView struct {
	State          string  `json:"state"`
	Health         string  `json:"health"`
	Device         string  `json:"actual_device"`
	ErrorType      string  `json:"error_type"`
	FailureComment string  `json:"failure_comment"`
	SubmitTime     *string `json:"submit_time"`
	StartTime      *string `json:"start_time"`
	EndTime        *string `json:"end_time"`
}

// follow prints the job's log as it comes (each line with its time since
// the first record; debug records only with all), then the job's end and
// its results table. It fails unless the job ended Complete.
func (c client) follow(ctx context.Context, id string, all bool, w io.Writer) error {
	var next int64
	var first time.Time
	hidden := 0
	for {
		var page logPage
		if err := c.call(ctx, "GET", fmt.Sprintf("/api/v1/jobs/%s/logs?start=%d&limit=1000", id, next), nil, &page); err != nil {
			return fmt.Errorf("following job %s: %w", id, err)
		}
		for _, r := range page.Records {
			at := ""
			if t, err := time.Parse(time.RFC3339Nano, r.Time); err == nil {
				if first.IsZero() {
					first = t
				}
				at = fmt.Sprintf("%7.3fs", t.Sub(first).Seconds())
			}
			if r.Level == "debug" && !all {
				hidden++
				continue
			}
			var s string
			if json.Unmarshal(r.Msg, &s) != nil {
				s = string(r.Msg)
			}
			fmt.Fprintf(w, "%s %-8s %s\n", at, r.Level, printable(shorten(strings.TrimRight(s, "\r\n"))))
		}
		next = page.Next
		if page.Finished && len(page.Records) == 0 {
			break
		}
		if len(page.Records) == 0 {
			select {
			case <-ctx.Done():
				return fmt.Errorf("following job %s: %w", id, ctx.Err())
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	var job jobView
	if err := c.call(ctx, "GET", "/api/v1/jobs/"+id, nil, &job); err != nil {
		return fmt.Errorf("reading job %s: %w", id, err)
	}
	var res struct {
		Cases []struct {
			Suite       string   `json:"suite"`
			Name        string   `json:"name"`
			Result      string   `json:"result"`
			Units       string   `json:"units"`
			Measurement *float64 `json:"measurement"`
		} `json:"cases"`
	}
	if err := c.call(ctx, "GET", "/api/v1/jobs/"+id+"/results", nil, &res); err != nil {
		return fmt.Errorf("reading the results of job %s: %w", id, err)
	}
	if hidden > 0 {
		fmt.Fprintf(w, "(%d debug lines not shown: the job's web page and `make demo DEMO_LOG=all` show them)\n", hidden)
	}
	fmt.Fprintf(w, "\n==> job %s on %s: %s, %s%s\n\n", id, job.Device, job.State, job.Health, timing(job))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SUITE\tTEST CASE\tRESULT\tMEASUREMENT")
	for _, c := range res.Cases {
		m := ""
		if c.Measurement != nil {
			m = strconv.FormatFloat(*c.Measurement, 'f', -1, 64) + " " + c.Units
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Suite, c.Name, c.Result, m)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if job.Health != "Complete" {
		return fmt.Errorf("job %s ended %s (%s: %s)", id, job.Health, job.ErrorType, job.FailureComment)
	}
	return nil
}

// timing says how long the job waited and ran, from its time stamps.
func timing(j jobView) string {
	parse := func(s *string) time.Time {
		if s == nil {
			return time.Time{}
		}
		t, _ := time.Parse(time.RFC3339Nano, *s)
		return t
	}
	sub, start, end := parse(j.SubmitTime), parse(j.StartTime), parse(j.EndTime)
	if sub.IsZero() || start.IsZero() || end.IsZero() {
		return ""
	}
	return fmt.Sprintf(" in %.1f s (queued %.2f s, ran %.1f s)", end.Sub(sub).Seconds(), start.Sub(sub).Seconds(), end.Sub(start).Seconds())
}

// maxLine is the longest log message shown whole: longer ones (the test
// overlay sent over the console in base64, for one) are cut, saying by how
// much; the full log stays on the server.
const maxLine = 200

func shorten(s string) string {
	r := []rune(s)
	if len(r) <= maxLine {
		return s
	}
	return fmt.Sprintf("%s … (%d more characters)", string(r[:maxLine-40]), len(r)-(maxLine-40))
}

// printable replaces control characters (a board's console sends escape
// sequences, such as busybox's cursor position query ESC[6n, which a
// terminal would answer) by visible \xNN escapes; tabs and backspaces
// (U-Boot's autoboot countdown) stay.
func printable(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r == '\t' || r == '\b' || !unicode.IsControl(r) {
			b.WriteRune(r)
			continue
		}
		fmt.Fprintf(&b, "\\x%02x", r)
	}
	return b.String()
}
