package testshell

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cavaliergopher/cpio"
	"github.com/klauspost/compress/zstd"
	"github.com/lavalab/lavalab/core/testenv"
	"github.com/ulikunitz/xz"
)

func smallOverlay(t *testing.T, resultsDir string) *Overlay {
	t.Helper()
	inline := map[string]any{"metadata": map[string]any{"name": "x"}, "run": map[string]any{"steps": []any{"true"}}}
	ov, err := Build(context.Background(), Job{ID: "5", Stages: [][]Definition{{{From: "inline", Name: "x", Path: "x.yaml", Inline: inline}}}},
		Options{ResultsDir: resultsDir})
	if err != nil {
		t.Fatal(err)
	}
	return ov
}

// cpioNames reads every archive of a concatenated cpio stream.
func cpioNames(t *testing.T, data []byte) [][]string {
	t.Helper()
	var out [][]string
	for len(bytes.TrimLeft(data, "\x00")) > 0 {
		data = bytes.TrimLeft(data, "\x00")
		r := cpio.NewReader(bytes.NewReader(data))
		var names []string
		for {
			h, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, h.Name)
		}
		out = append(out, names)
		i := bytes.Index(data, []byte("TRAILER!!!"))
		if i < 0 {
			t.Fatal("no trailer")
		}
		data = data[i+len("TRAILER!!!"):]
	}
	return out
}

func TestAppendCPIO(t *testing.T) {
	ov := smallOverlay(t, "")
	var ramdisk bytes.Buffer
	cw := cpio.NewWriter(&ramdisk)
	if err := cw.WriteHeader(&cpio.Header{Name: "init", Mode: cpio.TypeReg | 0o755, Size: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := cw.Write([]byte("hi\n")); err != nil {
		t.Fatal(err)
	}
	if err := cw.Close(); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(ramdisk.Bytes())
	_ = zw.Close()

	for _, tc := range []struct {
		name string
		in   []byte
		gz   bool
	}{{"raw", ramdisk.Bytes(), false}, {"gzip", gz.Bytes(), true}} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := ov.AppendCPIO(context.Background(), bytes.NewReader(tc.in), &out); err != nil {
				t.Fatal(err)
			}
			data := out.Bytes()
			if tc.gz {
				zr, err := gzip.NewReader(&out)
				if err != nil {
					t.Fatal(err)
				}
				if data, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			archives := cpioNames(t, data)
			if len(archives) != 2 || archives[0][0] != "init" || archives[1][0] != "lava-5" {
				t.Fatalf("archives %v", archives)
			}
			joined := strings.Join(archives[1], " ")
			for _, want := range []string{"lava-5/bin/lava-test-runner", "lava-5/0/tests/0_x/run.sh", "lava-5/environment"} {
				if !strings.Contains(joined, want) {
					t.Errorf("missing %s", want)
				}
			}
		})
	}
	if err := ov.AppendCPIO(context.Background(), strings.NewReader("not a ramdisk"), io.Discard); err == nil {
		t.Error("garbage accepted as a ramdisk")
	}
	if err := ov.AppendCPIO(context.Background(), bytes.NewReader([]byte{0x27, 0x05, 0x19, 0x56, 0, 0}), io.Discard); err == nil || !strings.Contains(err.Error(), "U-Boot") {
		t.Errorf("u-boot header: %v", err)
	}
}

// TestConsoleCommands runs the console form for real and compares the
// result with Unpack.
func TestConsoleCommands(t *testing.T) {
	shells := []string{"/bin/sh"}
	if bb, err := exec.LookPath("busybox"); err == nil {
		ash := filepath.Join(t.TempDir(), "ash")
		if err := os.Symlink(bb, ash); err != nil {
			t.Fatal(err)
		}
		shells = append(shells, ash)
	}
	for _, sh := range shells {
		t.Run(filepath.Base(sh), func(t *testing.T) {
			dir := t.TempDir()
			ov := smallOverlay(t, dir+"/lava-%s")
			cmds, err := ov.ConsoleCommands(context.Background(), ConsoleOptions{TempFile: dir + "/o.b64", LineMax: 200})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range cmds {
				if len(c) > 200 {
					t.Fatalf("line of %d bytes", len(c))
				}
			}
			cmd := exec.Command(sh)
			cmd.Stdin = strings.NewReader(strings.Join(cmds, "\n") + "\n")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			for _, f := range ov.Files {
				p := filepath.Join(dir, "lava-5", f.Path)
				st, err := os.Lstat(p)
				if err != nil {
					t.Fatal(err)
				}
				if f.Mode.IsRegular() {
					data, _ := os.ReadFile(p)
					if !bytes.Equal(data, f.Data) || st.Mode().Perm() != f.Mode.Perm() {
						t.Errorf("%s differs (mode %v)", f.Path, st.Mode())
					}
				}
			}
			if _, err := os.Stat(dir + "/o.b64"); err == nil {
				t.Error("temp file left behind")
			}
		})
	}
}

