package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkSubmit measures one job submission through the handler into a
// real SQLite store (parse, checks, insert), without the network.
func BenchmarkSubmit(b *testing.B) {
	e := newEnv(b)
	for b.Loop() {
		req := httptest.NewRequest("POST", "/api/v1/jobs", strings.NewReader(qemuJob))
		req.Header.Set("Content-Type", "application/yaml")
		req.Header.Set("Authorization", "Token "+e.bob)
		rec := httptest.NewRecorder()
		e.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			b.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkSubmitParallel is BenchmarkSubmit from many goroutines at once,
// as HTTP clients submit: the store batches concurrent inserts.
func BenchmarkSubmitParallel(b *testing.B) {
	e := newEnv(b)
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest("POST", "/api/v1/jobs", strings.NewReader(qemuJob))
			req.Header.Set("Content-Type", "application/yaml")
			req.Header.Set("Authorization", "Token "+e.bob)
			rec := httptest.NewRecorder()
			e.h.ServeHTTP(rec, req)
			if rec.Code != http.StatusCreated {
				b.Errorf("%d %s", rec.Code, rec.Body)
				return
			}
		}
	})
}
