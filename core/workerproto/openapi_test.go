package workerproto_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/lavalab/lavalab/core/workerproto"
)

// TestOpenAPIMatchesRoutes: every path and method of openapi.json is
// routed by Server.Mount, and every route is documented.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Servers []struct{ URL string }    `json:"servers"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(workerproto.OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") || len(doc.Servers) != 1 || doc.Servers[0].URL != workerproto.Prefix {
		t.Fatalf("openapi %q, servers %+v: want OpenAPI 3 with server %s", doc.OpenAPI, doc.Servers, workerproto.Prefix)
	}
	var documented []string
	for p, ops := range doc.Paths {
		for m := range ops {
			switch m {
			case "get", "post", "put", "patch", "delete":
				documented = append(documented, strings.ToUpper(m)+" "+workerproto.Prefix+p)
			}
		}
	}
	l := newLab(t, "v1")
	r := chi.NewRouter()
	l.srv.Mount(r)
	var routed []string
	must(t, chi.Walk(r, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		routed = append(routed, method+" "+strings.TrimSuffix(strings.ReplaceAll(route, "/*/", "/"), "/"))
		return nil
	}))
	slices.Sort(documented)
	slices.Sort(routed)
	for _, d := range documented {
		if !slices.Contains(routed, d) {
			t.Errorf("documented but not routed: %s", d)
		}
	}
	for _, x := range routed {
		if !slices.Contains(documented, x) {
			t.Errorf("routed but not documented: %s", x)
		}
	}
	if len(routed) < 7 {
		t.Errorf("only %d routes walked: %v", len(routed), routed)
	}

	// Served without a token, as the embedded bytes.
	hs := httptest.NewServer(r)
	defer hs.Close()
	resp, err := http.Get(hs.URL + workerproto.Prefix + "/openapi.json")
	must(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" || string(b) != string(workerproto.OpenAPI) {
		t.Fatalf("GET openapi.json: %d %q, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(b))
	}
}
