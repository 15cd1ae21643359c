package main

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/lavarpc"
)

// TestSubmitChecksDriverMethods: with the real soca9 driver (1.2.0) active,
// a job whose boot method soca9 does not declare is refused on every API
// of a running server — /api/v1, XML-RPC, /api/v0.2 and the web form —
// with its path, line, the driver and what it has; nothing is stored, and
// the job with soca9's methods is accepted.
func TestSubmitChecksDriverMethods(t *testing.T) {
	mod := buildSoca9(t, "1.2.0")
	cache := filepath.Join(os.TempDir(), "lavalab-test-wasm-cache")
	dir := t.TempDir()
	_, tok, _ := cli(t, dir, "user", "add", "admin", "--admin")
	tok = strings.TrimSpace(tok)
	for _, args := range [][]string{{"worker", "add", "w1"}, {"device-type", "add", "soca9"},
		{"device", "add", "soca9-01", "--type", "soca9", "--worker", "w1", "--health", "good"}} {
		if code, _, e := cli(t, dir, args...); code != 0 {
			t.Fatalf("%v: %s", args, e)
		}
	}
	drvDir := filepath.Join(dir, "drivers")
	if err := os.MkdirAll(drvDir, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(drvDir, "soca9.wasm"), mod, 0o644); err != nil {
		t.Fatal(err)
	}
	addr := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	var logs bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--listen", addr, "--data-dir", dir, "--drivers-dir", drvDir, "--driver-cache", cache},
			&bytes.Buffer{}, &syncWriter{w: &logs})
	}()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(40 * time.Second):
			t.Error("serve did not stop")
		}
	}()
	base := "http://" + addr
	waitUp(t, base, &logs)
	admin := client{t: t, base: base, token: tok}

	bad := strings.Replace(soca9Job, "method: u-boot", "method: grub", 1)
	const issue = `actions[1].boot.method (line 20, column 13): device type soca9 (driver soca9 1.2.0) has no boot method "grub"; it has: u-boot, bootloader, minimal`

	// /api/v1
	var e struct {
		Error struct{ Code, Message string }
	}
	admin.want(400, "POST", "/api/v1/jobs", "application/yaml", []byte(bad), &e)
	if e.Error.Code != "invalid_job" || e.Error.Message != "invalid job definition: "+issue {
		t.Errorf("/api/v1: %+v, want %q", e.Error, issue)
	}

	// XML-RPC
	var call bytes.Buffer
	if err := lavarpc.EncodeCall(&call, "scheduler.jobs.submit", bad); err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest("POST", base+"/RPC2", &call)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/xml")
	req.SetBasicAuth("admin", tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, err = lavarpc.DecodeResponse(resp.Body)
	resp.Body.Close()
	if f, ok := err.(*lavarpc.Fault); !ok || f.Code != 400 || f.Msg != "Problem with submitted job data: "+issue {
		t.Errorf("XML-RPC: %v, want fault 400 %q", err, issue)
	}

	// /api/v0.2
	body, _ := json.Marshal(map[string]string{"definition": bad})
	var m struct{ Message string }
	admin.want(400, "POST", "/api/v0.2/jobs/", "application/json", body, &m)
	if m.Message != "Problem with submitted job data: "+issue {
		t.Errorf("/api/v0.2: %q, want %q", m.Message, issue)
	}

	// The web form, logged in with the admin's token.
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	page := func(r *http.Response, err error) (int, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Fatal(err)
		}
		return r.StatusCode, string(b)
	}
	csrfRe := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	csrf := func() string {
		t.Helper()
		_, b := page(browser.Get(base + "/login"))
		mm := csrfRe.FindStringSubmatch(b)
		if mm == nil {
			t.Fatal("no CSRF token on /login")
		}
		return mm[1]
	}
	if code, b := page(browser.PostForm(base+"/login", url.Values{"csrf": {csrf()}, "token": {tok}, "next": {"/jobs"}})); code != http.StatusSeeOther {
		t.Fatalf("web login: %d %s", code, b)
	}
	code, b := page(browser.PostForm(base+"/submit", url.Values{"csrf": {csrf()}, "definition": {bad}, "action": {"submit"}}))
	if want := `line 20, column 13</a>: <code>actions[1].boot.method</code>: ` + html.EscapeString(issue[strings.Index(issue, "device type"):]); code != http.StatusUnprocessableEntity || !strings.Contains(b, want) {
		t.Errorf("web form: %d, want 422 and %q in the page", code, want)
	}

	var list struct{ Count int }
	admin.want(200, "GET", "/api/v1/jobs", "", nil, &list)
	if list.Count != 0 {
		t.Errorf("%d jobs stored", list.Count)
	}
	admin.want(201, "POST", "/api/v1/jobs", "application/yaml", []byte(soca9Job), nil)
}
