package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/console"
	"github.com/lavalab/lavalab/core/expect"
	"github.com/lavalab/lavalab/core/goldentest"
	"github.com/lavalab/lavalab/core/power"
	"github.com/lavalab/lavalab/core/sandbox"
	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/core/vlab"
	"github.com/lavalab/lavalab/sdk"
)

// The driver's boot plan, run step by step against real boards started by
// the example dictionaries' commands (scripts/vlab/board.sh): both boards of
// the worker at once, each from power on to a shell and back off. This is
// what the dispatcher executes, without the dispatcher.
func TestBootPlanOnRealBoards(t *testing.T) {
	testenv.NeedTool(t, "qemu-system-aarch64")
	testenv.NeedTool(t, "busybox")
	dir, err := vlab.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	root := testenv.RepoRoot(t)
	im, err := vlab.Build(ctx, root, dir)
	testenv.Need(t, err == nil, fmt.Sprintf("cannot build the vlab images: %v", err))
	t.Setenv("LAVALAB_VLAB_RUN", t.TempDir())

	for _, name := range []string{"vlab-01", "vlab-02"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			bootPlan(t, root, im, name)
		})
	}
}

func bootPlan(t *testing.T, root string, im vlab.Images, name string) {
	// The worker's TFTP root with one job's files, as the dispatcher lays them out.
	tftpRoot := t.TempDir()
	for rel, src := range map[string]string{"42/kernel/Image": vlab.KernelTFTP, "42/ramdisk/uInitrd": vlab.UInitrdTFTP} {
		dst := filepath.Join(tftpRoot, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(im.File(src), dst); err != nil {
			t.Fatal(err)
		}
	}
	// The example dictionary, with a free console port, this test's TFTP
	// root and absolute script paths.
	dict := dictionary(t, name)
	port := freePort(t)
	for _, k := range []string{"connection_command", "power_on_command", "power_off_command"} {
		c := dict.String(k, "")
		c = strings.ReplaceAll(c, "sh scripts/", "sh "+root+"/scripts/")
		c = strings.NewReplacer("--port 18110", fmt.Sprintf("--port %d", port), "--port 18111", fmt.Sprintf("--port %d", port)).Replace(c)
		if i := strings.Index(c, " --tftp "); i >= 0 {
			c = c[:i] + " --tftp " + tftpRoot
		}
		dict[k] = c
	}
	req := goldentest.BootRequest("qemu-uboot-arm64", dict, "ramdisk", map[string]sdk.Artifact{
		"kernel":  {TFTPPath: "42/kernel/Image", Type: "image"},
		"ramdisk": {TFTPPath: "42/ramdisk/uInitrd", UBootHeader: true},
	})
	req.Action.Params = sdk.Values{"commands": "ramdisk", "prompts": []any{vlab.ShellPrompt}}
	raw, resp := goldentest.Plan(t, driver(), req)
	if resp.Error != nil {
		t.Fatalf("plan: %s", raw)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	var mu sync.Mutex
	var lines []string
	logf := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, fmt.Sprintf(format, args...))
	}
	t.Cleanup(func() {
		_ = power.Run(context.Background(), dict.String("power_off_command", ""), 10*time.Second, nil, nil)
		if t.Failed() {
			mu.Lock()
			defer mu.Unlock()
			n := max(0, len(lines)-60)
			t.Logf("last log lines:\n  %s", strings.Join(lines[n:], "\n  "))
		}
	})
	out := func(line string, _ bool) { logf("power: %s", line) }

	// The worker's sandbox resolves the connect and power steps to the
	// dictionary's commands (the plan names them, never carries them).
	sb := sandbox.Sandbox{Admin: dict, Device: name, DeviceType: "qemu-uboot-arm64"}
	start := time.Now()
	var e *expect.Engine
	var atUBoot, atShell time.Duration
	for _, st := range resp.Plan.Steps {
		var err error
		switch st.Kind {
		case sdk.StepConnect:
			var con console.Console
			var act sandbox.Action
			if act, err = sb.Admit(st); err != nil {
				t.Fatalf("step %s: the sandbox refuses it: %v", st.Name, err)
			}
			if con, err = console.Open(ctx, *act.Console); err == nil {
				t.Cleanup(func() { con.Close() })
				e = expect.New(con, expect.Options{LineEnding: "\r", Logger: func(l string) { logf("%s", strings.TrimRight(l, "\r")) }})
			}
		case sdk.StepPower:
			act, aerr := sb.Admit(st)
			if aerr != nil {
				t.Fatalf("step %s: the sandbox refuses it: %v", st.Name, aerr)
			}
			err = power.RunAll(ctx, act.Shell, 20*time.Second, nil, out)
		case sdk.StepInterrupt:
			err = e.Interrupt(ctx, *st.Interrupt)
			atUBoot = time.Since(start)
		case sdk.StepCommands:
			err = e.Commands(ctx, *st.Commands)
		case sdk.StepExpect:
			_, err = e.ExpectStep(ctx, *st.Expect)
		case sdk.StepShell:
			_, err = e.WaitShell(ctx, *st.Shell)
			atShell = time.Since(start)
		default:
			t.Fatalf("step %s (%s) is not part of a ramdisk boot", st.Name, st.Kind)
		}
		if err != nil {
			t.Fatalf("step %s: %v", st.Name, err)
		}
	}
	if atShell == 0 {
		t.Fatal("the plan has no shell step")
	}
	if err := e.Send(ctx, "echo BOARD-$((6*7)) $(cat /proc/cmdline)", true, 0); err != nil {
		t.Fatal(err)
	}
	m, err := e.ExpectPatterns(ctx, []sdk.Pattern{{Regex: `(?m)^BOARD-42 [^\n]*\n`}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(m.Text, "console=ttyAMA0,115200n8 root=/dev/ram0") {
		t.Fatalf("kernel command line %q is not the plan's bootargs", m.Text)
	}
	if err := power.Run(ctx, dict.String("power_off_command", ""), 10*time.Second, nil, out); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: U-Boot prompt %.2f s, shell %.2f s after the plan started, off at %.2f s", name, atUBoot.Seconds(), atShell.Seconds(), time.Since(start).Seconds())
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
