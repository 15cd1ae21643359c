package testshell

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/lavalab/lavalab/core/testenv"
)

// mapFetcher serves fixed archives by URL; decompression is the real one.
type mapFetcher map[string][]byte

func (m mapFetcher) Fetch(_ context.Context, url, compression string) (io.ReadCloser, error) {
	data, ok := m[url]
	if !ok {
		return nil, os.ErrNotExist
	}
	return Decompress(io.NopCloser(bytes.NewReader(data)), compression)
}

type tarEntry struct {
	name, body, link string
	typ              byte
	mode             int64
}

func makeTarGz(t testing.TB, entries []tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		h := &tar.Header{Name: e.name, Typeflag: typ, Mode: mode, Size: int64(len(e.body)), Linkname: e.link}
		if typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const gitTestdef = `metadata:
    format: Lava-Test Test Definition 1.0
    name: from-git
    description: "a test definition in git"
params:
    GREETING: hello
install:
    deps:
        - curl
    steps:
        - echo installing
parse:
    pattern: "^(?P<test_case_id>[a-z0-9-]+): (?P<result>PASS|FAIL)$"
    fixupdict:
        PASS: pass
        FAIL: fail
run:
    steps:
        - echo "$GREETING from git"
        - "printf 'alpha: PASS\\nbeta: FAIL\\n'"
`

// makeGitRepo makes a local repository with a fixed commit id.
func makeGitRepo(t testing.TB) string {
	t.Helper()
	testenv.NeedTool(t, "git")
	dir := filepath.Join(t.TempDir(), "tests.git")
	if err := os.MkdirAll(filepath.Join(dir, "defs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "defs", "smoke.yaml"), []byte(gitTestdef), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "helper.sh"), []byte("#!/bin/sh\necho helper\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(),
		"GIT_AUTHOR_NAME=Lab", "GIT_AUTHOR_EMAIL=lab@example.org", "GIT_AUTHOR_DATE=2020-01-01T00:00:00Z",
		"GIT_COMMITTER_NAME=Lab", "GIT_COMMITTER_EMAIL=lab@example.org", "GIT_COMMITTER_DATE=2020-01-01T00:00:00Z",
		"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	for _, args := range [][]string{
		{"init", "--quiet", "--initial-branch=main"},
		{"add", "."},
		{"commit", "--quiet", "-m", "tests"},
		{"tag", "v1"},
	} {
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Env = dir, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	return dir
}
