package workerproto_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/core/worker"
	"github.com/lavalab/lavalab/core/workerproto"
)

// stoppingServer serves l's protocol with a base context, as lava-server
// does: cancelling it is the server stopping while it holds polls.
func stoppingServer(t *testing.T, l *lab) (url string, stop func()) {
	t.Helper()
	base, cancel := context.WithCancel(context.Background())
	r := chi.NewRouter()
	l.srv.Mount(r)
	hs := httptest.NewUnstartedServer(r)
	hs.Config.BaseContext = func(net.Listener) context.Context { return base }
	hs.Start()
	t.Cleanup(hs.Close)
	return hs.URL, cancel
}

// A poll the server holds when it stops ends with a 503 server_stopping
// answer, which the worker counts as the server being unavailable, not as
// an answer it cannot decode.
func TestPollServerStopping(t *testing.T) {
	l := newLab(t, "v1")
	url, stop := stoppingServer(t, l)
	c := &worker.Client{URL: url, Token: l.token, Version: "v1", Name: "w1"}
	errc := make(chan error, 1)
	go func() {
		_, err := c.Poll(context.Background(), workerproto.PollRequest{}, 30*time.Second)
		errc <- err
	}()
	time.Sleep(200 * time.Millisecond) // the poll is held
	stop()
	var err error
	select {
	case err = <-errc:
	case <-time.After(20 * time.Second):
		t.Fatal("the held poll did not end when the server stopped")
	}
	var e *worker.Error
	if !errors.As(err, &e) || e.Status != http.StatusServiceUnavailable || e.Code != workerproto.CodeStopping {
		t.Fatalf("err = %v, want a 503 %s", err, workerproto.CodeStopping)
	}
	if !worker.Unavailable(err) {
		t.Errorf("Unavailable(%v) = false", err)
	}
}

func TestUnavailable(t *testing.T) {
	// An empty 200 answer: what a server without the 503 sends when it stops.
	empty := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer empty.Close()
	_, err := (&worker.Client{URL: empty.URL, Token: "x", Version: "v1"}).Poll(context.Background(), workerproto.PollRequest{}, time.Second)
	if !errors.Is(err, worker.ErrNoAnswer) || !worker.Unavailable(err) {
		t.Errorf("empty answer: %v", err)
	}
	// A server that is gone: connection refused.
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	_, err = (&worker.Client{URL: gone.URL, Token: "x", Version: "v1"}).Poll(context.Background(), workerproto.PollRequest{}, time.Second)
	if !worker.Unavailable(err) {
		t.Errorf("closed server: Unavailable(%v) = false", err)
	}
	// Not unavailability: bad JSON, a refused token, an internal error.
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("{")) }))
	defer bad.Close()
	_, err = (&worker.Client{URL: bad.URL, Token: "x", Version: "v1"}).Poll(context.Background(), workerproto.PollRequest{}, time.Second)
	if err == nil || worker.Unavailable(err) {
		t.Errorf("truncated JSON: Unavailable(%v) = true", err)
	}
	for _, e := range []error{
		&worker.Error{Status: http.StatusUnauthorized, ErrorInfo: workerproto.ErrorInfo{Code: workerproto.CodeUnauthorized}},
		&worker.Error{Status: http.StatusInternalServerError, ErrorInfo: workerproto.ErrorInfo{Code: "internal"}},
	} {
		if worker.Unavailable(e) {
			t.Errorf("Unavailable(%v) = true", e)
		}
	}
}

// The worker logs a server that stops mid-poll as a reconnect, at info
// level, and polls again.
func TestWorkerReconnectsWhenServerStops(t *testing.T) {
	l := newLab(t, "v1")
	url, stop := stoppingServer(t, l)
	var logs testenv.SyncBuffer
	w, err := worker.NewWorker(worker.WorkerOptions{
		Client:  &worker.Client{URL: url, Token: l.token, Version: "v1", Name: "w1"},
		WorkDir: t.TempDir(), Runner: idleRunner{}, PollWait: 30 * time.Second,
		RetryMin: 50 * time.Millisecond, RetryMax: 100 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	time.Sleep(300 * time.Millisecond) // the first poll is held
	stop()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(logs.String(), "reconnecting") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	out := logs.String()
	if !strings.Contains(out, "level=INFO msg=\"the server is unavailable (stopping or restarting); reconnecting\"") {
		t.Errorf("no reconnect logged:\n%s", out)
	}
	if strings.Contains(out, "poll failed") || strings.Contains(out, "unexpected end of JSON input") {
		t.Errorf("a stopping server is logged as a failure:\n%s", out)
	}
}

// idleRunner runs no job (none is scheduled in these tests).
type idleRunner struct{}

func (idleRunner) Run(context.Context, workerproto.StartJob, worker.Sink) worker.Outcome {
	return worker.Outcome{}
}
