package workerserver

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestReadBody: a body is read whole with or without a Content-Length;
// one over the limit is refused with 413, one shorter than its
// Content-Length with 400.
func TestReadBody(t *testing.T) {
	for _, tc := range []struct {
		name   string
		body   string
		length int64 // -1: unknown (chunked)
		limit  int64
		status int // 0: read
	}{
		{"announced", "hello", 5, 10, 0},
		{"unknown length", "hello", -1, 10, 0},
		{"announced over the limit", "hello world", 11, 10, http.StatusRequestEntityTooLarge},
		{"unknown length over the limit", "hello world", -1, 10, http.StatusRequestEntityTooLarge},
		{"shorter than announced", "hel", 5, 10, http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", io.NopCloser(strings.NewReader(tc.body)))
			r.ContentLength = tc.length
			w := httptest.NewRecorder()
			b, ok := readBody(w, r, tc.limit)
			if tc.status == 0 {
				if !ok || string(b) != tc.body {
					t.Fatalf("got %q %v (answer %d %s), want %q", b, ok, w.Code, w.Body, tc.body)
				}
				return
			}
			if ok || w.Code != tc.status {
				t.Fatalf("got ok=%v answer %d %s, want %d", ok, w.Code, w.Body, tc.status)
			}
		})
	}
}
