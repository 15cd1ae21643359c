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
