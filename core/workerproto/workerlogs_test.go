package workerproto_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/workerproto"
)

// TestWorkerLogs: POST /worker/v1/logs stores each line (a job's batch)
// as POST /jobs/{id}/logs would, and answers each line on its own: a
// refused line (gap, wrong token, unknown job, bad level, malformed JSON)
// does not stop the others.
func TestWorkerLogs(t *testing.T) {
	l := newLab(t, "v1")
	ctx := context.Background()
	j, sj := l.startedJob(t)
	line := func(job int64, token string, first int, n int, level string) string {
		b := workerproto.LogBatch{Job: job, Token: token, First: int64(first), Records: recs(first, n)}
		if level != "" {
			b.Records[len(b.Records)-1].Level = level
		}
		out, err := json.Marshal(b)
		must(t, err)
		return string(out)
	}
	body := strings.Join([]string{
		line(j.ID, sj.Token, 0, 10, ""),        // stored: next 10
		line(j.ID, sj.Token, 0, 10, ""),        // a resend: next 10 (or already there)
		line(j.ID, sj.Token, 30, 5, ""),        // a gap
		line(j.ID, "not-the-token", 10, 5, ""), // wrong token
		line(j.ID+1000, sj.Token, 0, 1, ""),    // no such job
		line(j.ID, sj.Token, 10, 2, "loud"),    // a level LAVA does not have
		`{"job": 1, "first": [}`,               // not JSON
		"",                                     // blank lines are skipped
		line(j.ID, sj.Token, 10, 5, ""),        // stored: next 15
	}, "\n") + "\n"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.url+workerproto.Prefix+"/logs", bytes.NewReader([]byte(body)))
	must(t, err)
	req.Header.Set("Authorization", "Token "+l.token)
	req.Header.Set(workerproto.HeaderVersion, "v1")
	req.Header.Set(workerproto.HeaderName, "w1")
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	var ack workerproto.WorkerLogsAck
	must(t, json.NewDecoder(resp.Body).Decode(&ack))
	want := []string{"next 10", "next 10 or 15", "409 log_gap expected 15?", "403 job_token", "404 not_found", "400 bad_request", "400 bad_request", "next 15"}
	if len(ack.Jobs) != len(want) {
		t.Fatalf("%d answers, want %d: %+v", len(ack.Jobs), len(want), ack.Jobs)
	}
	got := func(a workerproto.JobLogAck) string {
		if a.Error == nil {
			return fmt.Sprintf("next %d", a.Next)
		}
		return fmt.Sprintf("%d %s", a.Status, a.Error.Code)
	}
	for i, a := range ack.Jobs {
		g := got(a)
		ok := false
		switch i {
		case 1: // runs at the same time as line 0: before or after it
			ok = g == "next 10" || g == "next 15" || g == "409 log_gap"
		case 2: // a gap whatever the order
			ok = g == "409 log_gap" && a.Error.Details != nil && a.Error.Details.Expected != nil
		case 7: // line 0 (and 1) may not be stored yet when it runs
			ok = g == "next 15" || g == "409 log_gap"
		default:
			ok = g == want[i]
		}
		if !ok {
			t.Errorf("line %d: %s (%+v), want %s", i+1, g, a.Error, want[i])
		}
	}
	// The lines run at once: what the gaps refused is resent in order, as
	// the worker does.
	next, err := l.client.SendLogs(ctx, j.ID, sj.Token, 0, recs(0, 15))
	must(t, err)
	if next != 15 {
		t.Fatalf("next %d after the resend, want 15", next)
	}
	stored, err := l.st.ReadLogs(ctx, j.ID, 0, 100)
	must(t, err)
	if len(stored) != 15 {
		t.Fatalf("%d records stored, want 15", len(stored))
	}
	for i, r := range stored {
		if r.Message != "line "+itoa(i) {
			t.Errorf("record %d = %q", i, r.Message)
		}
	}
}
