package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/testlab"
)

// callbackReceiver is a real HTTP receiver that answers 503 until told
// to accept, and records every callback with the answer it gave.
type callbackReceiver struct {
	mu     sync.Mutex
	accept bool
	got    []receivedCallback
}

type receivedCallback struct {
	State  int // the body's state: 3 Running, 5 Finished
	Token  string
	Status int // the answer given
	Keys   int
}

func (c *callbackReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var body map[string]any
	b, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(b, &body)
	st, _ := body["state"].(float64)
	c.mu.Lock()
	code := http.StatusServiceUnavailable
	if c.accept {
		code = http.StatusOK
	}
	c.got = append(c.got, receivedCallback{State: int(st), Token: r.Header.Get("X-CI-Token"), Status: code, Keys: len(body)})
	c.mu.Unlock()
	w.WriteHeader(code)
}

// answered counts, per body state, the callbacks answered with status.
func (c *callbackReceiver) answered(status int) map[int]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[int]int{}
	for _, g := range c.got {
		if g.Status == status {
			out[g.State]++
		}
	}
	return out
}

// TestNotificationSurvivesKill: a job with callbacks on its start and end
// (criteria all) runs on a real lab while the receiver answers 503; once
// the job has ended and its callback has been refused, lava-server is
// killed with SIGKILL; the receiver then accepts and the server is
// started again: each callback arrives exactly once with a 2xx answer,
// and the job's notifications and /metrics say so.
func TestNotificationSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("real lava-server and lava-worker processes: not in -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	bins, err := testlab.Build(ctx)
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(bins.Dir) })
	rcv := &callbackReceiver{}
	srv := httptest.NewServer(rcv)
	t.Cleanup(srv.Close)

	lab := testlab.Start(t, testlab.Options{Bins: bins, ServerArgs: []string{
		"--notify-backoff", "100ms", "--notify-max-backoff", "300ms", "--notify-attempts", "1000", "--notify-timeout", "2s"}})
	job := strings.Replace(testlab.LocalJob("notified", 1), "visibility: public\n", fmt.Sprintf(`visibility: public
metadata:
  kernel.version: '6.1.0'
notify:
  criteria: {status: all}
  callback: {url: '%s/lava', method: POST, dataset: all, token: ci-secret, header: X-CI-Token, content-type: json}
`, srv.URL), 1)
	if !strings.Contains(job, "notify:") {
		t.Fatalf("no visibility line to add notify: after in\n%s", job)
	}
	id := lab.Submit(job)
	if j := lab.WaitJob(id, "Finished", 2*time.Minute); j.Health != "Complete" {
		t.Fatalf("job %d: %s (%s)", id, j.Health, j.FailureComment)
	}
	// The end's callback has been tried (and refused) at least once.
	waitFor(t, "a refused callback of the job's end", func() bool { return rcv.answered(503)[5] > 0 })
	lab.KillServer()
	rcv.mu.Lock()
	rcv.accept = true
	rcv.mu.Unlock()
	lab.RestartServer()

	waitFor(t, "both callbacks answered 200", func() bool {
		a := rcv.answered(200)
		return a[3] >= 1 && a[5] >= 1
	})
	// Several backoffs later, nothing more was sent.
	time.Sleep(2 * time.Second)
	if a := rcv.answered(200); a[3] != 1 || a[5] != 1 {
		t.Errorf("callbacks answered 200 by the job's state: %v, want exactly one for Running (3) and one for Finished (5)", a)
	}
	rcv.mu.Lock()
	for _, g := range rcv.got {
		if g.Keys == 0 && g.Status != http.StatusOK {
			continue // a request cut by the kill
		}
		if g.Token != "ci-secret" || g.Keys != 20 { // LAVA's 17 fields + token, log, results
			t.Errorf("callback %+v: want the token header and 20 fields", g)
		}
	}
	rcv.mu.Unlock()

	var v struct {
		Notifications []struct {
			Event, State string
			Attempts     []struct {
				StatusCode int    `json:"status_code"`
				Error      string `json:"error"`
			}
		} `json:"notifications"`
	}
	lab.API("GET", fmt.Sprintf("/jobs/%d", id), nil, &v)
	if len(v.Notifications) != 2 {
		t.Fatalf("notifications = %+v", v.Notifications)
	}
	for _, n := range v.Notifications {
		last := n.Attempts[len(n.Attempts)-1]
		if n.State != "sent" || last.StatusCode != 200 || len(n.Attempts) < 2 || n.Attempts[0].StatusCode != 503 {
			t.Errorf("%s notification: %s %+v", n.Event, n.State, n.Attempts)
		}
	}
	resp, err := http.Get(lab.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`lava_notifications_sent_total{kind="callback"} 2`, `lava_notifications{state="pending"} 0`, `lava_notifications{state="sent"} 2`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

// waitFor polls cond; the limit only keeps a broken lab from hanging.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 2 minutes", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
