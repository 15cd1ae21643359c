package testshell

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const tarURL = "http://artifacts.example.org/tests.tar.gz"

func threeKindsJob(gitDir string) Job {
	no := false
	return Job{
		ID:           "42",
		DispatcherIP: "192.0.2.1",
		Environment:  map[string]any{"FOO": "bar baz", "NESTED": map[string]any{"ON": true, "OFF": false}, "LIST": []any{"a", 2}},
		Secrets:      map[string]any{"API_TOKEN": "s3cr3t'"},
		TargetIP:     "192.0.2.10",
		Stages: [][]Definition{
			{
				{From: "inline", Name: "smoke", Path: "inline/smoke.yaml", Inline: map[string]any{
					"metadata": map[string]any{"format": "Lava-Test Test Definition 1.0", "name": "smoke"},
					"run": map[string]any{"steps": []any{
						"lava-test-case pwd --shell pwd",
						"lava-background-process-start bg --cmd 'echo $1'",
					}},
				}, Parameters: []Param{{"JOBPARAM", "it's"}}},
				{From: "url", Name: "tarball", Repository: tarURL, Compression: "gz", Path: "suite/url-test.yaml"},
			},
			{
				{From: "git", Name: "git-tests", Repository: gitDir, Path: "defs/smoke.yaml", Revision: "v1", History: &no, LavaSignal: "kmsg", SkipInstall: []string{"deps"}},
			},
		},
	}
}

func threeKindsFetcher(t testing.TB) mapFetcher {
	return mapFetcher{tarURL: makeTarGz(t, []tarEntry{
		{name: "suite/", typ: tar.TypeDir, mode: 0o755},
		{name: "suite/url-test.yaml", body: "metadata:\n  format: Lava-Test Test Definition 1.0\n  name: from-url\nrun:\n  steps:\n    - lava-test-case url-ok --result pass\n"},
		{name: "suite/data.txt", body: "payload\n"},
		{name: "suite/link", typ: tar.TypeSymlink, link: "data.txt"},
	})}
}

// listing renders a tar stream as one line per entry: type, mode, size,
// sha256 (with the machine-dependent git path replaced first).
func listing(t *testing.T, tarData []byte, replace map[string]string) string {
	t.Helper()
	var b strings.Builder
	tr := tar.NewReader(bytes.NewReader(tarData))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		s := string(data)
		for k, v := range replace {
			s = strings.ReplaceAll(s, k, v)
		}
		sum := sha256.Sum256([]byte(s))
		switch h.Typeflag {
		case tar.TypeDir:
			fmt.Fprintf(&b, "d %04o %s\n", h.Mode, h.Name)
		case tar.TypeSymlink:
			fmt.Fprintf(&b, "l %04o %s -> %s\n", h.Mode, h.Name, h.Linkname)
		default:
			fmt.Fprintf(&b, "f %04o %6d %x %s\n", h.Mode, len(s), sum[:8], h.Name)
		}
	}
	return b.String()
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	p := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(p, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestOverlayGolden(t *testing.T) {
	gitDir := makeGitRepo(t)
	ov, err := Build(context.Background(), threeKindsJob(gitDir), Options{Fetcher: threeKindsFetcher(t)})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := ov.WriteTar(context.Background(), &buf); err != nil {
		t.Fatal(err)
	}
	golden(t, "overlay-listing.txt", []byte(listing(t, buf.Bytes(), map[string]string{gitDir: "$GITREPO"})))

	file := func(p string) string {
		for _, f := range ov.Files {
			if f.Path == p {
				return string(f.Data)
			}
		}
		t.Fatalf("no %s in the overlay", p)
		return ""
	}
	// The generated files themselves, byte for byte.
	var all strings.Builder
	for _, p := range []string{"environment", "secrets", "0/lava-test-runner.conf", "1/lava-test-runner.conf",
		"0/tests/0_smoke/run.sh", "0/tests/0_smoke/install.sh", "0/tests/0_smoke/uuid",
		"0/tests/1_tarball/run.sh", "1/tests/2_git-tests/run.sh", "1/tests/2_git-tests/install.sh",
		"1/tests/2_git-tests/testdef_metadata"} {
		fmt.Fprintf(&all, "==> %s <==\n%s", p, strings.ReplaceAll(file(p), gitDir, "$GITREPO"))
	}
	golden(t, "overlay-files.txt", []byte(all.String()))

	if len(ov.Runs) != 3 || ov.Runs[2].ID != "2_git-tests" || len(ov.Runs[2].CommitID) != 40 || ov.Runs[2].Pattern == "" {
		t.Errorf("runs = %+v", ov.Runs)
	}
	if got := file("bin/lava-target-ip"); !strings.HasPrefix(got, "#!/bin/sh\n\nTARGET_DEVICE_IP=192.0.2.10\n") {
		t.Errorf("lava-target-ip starts %q", got[:40])
	}
	for _, f := range ov.Files {
		if strings.HasPrefix(f.Path, "bin/") {
			if f.Mode.Perm() != 0o755 || !strings.HasPrefix(string(f.Data), "#!/bin/sh\n\n") {
				t.Errorf("%s: mode %v, starts %q", f.Path, f.Mode, string(f.Data[:12]))
			}
		}
		if strings.Contains(f.Path, "/.git/") {
			t.Errorf("history: false left %s", f.Path)
		}
	}
}

func TestBuildErrors(t *testing.T) {
	inline := map[string]any{"metadata": map[string]any{"name": "x"}, "run": map[string]any{"steps": []any{"true"}}}
	evil := mapFetcher{
		"http://x/dotdot.tar.gz":  makeTarGz(t, []tarEntry{{name: "../evil", body: "x"}}),
		"http://x/abs.tar.gz":     makeTarGz(t, []tarEntry{{name: "/etc/evil", body: "x"}}),
		"http://x/symlink.tar.gz": makeTarGz(t, []tarEntry{{name: "a/link", typ: tar.TypeSymlink, link: "../../etc"}}),
		"http://x/ok.tar.gz":      makeTarGz(t, []tarEntry{{name: "t.yaml", body: "metadata: {name: t}\n"}}),
	}
	tests := []struct {
		name     string
		def      Definition
		want     string
		sentinel error
	}{
		{"dotdot member", Definition{From: "url", Name: "t", Repository: "http://x/dotdot.tar.gz", Compression: "gz", Path: "t.yaml"}, "path traversal", ErrPathTraversal},
		{"absolute member", Definition{From: "url", Name: "t", Repository: "http://x/abs.tar.gz", Compression: "gz", Path: "t.yaml"}, "path traversal", ErrPathTraversal},
		{"symlink out", Definition{From: "url", Name: "t", Repository: "http://x/symlink.tar.gz", Compression: "gz", Path: "t.yaml"}, "path traversal", ErrPathTraversal},
		{"missing path", Definition{From: "url", Name: "t", Repository: "http://x/ok.tar.gz", Compression: "gz", Path: "nope.yaml"}, `path "nope.yaml": no such file`, nil},
		{"no compression", Definition{From: "url", Name: "t", Repository: "http://x/ok.tar.gz", Path: "t.yaml"}, "compression is required", nil},
		{"bad compression", Definition{From: "url", Name: "t", Repository: "http://x/ok.tar.gz", Compression: "rar", Path: "t.yaml"}, `unknown compression "rar"`, nil},
		{"path escapes", Definition{From: "inline", Name: "t", Inline: inline, Path: "../x.yaml"}, "leaves the repository", nil},
		{"bad name", Definition{From: "inline", Name: "a b", Inline: inline, Path: "x.yaml"}, "does not match", nil},
		{"reserved name", Definition{From: "inline", Name: "lava", Inline: inline, Path: "x.yaml"}, "reserved", nil},
		{"bad from", Definition{From: "svn", Name: "t", Path: "x.yaml"}, `from "svn"`, nil},
		{"bad param", Definition{From: "inline", Name: "t", Inline: inline, Path: "x.yaml", Parameters: []Param{{"A-B", "1"}}}, "not a shell variable name", nil},
		{"no metadata name", Definition{From: "inline", Name: "t", Inline: map[string]any{"run": map[string]any{}}, Path: "x.yaml"}, "metadata.name is missing", nil},
		{"git option injection", Definition{From: "git", Name: "t", Repository: "--upload-pack=touch /tmp/x", Path: "x.yaml"}, "must not start with -", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Build(context.Background(), Job{ID: "1", Stages: [][]Definition{{tc.def}}}, Options{Fetcher: evil})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v; want it to contain %q", err, tc.want)
			}
			if tc.sentinel != nil && !errors.Is(err, tc.sentinel) {
				t.Errorf("err %v is not %v", err, tc.sentinel)
			}
		})
	}
	if _, err := Build(context.Background(), Job{ID: "1/2"}, Options{}); err == nil {
		t.Error("bad job id accepted")
	}
	if _, err := Build(context.Background(), Job{ID: "1", Environment: map[string]any{"A B": 1}}, Options{}); err == nil {
		t.Error("bad environment name accepted")
	}
}

