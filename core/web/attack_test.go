package web

// The attack suite's web cases (issue 13): a session replayed after
// logout, cookies without Secure behind TLS, other users' group jobs
// resubmitted, group visibility, dictionaries, oversized forms.

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/store"
)

func sessionOf(t *testing.T, e *env, c *client) string {
	t.Helper()
	u, _ := url.Parse(e.srv.URL)
	for _, ck := range c.c.Jar.Cookies(u) {
		if ck.Name == SessionCookie {
			return ck.Value
		}
	}
	t.Fatal("no session cookie")
	return ""
}

// withCookie is a fresh client that sends the given session cookie.
func withCookie(e *env, value string) *client {
	c := e.client()
	u, _ := url.Parse(e.srv.URL)
	c.c.Jar.SetCookies(u, []*http.Cookie{{Name: SessionCookie, Value: value, Path: "/"}})
	return c
}

// TestAttackSessionAfterLogout: a session cookie copied before logout is
// refused after it, and one copied before its token's deletion too.
func TestAttackSessionAfterLogout(t *testing.T) {
	e := newEnv(t, nil)
	bob := e.login("bob")
	j := e.running("bob", "bob's personal job", "personal")
	stolen := sessionOf(t, e, bob)
	if r := withCookie(e, stolen).get("/jobs/" + itoa(j.ID)); r.status != 200 || !strings.Contains(r.body, "Log out") {
		t.Fatalf("the copied session does not work before logout: %d", r.status)
	}
	if r := bob.post("/logout", url.Values{"csrf": {bob.csrf()}}); r.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", r.status)
	}
	r := withCookie(e, stolen).get("/jobs/" + itoa(j.ID))
	if strings.Contains(r.body, "Log out") || strings.Contains(r.body, "bob's personal job") || r.status == 200 {
		t.Errorf("the session is still valid after logout: %d", r.status)
	}
	// A forged cookie is no session either.
	if r := withCookie(e, strings.Repeat("A", 43)).get("/"); strings.Contains(r.body, "Log out") {
		t.Error("a forged session cookie logs in")
	}
	// Deleting the token ends a session opened with it.
	dave := e.login("dave")
	stolen = sessionOf(t, e, dave)
	toks, err := e.st.ListTokens(context.Background(), "dave")
	must(t, err)
	must(t, e.st.DeleteToken(context.Background(), "dave", toks[0].ID))
	if r := withCookie(e, stolen).get("/"); strings.Contains(r.body, "Log out") {
		t.Error("the session is still valid after its token's deletion")
	}
}

