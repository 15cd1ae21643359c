package worker

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/workerproto"
)

// TestLogShipperCoalesces: batches handed over while a request is in
// flight leave together in the next one, each gets its own answer, a
// job's refusal comes back as the per-job endpoint's error, and a failed
// request fails each of its batches with a retryable error.
func TestLogShipperCoalesces(t *testing.T) {
	var requests atomic.Int32
	release := make(chan struct{})
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != workerproto.Prefix+"/logs" || r.Header.Get(workerproto.HeaderJobToken) != "" {
			http.Error(w, "unexpected request "+r.URL.Path, http.StatusBadRequest)
			return
		}
		if requests.Add(1) == 1 {
			<-release // the first request is slow: the others queue
		}
		var ack workerproto.WorkerLogsAck
		sc := bufio.NewScanner(r.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var b workerproto.LogBatch
			if err := json.Unmarshal(sc.Bytes(), &b); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			a := workerproto.JobLogAck{Job: b.Job, Next: b.First + int64(len(b.Records))}
			switch b.Token {
			case "gap":
				exp := int64(3)
				a = workerproto.JobLogAck{Job: b.Job, Status: http.StatusConflict, Error: &workerproto.ErrorInfo{Code: workerproto.CodeLogGap, Message: "gap", Details: &workerproto.ErrorDetail{Expected: &exp}}}
			case "fail":
				w.WriteHeader(http.StatusInternalServerError)
				_, _ = w.Write([]byte(`{"error":{"code":"internal","message":"boom"}}`))
				return
			}
			ack.Jobs = append(ack.Jobs, a)
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(ack)
	}))
	defer hs.Close()
	s := &logShipper{c: &Client{URL: hs.URL, Token: "t", Version: "v1"}}
	ctx := context.Background()
	rec := encodeRecords([]workerproto.Record{{Time: time.Now(), Level: "target", Message: "x"}})
	rec2 := encodeRecords([]workerproto.Record{{Time: time.Now(), Level: "target", Message: "x"}, {Time: time.Now(), Level: "target", Message: "y"}})

	first := make(chan error, 1)
	go func() {
		_, err := s.send(ctx, 1, "tok-1", 0, rec)
		first <- err
	}()
	for requests.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	var wg sync.WaitGroup
	results := make([]int64, 50)
	errs := make([]error, 50)
	for i := range 50 {
		wg.Go(func() { results[i], errs[i] = s.send(ctx, int64(100+i), "tok", int64(i), rec2) })
	}
	time.Sleep(50 * time.Millisecond) // let them queue behind the slow request
	close(release)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if errs[i] != nil || results[i] != int64(i)+2 {
			t.Errorf("batch %d: next %d err %v, want %d", i, results[i], errs[i], i+2)
		}
	}
	if n := requests.Load(); n > 3 {
		t.Errorf("%d requests for 51 batches, want them coalesced (≤ 3)", n)
	}

	_, err := s.send(ctx, 7, "gap", 10, rec)
	var e *Error
	if !errors.As(err, &e) || e.Code != workerproto.CodeLogGap || e.Status != http.StatusConflict {
		t.Fatalf("gap: %v, want a 409 log_gap *Error", err)
	}
	if exp, ok := e.Expected(); !ok || exp != 3 {
		t.Fatalf("gap: expected %d %v, want 3", exp, ok)
	}
	_, err = s.send(ctx, 8, "fail", 0, rec)
	if err == nil || !Retryable(err) {
		t.Fatalf("failed request: %v, want a retryable error", err)
	}
	if !bytes.Contains(appendJobBatch(nil, &shipment{job: 9, token: "a\"b", recs: rec}), []byte(`"token":"a\"b"`)) {
		t.Fatal("the token is not JSON-escaped")
	}
}