func TestEscapeArgs(t *testing.T) {
	tests := []struct{ in, want string }{
		{"echo $1", "echo $1"},
		{"lava-test-case x --shell echo $1", `lava-test-case x --shell echo \$1`},
		{"lava-background-process-start b --cmd 'f $1$2'", `lava-background-process-start b --cmd 'f \$1\$2'`},
		{`lava-test-case x --shell echo \$1`, `lava-test-case x --shell echo \$1`},
		{"lava-test-case x --shell echo $HOME", "lava-test-case x --shell echo $HOME"},
	}
	for _, tc := range tests {
		if got := escapeArgs(tc.in); got != tc.want {
			t.Errorf("escapeArgs(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}

func TestShellQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "''"},
		{"abc-1.2/x:y", "abc-1.2/x:y"},
		{"bar baz", "'bar baz'"},
		{"it's", `'it'"'"'s'`},
		{"$HOME", "'$HOME'"},
	}
	for _, tc := range tests {
		if got := ShellQuote(tc.in); got != tc.want {
			t.Errorf("ShellQuote(%q) = %s; want %s", tc.in, got, tc.want)
		}
	}
}

func TestStartCommands(t *testing.T) {
	got := StartCommands("/lava-7", "", 1)
	want := []string{"export SHELL=/bin/sh", ". /lava-7/environment", "/lava-7/bin/lava-test-runner /lava-7/1"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q", got)
	}
}

func FuzzReadTar(f *testing.F) {
	f.Add(makeTarGz(f, []tarEntry{{name: "a/b", body: "x"}, {name: "l", typ: tar.TypeSymlink, link: "a/b"}}))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rc, err := Decompress(io.NopCloser(bytes.NewReader(data)), "gz")
		if err != nil {
			return
		}
		repo := tree{}
		if readTar(repo, rc, 1<<20) != nil {
			return
		}
		for p, e := range repo {
			if _, err := cleanRel(p); err != nil {
				t.Fatalf("entry %q escapes", p)
			}
			if e.Mode.Type() == fs.ModeSymlink && checkLink(p, e.Link) != nil {
				t.Fatalf("link %q -> %q escapes", p, e.Link)
			}
		}
	})
}