// TestSecureCookies: cookies are Secure under TLS, behind a proxy saying
// X-Forwarded-Proto: https, and always with Options.Secure.
func TestSecureCookies(t *testing.T) {
	e := newEnv(t, nil)
	w := &Web{}
	for _, tc := range []struct {
		name   string
		secure bool
		tls    bool
		proto  string
		want   bool
	}{
		{"plain HTTP", false, false, "", false},
		{"TLS", false, true, "", true},
		{"TLS proxy", false, false, "https", true},
		{"TLS proxy, list", false, false, "HTTPS, http", true},
		{"plain proxy", false, false, "http", false},
		{"configured", true, false, "", true},
	} {
		r, _ := http.NewRequest("GET", "/", nil)
		if tc.tls {
			r.TLS = &tls.ConnectionState{}
		}
		if tc.proto != "" {
			r.Header.Set("X-Forwarded-Proto", tc.proto)
		}
		w.secure = tc.secure
		if got := w.cookie(r, SessionCookie, "v", 1).Secure; got != tc.want {
			t.Errorf("%s: Secure %v, want %v", tc.name, got, tc.want)
		}
	}
	// End to end: the login answer behind a TLS proxy.
	c := e.client()
	csrf := c.csrf()
	req, _ := http.NewRequest("POST", e.srv.URL+"/login", strings.NewReader(url.Values{"csrf": {csrf}, "token": {e.tokens["bob"]}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-Proto", "https")
	resp, err := c.c.Do(req)
	must(t, err)
	resp.Body.Close()
	if sc := resp.Header.Get("Set-Cookie"); !strings.Contains(sc, SessionCookie+"=") || !strings.Contains(sc, "Secure") {
		t.Errorf("login behind a TLS proxy: Set-Cookie %q is not Secure", sc)
	}
}

// TestAttackGroupJobs: a member of a job's viewing group sees it but may
// not resubmit it; a user may not make a job visible to a group they are
// not in.
func TestAttackGroupJobs(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	must(t, e.st.CreateGroup(ctx, "team"))
	must(t, e.st.AddGroupMember(ctx, "team", "bob"))
	must(t, e.st.AddGroupMember(ctx, "team", "dave"))
	groupDef := strings.Replace(qemuJob, "visibility: public", "visibility:\n  group: [team]", 1)
	bob, dave := e.login("bob"), e.login("dave")
	r := bob.post("/submit", url.Values{"csrf": {bob.csrf()}, "definition": {groupDef}, "action": {"submit"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("bob submits a team job: %d %.300s", r.status, r.body)
	}
	loc := r.header.Get("Location")
	if r := dave.get(loc); r.status != 200 {
		t.Fatalf("dave (team) cannot see bob's team job: %d", r.status)
	}
	_, before, err := e.st.ListJobs(ctx, store.System(), store.JobFilter{Limit: 1})
	must(t, err)
	if r := dave.post(strings.SplitN(loc, "?", 2)[0]+"/resubmit", url.Values{"csrf": {dave.csrf()}}); r.status != http.StatusForbidden {
		t.Errorf("dave resubmits bob's team job: %d", r.status)
	}
	// A group bob is not in.
	other := strings.Replace(qemuJob, "visibility: public", "visibility:\n  group: [admins-only]", 1)
	must(t, e.st.CreateGroup(ctx, "admins-only"))
	if r := bob.post("/submit", url.Values{"csrf": {bob.csrf()}, "definition": {other}, "action": {"submit"}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "not a member") {
		t.Errorf("bob submits a job visible to a group he is not in: %d", r.status)
	}
	_, after, err := e.st.ListJobs(ctx, store.System(), store.JobFilter{Limit: 1})
	must(t, err)
	if after != before {
		t.Errorf("%d jobs stored by refused submissions", after-before)
	}
	admin := e.login("admin")
	if r := admin.post(strings.SplitN(loc, "?", 2)[0]+"/resubmit", url.Values{"csrf": {admin.csrf()}}); r.status != http.StatusSeeOther {
		t.Errorf("an admin cannot resubmit: %d", r.status)
	}
}

// TestAttackDictionaryPage: the device page shows the dictionary to admins
// only.
func TestAttackDictionaryPage(t *testing.T) {
	e := newEnv(t, nil)
	for _, c := range []*client{e.client(), e.login("bob")} {
		if r := c.get("/devices/qemu-01"); r.status != 200 || strings.Contains(r.body, "extends") || strings.Contains(r.body, "arch") {
			t.Errorf("a non-admin reads the dictionary: %d", r.status)
		}
	}
	if r := e.login("admin").get("/devices/qemu-01"); !strings.Contains(r.body, "extends") {
		t.Error("an admin does not see the dictionary")
	}
}

// TestAttackOversizedForm: a form over its limit gets 413 naming it.
func TestAttackOversizedForm(t *testing.T) {
	e := newEnv(t, nil)
	bob := e.login("bob")
	big := strings.Repeat("x", MaxDefinition+1<<17)
	r := bob.post("/submit", url.Values{"csrf": {bob.csrf()}, "definition": {big}, "action": {"submit"}})
	if r.status != http.StatusRequestEntityTooLarge || !strings.Contains(r.body, "bytes limit") {
		t.Errorf("oversized submit form: %d %.200s", r.status, r.body)
	}
}
