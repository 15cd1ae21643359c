package web

import (
	"context"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/lavalab/lavalab/core/api"
	"github.com/lavalab/lavalab/core/api/apitest"
	"github.com/lavalab/lavalab/core/store"
)

// TestSubmitUnsupportedMethod: the submit form refuses (and Validate
// reports) a boot method the device type's driver does not declare, at its
// line, with what the driver has, and stores nothing.
func TestSubmitUnsupportedMethod(t *testing.T) {
	e := newEnv(t, nil)
	// The same pages, on an API that knows the qemu driver.
	log := slog.New(slog.DiscardHandler)
	a := api.NewAPI(api.Options{Store: e.st, Logger: log, Version: "test-1", Drivers: apitest.QemuDrivers{}})
	w, err := New(Options{Lab: a.Lab(), Key: []byte(strings.Repeat("k", 32)), Logger: log, Version: "test-1"})
	must(t, err)
	r := chi.NewRouter()
	a.Mount(r)
	w.Mount(r)
	e.srv = httptest.NewServer(r)
	t.Cleanup(e.srv.Close)

	bob := e.login("bob")
	bad := strings.Replace(qemuJob, "method: qemu", "method: grub", 1)
	const msg = `device type qemu (driver qemu 0.3.0) has no boot method "grub"; it has: qemu, qemu-nfs`
	for _, action := range []string{"validate", "submit"} {
		resp := bob.post("/submit", url.Values{"csrf": {bob.csrf()}, "definition": {bad}, "action": {action}})
		if resp.status != http.StatusUnprocessableEntity {
			t.Fatalf("%s: %d, want 422", action, resp.status)
		}
		for _, want := range []string{`href="#src-16">line 16, column 13</a>: <code>actions[1].boot.method</code>: ` + html.EscapeString(msg),
			`<li id="src-16" class="err">    method: grub`} {
			if !strings.Contains(resp.body, want) {
				t.Errorf("%s: the page lacks %q", action, want)
			}
		}
	}
	if _, n, err := e.st.ListJobs(context.Background(), store.System(), store.JobFilter{}); err != nil || n != 0 {
		t.Errorf("%d jobs stored (%v)", n, err)
	}
	if resp := bob.post("/submit", url.Values{"csrf": {bob.csrf()}, "definition": {qemuJob}, "action": {"submit"}}); resp.status != http.StatusSeeOther {
		t.Errorf("a job with the declared methods: %d", resp.status)
	}
}
