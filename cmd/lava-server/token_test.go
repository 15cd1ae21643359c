package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/auth"
)

// A token kept with --token-file works on a new lab (what scripts/demo.sh
// does when it is re-run on the same data folder), and a file that holds no
// user token is refused before anything is stored.
func TestKeptToken(t *testing.T) {
	first, second := t.TempDir(), t.TempDir()
	code, tok, errOut := cli(t, first, "user", "add", "demo", "--admin")
	if code != 0 {
		t.Fatalf("user add: %d %s", code, errOut)
	}
	file := filepath.Join(t.TempDir(), "demo.token")
	if err := os.WriteFile(file, []byte(tok), 0o600); err != nil {
		t.Fatal(err)
	}
	// A new lab, the same token.
	code, out, errOut := cli(t, second, "user", "add", "demo", "--admin", "--token-file", file)
	if code != 0 || out != tok {
		t.Fatalf("user add --token-file: exit %d, stdout %q (want %q), stderr %s", code, out, tok, errOut)
	}
	st := openDir(t, second)
	u, err := st.UserByTokenHash(context.Background(), auth.Hash(strings.TrimSpace(tok)))
	if err != nil || u.Username != "demo" || !u.IsAdmin {
		t.Fatalf("the kept token: %+v %v", u, err)
	}
	st.Close()

	bad := filepath.Join(t.TempDir(), "bad.token")
	for _, text := range []string{"", "lava_short\n", "lavaw_" + strings.Repeat("A", 43) + "\n", "lava_" + strings.Repeat("!", 43)} {
		if err := os.WriteFile(bad, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := cli(t, second, "user", "add", "other", "--token-file", bad)
		if code != 1 || out != "" || !strings.Contains(errOut, "does not hold a user API token") {
			t.Errorf("token file %q: exit %d, stdout %q, stderr %q", text, code, out, errOut)
		}
	}
	code, _, errOut = cli(t, second, "user", "add", "other", "--token-file", filepath.Join(t.TempDir(), "missing"))
	if code != 1 || !strings.Contains(errOut, "reading the token") {
		t.Errorf("missing token file: exit %d, stderr %q", code, errOut)
	}
	st = openDir(t, second)
	if _, err := st.User(context.Background(), "other"); err == nil {
		t.Error("a refused token file still created the user")
	}
}
