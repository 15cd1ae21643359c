package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/worker"
	"github.com/lavalab/lavalab/core/workerproto"
)

type nopRunner struct{}

func (nopRunner) Run(context.Context, workerproto.StartJob, worker.Sink) worker.Outcome {
	return worker.Outcome{}
}

func newNop(context.Context, worker.RunnerEnv) (worker.Runner, func(), error) {
	return nopRunner{}, func() {}, nil
}

// TestLogFormat runs the command line with each --log-format on a
// canceled context (it starts and stops at once) and checks what it logs.
func TestLogFormat(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "token")
	must(t, os.WriteFile(tok, []byte("lavaw_x\n"), 0o600))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	args := func(format string) []string {
		return []string{"--url", "http://127.0.0.1:1", "--name", "w1", "--token-file", tok, "--work-dir", dir, "--log-format", format}
	}

	var out, errb bytes.Buffer
	if c := worker.Main(ctx, args("json"), &out, &errb, newNop); c != 0 {
		t.Fatalf("--log-format json: exit %d\n%s", c, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
	if len(lines) == 0 || lines[0] == "" {
		t.Fatal("--log-format json: nothing logged")
	}
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil || m["msg"] == nil || m["level"] == nil {
			t.Fatalf("--log-format json: line %q is not a slog JSON record (%v)", l, err)
		}
	}

	errb.Reset()
	if c := worker.Main(ctx, args("text"), &out, &errb, newNop); c != 0 {
		t.Fatalf("--log-format text: exit %d\n%s", c, errb.String())
	}
	if s := errb.String(); !strings.Contains(s, `msg="lava-worker starting"`) || strings.HasPrefix(s, "{") {
		t.Fatalf("--log-format text logged %q", s)
	}

	errb.Reset()
	if c := worker.Main(ctx, args("xml"), &out, &errb, newNop); c != 2 || !strings.Contains(errb.String(), "--log-format") {
		t.Fatalf("--log-format xml: exit %d, %q; want 2 and a message naming the flag", c, errb.String())
	}
}

// The artifact-serving flags reach the runner factory.
func TestServeFlags(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "token")
	must(t, os.WriteFile(tok, []byte("lavaw_x\n"), 0o600))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var got worker.ServeEnv
	capture := func(ctx context.Context, env worker.RunnerEnv) (worker.Runner, func(), error) {
		got = env.Serve
		return newNop(ctx, env)
	}
	var out, errb bytes.Buffer
	args := []string{"--url", "http://127.0.0.1:1", "--name", "w1", "--token-file", tok, "--work-dir", dir,
		"--tftp-addr", ":69", "--http-addr", "10.0.0.5:8080", "--server-ip", "10.0.0.5",
		"--nfs-export", "/srv/nfs", "--nfs-server-ip", "10.0.0.6", "--cache-dir", "/var/cache/lava",
		"--allow-file-dir", "/srv/images", "--allow-file-dir", "/srv/more/", "--cache-max", "50GiB", "--driver-cache-max", "512MiB"}
	if c := worker.Main(ctx, args, &out, &errb, capture); c != 0 {
		t.Fatalf("exit %d\n%s", c, errb.String())
	}
	want := worker.ServeEnv{TFTPAddr: ":69", HTTPAddr: "10.0.0.5:8080", ServerIP: "10.0.0.5",
		NFSExport: "/srv/nfs", NFSServerIP: "10.0.0.6", CacheDir: "/var/cache/lava", FileURLDirs: []string{"/srv/images", "/srv/more"},
		CacheMax: 50 << 30, DriverCacheMax: 512 << 20}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("runner got %+v, want %+v", got, want)
	}
	// The defaults, and a size that is not one.
	if c := worker.Main(ctx, args[:len(args)-4], &out, &errb, capture); c != 0 {
		t.Fatalf("exit %d\n%s", c, errb.String())
	}
	if got.CacheMax != worker.DefaultCacheMax || got.DriverCacheMax != worker.DefaultDriverCacheMax {
		t.Fatalf("default caps %d, %d", got.CacheMax, got.DriverCacheMax)
	}
	errb.Reset()
	if c := worker.Main(ctx, append(args[:len(args)-4:len(args)-4], "--cache-max", "lots"), &out, &errb, capture); c != 2 || !strings.Contains(errb.String(), "cache-max") {
		t.Fatalf("--cache-max lots: exit %d, %q", c, errb.String())
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