func TestHTTPFetcher(t *testing.T) {
	payload := []byte("tar bytes stand-in\n")
	var gz, x, zs bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(payload)
	_ = zw.Close()
	xw, _ := xz.NewWriter(&x)
	_, _ = xw.Write(payload)
	_ = xw.Close()
	zsw, _ := zstd.NewWriter(&zs)
	_, _ = zsw.Write(payload)
	_ = zsw.Close()
	var bz bytes.Buffer
	if bzip, err := exec.LookPath("bzip2"); err == nil {
		c := exec.Command(bzip, "-c")
		c.Stdin, c.Stdout = bytes.NewReader(payload), &bz
		if err := c.Run(); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string][]byte{"/a.gz": gz.Bytes(), "/a.xz": x.Bytes(), "/a.zst": zs.Bytes(), "/a": payload, "/a.bz2": bz.Bytes()}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(data)
	}))
	defer srv.Close()
	fileURL := filepath.Join(t.TempDir(), "a.gz")
	if err := os.WriteFile(fileURL, gz.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ url, comp string }{
		{srv.URL + "/a.gz", "gz"}, {srv.URL + "/a.xz", "xz"}, {srv.URL + "/a.zst", "zstd"}, {srv.URL + "/a", ""}, {"file://" + fileURL, "gz"},
	}
	if bz.Len() > 0 {
		tests = append(tests, struct{ url, comp string }{srv.URL + "/a.bz2", "bz2"})
	}
	for _, tc := range tests {
		rc, err := HTTPFetcher{}.Fetch(context.Background(), tc.url, tc.comp)
		if err != nil {
			t.Fatalf("%s: %v", tc.url, err)
		}
		got, err := io.ReadAll(rc)
		_ = rc.Close()
		if err != nil || !bytes.Equal(got, payload) {
			t.Errorf("%s: %q, %v", tc.url, got, err)
		}
	}
	if _, err := (HTTPFetcher{}).Fetch(context.Background(), srv.URL+"/missing", "gz"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("missing: %v", err)
	}
	if _, err := (HTTPFetcher{}).Fetch(context.Background(), "ftp://x/y", ""); err == nil {
		t.Error("ftp accepted")
	}
}

func TestJobFromYAMLCorpus(t *testing.T) {
	dir := testenv.Data(t, "jobs")
	for _, rel := range []string{"valid/qemu-inline.yaml", "valid/qemu-inline-set.yaml"} {
		t.Run(rel, func(t *testing.T) {
			text, err := os.ReadFile(filepath.Join(dir, rel))
			if err != nil {
				t.Fatal(err)
			}
			job, err := JobFromYAML("9", text)
			if err != nil {
				t.Fatal(err)
			}
			if len(job.Stages) != 1 || len(job.Stages[0]) != 1 || job.Stages[0][0].From != "inline" {
				t.Fatalf("stages %+v", job.Stages)
			}
			ov, err := Build(context.Background(), job, Options{})
			if err != nil {
				t.Fatal(err)
			}
			name := job.Stages[0][0].Name
			for _, f := range ov.Files {
				if f.Path == "0/tests/0_"+name+"/run.sh" {
					if !strings.Contains(string(f.Data), "lava-test-case") {
						t.Errorf("run.sh:\n%s", f.Data)
					}
					return
				}
			}
			t.Errorf("no run.sh for %s", name)
		})
	}
}
