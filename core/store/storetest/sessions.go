package storetest

import (
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// testSessions: a web session names its user while it is unexpired and
// its token exists; deleting the session, its token or the token's expiry
// ends it.
func testSessions(t *testing.T, st store.Store) {
	c := ctx(t)
	_, err := st.CreateUser(c, model.User{Username: "sam", Groups: nil})
	must(t, err)
	must(t, st.CreateGroup(c, "lab"))
	must(t, st.AddGroupMember(c, "lab", "sam"))
	tok1, err := st.CreateToken(c, "sam", "web", []byte("token-hash-1"))
	must(t, err)
	_, err = st.CreateToken(c, "sam", "other", []byte("token-hash-2"))
	must(t, err)
	later := time.Now().Add(time.Hour)

	must(t, st.CreateSession(c, []byte("session-a"), []byte("token-hash-1"), later))
	must(t, st.CreateSession(c, []byte("session-b"), []byte("token-hash-1"), later))
	must(t, st.CreateSession(c, []byte("session-c"), []byte("token-hash-2"), later))
	must(t, st.CreateSession(c, []byte("session-old"), []byte("token-hash-2"), time.Now().Add(-time.Second)))
	wantErr(t, st.CreateSession(c, []byte("session-x"), []byte("no-such-token"), later), store.ErrNotFound)
	wantErr(t, st.CreateSession(c, []byte("session-a"), []byte("token-hash-1"), later), store.ErrExists)

	u, err := st.SessionUser(c, []byte("session-a"))
	must(t, err)
	if u.Username != "sam" || len(u.Groups) != 1 || u.Groups[0] != "lab" {
		t.Errorf("SessionUser = %+v, want sam in lab", u)
	}
	_, err = st.SessionUser(c, []byte("session-old"))
	wantErr(t, err, store.ErrNotFound)
	_, err = st.SessionUser(c, []byte("session-x"))
	wantErr(t, err, store.ErrNotFound)
	_, err = st.SessionUser(c, nil)
	wantErr(t, err, store.ErrNotFound)

	// Logout.
	must(t, st.DeleteSession(c, []byte("session-a")))
	must(t, st.DeleteSession(c, []byte("session-a"))) // gone already
	_, err = st.SessionUser(c, []byte("session-a"))
	wantErr(t, err, store.ErrNotFound)
	_, err = st.SessionUser(c, []byte("session-b"))
	must(t, err)

	// Deleting the token ends its sessions, not the others.
	must(t, st.DeleteToken(c, "sam", tok1.ID))
	_, err = st.SessionUser(c, []byte("session-b"))
	wantErr(t, err, store.ErrNotFound)
	u, err = st.SessionUser(c, []byte("session-c"))
	must(t, err)
	if u.Username != "sam" {
		t.Errorf("SessionUser(session-c) = %+v", u)
	}
}
