package worker

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/drivers"
	"github.com/lavalab/lavalab/core/workerproto"
	"github.com/lavalab/lavalab/plugins/native"
)

// buildNativePlugin builds the native test driver
// (plugins/native/testdata/plugin) into dir and returns its path and
// SHA-256.
func buildNativePlugin(t testing.TB, dir string) (string, string) {
	t.Helper()
	path := filepath.Join(dir, "native-test")
	cmd := exec.Command("go", "build", "-trimpath", "-o", path, "../../plugins/native/testdata/plugin")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build the native test plugin: %v\n%s", err, out)
	}
	sha, err := native.FileSHA256(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, sha
}

func writeNativeList(t testing.TB, file string, entries ...[2]string) {
	t.Helper()
	text := "[]\n"
	if len(entries) > 0 {
		text = ""
		for _, e := range entries {
			text += fmt.Sprintf("- {path: %s, sha256: %s}\n", e[0], e[1])
		}
	}
	if err := os.WriteFile(file, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

func nativeRunner(t *testing.T, nativeFile string) *runner {
	t.Helper()
	r, closeFn, err := NewDispatchRunner(context.Background(), RunnerEnv{WorkDir: t.TempDir(), NativeFile: nativeFile,
		Client: &Client{URL: "http://127.0.0.1:1", Token: "x", Version: "test"}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeFn)
	return r.(*runner)
}

// TestDriversNative: a job pinned to a native driver runs the binary the
// worker's own --native-drivers list gives for that SHA-256; a missing
// binary, a wrong pin and a worker without the flag are clear job errors
// naming the driver, its SHA-256 and what the admin must do; a binary
// listed after start is used without a restart.
func TestDriversNative(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the native test plugin: not in -short")
	}
	ctx := context.Background()
	bin, sha := buildNativePlugin(t, t.TempDir())
	ref := &workerproto.DriverRef{Name: "native-test", Version: "1.0.0", Kind: drivers.KindNative}
	job := workerproto.StartJob{ID: 1, DeviceType: "native-board", DriverSHA256: sha, Driver: ref}

	t.Run("no flag", func(t *testing.T) {
		run := nativeRunner(t, "")
		_, err := run.driver(ctx, job)
		wantErr(t, err, "driver native-test 1.0.0 (sha256 "+sha+") for device type native-board is a native driver",
			"the server does not send native drivers", "restart lava-worker with --native-drivers FILE", "sha256: "+sha)
	})

	list := filepath.Join(t.TempDir(), "native.yaml")
	writeNativeList(t, list)
	run := nativeRunner(t, list)
	_, err := run.driver(ctx, job)
	wantErr(t, err, "driver native-test 1.0.0 (sha256 "+sha+")", "no binary with that SHA-256",
		"add {path: /absolute/path/of/the/binary, sha256: "+sha+"} to "+list)

	// Listed now: the next job runs it, no restart.
	writeNativeList(t, list, [2]string{bin, sha})
	drv, err := run.driver(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	if d := drv.Describe(); d.Name != "native-test" || drv.SHA256() != sha {
		t.Fatalf("driver %s sha256 %s, want native-test %s", d.Name, drv.SHA256(), sha)
	}
	if l := run.reg.List(); len(l) != 1 || l[0].Kind != drivers.KindNative {
		t.Fatalf("loaded: %+v", l)
	}
	// A server that does not name the driver: the list still says it is native.
	if drv, err = run.driver(ctx, workerproto.StartJob{ID: 2, DeviceType: "native-board", DriverSHA256: sha}); err != nil || drv.Describe().Name != "native-test" {
		t.Fatalf("unnamed pin: %v", err)
	}

	t.Run("no pin", func(t *testing.T) {
		run := nativeRunner(t, list)
		drv, err := run.driver(ctx, workerproto.StartJob{ID: 3, DeviceType: "native-board"})
		if err != nil || drv.Describe().Name != "native-test" {
			t.Fatalf("unpinned native-board job: %v", err)
		}
	})

	t.Run("wrong pin", func(t *testing.T) {
		// The list pins another SHA-256 to the binary: the job pinned to
		// that SHA-256 does not run the binary.
		other := strings.Repeat("ab", 32)
		wrong := filepath.Join(t.TempDir(), "native.yaml")
		writeNativeList(t, wrong, [2]string{bin, other})
		run := nativeRunner(t, wrong)
		_, err := run.driver(ctx, workerproto.StartJob{ID: 4, DeviceType: "native-board", DriverSHA256: other, Driver: ref})
		wantErr(t, err, "driver native-test 1.0.0 (sha256 "+other+")", "the binary "+bin+" listed in "+wrong+" did not start",
			"checksum", "the binary's SHA-256 is "+sha)
	})

	t.Run("bad list", func(t *testing.T) {
		bad := filepath.Join(t.TempDir(), "native.yaml")
		if err := os.WriteFile(bad, []byte("- {path: relative, sha256: x}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, _, err := NewDispatchRunner(ctx, RunnerEnv{WorkDir: t.TempDir(), NativeFile: bad, Logger: slog.New(slog.DiscardHandler)})
		wantErr(t, err, "--native-drivers", bad, "entry 1: want an absolute path and a 64-hex-digit sha256")
	})
}

func wantErr(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one with %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error lacks %q:\n%v", p, err)
		}
	}
}
