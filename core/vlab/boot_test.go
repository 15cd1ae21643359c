package vlab_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/console"
	"github.com/lavalab/lavalab/core/expect"
	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/core/tftp"
	"github.com/lavalab/lavalab/core/vlab"
	"github.com/lavalab/lavalab/sdk"
)

// The test binary doubles as the TFTP server run inside the network
// namespace: with helperRoot set, TestMain serves that folder instead of
// running the tests.
const (
	helperRoot  = "LAVALAB_VLAB_TFTP_ROOT"
	helperAddr  = "LAVALAB_VLAB_TFTP_ADDR"
	helperReady = "LAVALAB_VLAB_TFTP_READY"
	helperStats = "LAVALAB_VLAB_TFTP_STATS"
)

func TestMain(m *testing.M) {
	if root := os.Getenv(helperRoot); root != "" {
		if err := serveTFTP(root, os.Getenv(helperAddr), os.Getenv(helperReady), os.Getenv(helperStats)); err != nil {
			fmt.Fprintln(os.Stderr, "tftp helper:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// serveTFTP serves root on addr with core/tftp until SIGTERM or SIGHUP (or
// five minutes), creates the ready file once it listens, and appends one
// line per transfer to the stats file: name, bytes, microseconds, block size.
func serveTFTP(root, addr, ready, stats string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", addr, err)
	}
	defer conn.Close()
	var mu sync.Mutex
	srv := &tftp.Server{Root: root, OnTransfer: func(tr tftp.Transfer) {
		mu.Lock()
		defer mu.Unlock()
		f, err := os.OpenFile(stats, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return
		}
		defer f.Close()
		fmt.Fprintf(f, "%s %d %d %d %v\n", tr.File, tr.Bytes, tr.Duration.Microseconds(), tr.BlockSize, tr.Err)
	}}
	if err := os.WriteFile(ready, []byte(conn.LocalAddr().String()), 0o644); err != nil {
		return err
	}
	return srv.Serve(ctx, conn)
}

// images returns the built images, building them when the host tools are
// there (a complete cache makes that instant).
func images(t testing.TB) vlab.Images {
	t.Helper()
	testenv.NeedTool(t, "qemu-system-aarch64")
	testenv.NeedTool(t, "mkimage")
	dir, err := vlab.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	im, err := vlab.Build(ctx, testenv.RepoRoot(t), dir)
	testenv.Need(t, err == nil, fmt.Sprintf("cannot build the vlab images: %v", err))
	return im
}

// uBootErrors are U-Boot messages that end a boot.
var uBootErrors = []string{"TIMEOUT", "Retry count exceeded", "File not found", "Access violation",
	"Bad Linux ARM64 Image magic!", "Wrong Ramdisk Image Format", "ERROR: Did not find a cmdline Flattened Device Tree",
	"gatewayip needed but not set", "ARP Retry count exceeded"}

// timings are the milestones of one boot, from the start of the board.
type timings struct {
	uboot, shell time.Duration
	// tftp are the rates U-Boot printed after each tftp ("26.2 MiB/s"), in MiB/s.
	tftp []float64
}

// rate is the line U-Boot prints after a transfer.
var rate = regexp.MustCompile(`(?:^|\s)([0-9.]+) (KiB|MiB)/s\s*$`)

// boot drives the board on con from power on to the shell: interrupt
// autoboot, send cmds (the last one boots), wait for the shell, run a command
// and check its answer. start is when the board started.
func boot(t testing.TB, con console.Console, start time.Time, cmds []string) timings {
	t.Helper()
	var mu sync.Mutex
	var tm timings
	var tail []string
	e := expect.New(con, expect.Options{LineEnding: "\r", Logger: func(raw string) {
		clean := strings.TrimRight(raw, "\r")
		mu.Lock()
		defer mu.Unlock()
		if m := rate.FindStringSubmatch(clean); m != nil {
			v, _ := strconv.ParseFloat(m[1], 64)
			if m[2] == "KiB" {
				v /= 1024
			}
			tm.tftp = append(tm.tftp, v)
		}
		tail = append(tail, clean)
		if len(tail) > 40 {
			tail = tail[1:]
		}
	}})
	fail := func(what string, err error) {
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("%s: %v\nlast console lines:\n  %s", what, err, strings.Join(tail, "\n  "))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()

	if err := e.Interrupt(ctx, sdk.InterruptStep{Prompt: vlab.InterruptPrompt, Newline: true,
		BootloaderPrompt: vlab.UBootPrompt, Errors: uBootErrors}); err != nil {
		fail("interrupt U-Boot", err)
	}
	tm.uboot = time.Since(start)
	if err := e.Commands(ctx, sdk.CommandsStep{Commands: cmds, Prompt: vlab.UBootPrompt,
		Errors: uBootErrors, Final: []string{"Starting kernel"}}); err != nil {
		fail("U-Boot commands", err)
	}
	if _, err := e.ExpectPatterns(ctx, []sdk.Pattern{{Regex: "Linux version [0-9]"},
		{Regex: "Kernel panic - not syncing", Fail: true, Message: "kernel panic"}}, 0); err != nil {
		fail("kernel start", err)
	}
	if _, err := e.WaitShell(ctx, sdk.ShellStep{Prompts: []string{vlab.ShellPrompt}}); err != nil {
		fail("shell prompt", err)
	}
	tm.shell = time.Since(start)
	if err := e.Send(ctx, "echo VLAB-$((40+2)) $(uname -m)", true, 0); err != nil {
		fail("send", err)
	}
	if _, err := e.ExpectPatterns(ctx, []sdk.Pattern{{Regex: `(?m)^VLAB-42 aarch64`}}, 0); err != nil {
		fail("command output", err)
	}
	if _, err := e.WaitShell(ctx, sdk.ShellStep{Prompts: []string{vlab.ShellPrompt}}); err != nil {
		fail("shell prompt after the command", err)
	}
	// A PSCI power off: QEMU exits with status 0.
	if err := e.Send(ctx, "poweroff -f", true, 0); err != nil {
		fail("poweroff", err)
	}
	return tm
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// tcpBoard is a board whose console is a TCP socket.
type tcpBoard struct {
	con   console.Console
	start time.Time
	// exited receives QEMU's exit status.
	exited chan error
}

// startTCPBoard runs the board with its console on a TCP socket (wait=on:
// the guest starts when the console attaches) and attaches it.
func startTCPBoard(t testing.TB, im vlab.Images) tcpBoard {
	t.Helper()
	port := freePort(t)
	args, err := vlab.Board{Images: im, Serial: fmt.Sprintf("socket,id=ser0,host=127.0.0.1,port=%d,server=on,wait=on,telnet=off", port)}.Args()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd := exec.Command("qemu-system-aarch64", args...)
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		err := cmd.Wait()
		close(done)
		exited <- err
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for {
		con, err := console.Open(ctx, sdk.ConnectStep{TCP: addr})
		if err == nil {
			t.Cleanup(func() { con.Close() })
			return tcpBoard{con: con, start: start, exited: exited}
		}
		select {
		case err := <-exited:
			t.Fatalf("qemu exited before its console opened: %v: %s", err, stderr.String())
		case <-ctx.Done():
			t.Fatalf("console %s: %v", addr, err)
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// waitExit waits for QEMU to end after the guest's power off.
func (b tcpBoard) waitExit(t testing.TB) {
	t.Helper()
	select {
	case err := <-b.exited:
		if err != nil {
			t.Fatalf("qemu ended with %v after the guest's power off", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("qemu still runs 10 s after the guest powered off")
	}
}

// The board boots through QEMU's own TFTP server: U-Boot from power on to
// the busybox shell, a u-boot-header ramdisk and U-Boot's control device
// tree (fdtcontroladdr).
func TestBootUserNetTFTP(t *testing.T) {
	im := images(t)
	b := startTCPBoard(t, im)
	tm := boot(t, b.con, b.start, []string{
		"setenv autoload no", "dhcp", "setenv serverip " + vlab.HostIP,
		"tftp ${kernel_addr_r} " + vlab.KernelTFTP, "tftp ${ramdisk_addr_r} " + vlab.UInitrdTFTP,
		"setenv bootargs '" + vlab.BootArgs + "'",
		"booti ${kernel_addr_r} ${ramdisk_addr_r} ${fdtcontroladdr}",
	})
	b.waitExit(t)
	t.Logf("QEMU TFTP: U-Boot prompt %.2f s, shell %.2f s, tftp %v MiB/s", tm.uboot.Seconds(), tm.shell.Seconds(), tm.tftp)
	if len(tm.tftp) != 2 {
		t.Fatalf("U-Boot printed %d transfer rates, want 2 (kernel, ramdisk)", len(tm.tftp))
	}
}

// netnsAddr is the address of our TFTP server inside the namespace: not
// QEMU's 10.0.2.x, so QEMU's NAT hands U-Boot's packets to the host stack.
const netnsAddr = "192.0.2.1"

// startNetnsBoard runs our TFTP server (this test binary) and the board in
// a private network namespace that has only a loopback device: U-Boot's
// requests to 192.0.2.1:69 leave QEMU's user network through its NAT and
// reach our server, and nothing leaves the namespace. The console is QEMU's
// stdio in a pty (a TCP port inside the namespace is not reachable from
// here). It returns the console, the stats file and the start time.
func startNetnsBoard(t testing.TB, im vlab.Images) (console.Console, string, time.Time) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Need(t, false, "a private network namespace needs root")
	}
	unshare := testenv.NeedTool(t, "unshare")
	testenv.NeedTool(t, "ip")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ready, stats := filepath.Join(dir, "ready"), filepath.Join(dir, "stats")
	args, err := vlab.Board{Images: im, Serial: "stdio,id=ser0,signal=off", Netdev: "user,id=n0"}.Args()
	if err != nil {
		t.Fatal(err)
	}
	script := strings.Join([]string{
		"set -e",
		"ip link set lo up",
		"ip addr add " + netnsAddr + "/32 dev lo",
		fmt.Sprintf("%s=%s %s=%s %s=%s %s=%s %s -test.run='^$' &", helperRoot, quote(im.TFTPRoot), helperAddr, netnsAddr+":69",
			helperReady, quote(ready), helperStats, quote(stats), quote(self)),
		"i=0; while [ ! -e " + quote(ready) + " ]; do i=$((i+1)); [ $i -lt 500 ] || { echo 'tftp helper did not start'; exit 1; }; sleep 0.01; done",
		"exec qemu-system-aarch64 " + quoteAll(args),
	}, "\n")
	path := filepath.Join(dir, "board.sh")
	if err := os.WriteFile(path, []byte(script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	con, err := console.Open(ctx, sdk.ConnectStep{Command: unshare + " -n sh " + quote(path)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { con.Close() })
	return con, stats, start
}

// The board in a private network namespace fetches its kernel and a raw
// ramdisk from our own TFTP server (core/tftp) on port 69, not from QEMU's,
// and boots with QEMU's device tree (fdt_addr).
func TestBootOwnTFTPInNetns(t *testing.T) {
	im := images(t)
	con, stats, start := startNetnsBoard(t, im)
	tm := boot(t, con, start, []string{
		"setenv autoload no", "dhcp", "setenv serverip " + netnsAddr,
		"tftp ${kernel_addr_r} " + vlab.KernelTFTP, "tftp ${ramdisk_addr_r} " + vlab.InitramfsTFTP,
		"setenv bootargs '" + vlab.BootArgs + "'",
		"booti ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdt_addr}",
	})
	// The console process (unshare, then qemu) ends after the power off.
	if p, ok := con.(console.Process); ok {
		deadline := time.Now().Add(10 * time.Second)
		for exited, _ := p.Exited(); !exited && time.Now().Before(deadline); exited, _ = p.Exited() {
			time.Sleep(20 * time.Millisecond)
		}
		if exited, err := p.Exited(); !exited || err != nil {
			t.Fatalf("qemu after the guest's power off: exited %v, %v", exited, err)
		}
	}
	text, err := os.ReadFile(stats)
	if err != nil {
		t.Fatalf("our TFTP server recorded no transfer: %v", err)
	}
	var served []string
	for _, line := range strings.Split(strings.TrimSpace(string(text)), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 || f[4] != "<nil>" {
			t.Fatalf("transfer failed: %q", line)
		}
		bytes, _ := strconv.ParseInt(f[1], 10, 64)
		us, _ := strconv.ParseInt(f[2], 10, 64)
		t.Logf("our TFTP server: %s %d bytes in %.2f s (%.1f MiB/s), blksize %s", f[0], bytes, float64(us)/1e6,
			float64(bytes)/(1<<20)/(float64(us)/1e6), f[3])
		served = append(served, f[0])
	}
	if strings.Join(served, " ") != vlab.KernelTFTP+" "+vlab.InitramfsTFTP {
		t.Fatalf("our server served %q, want the kernel then the initramfs", served)
	}
	t.Logf("own TFTP in a netns: U-Boot prompt %.2f s, shell %.2f s, tftp %v MiB/s (U-Boot's figures)", tm.uboot.Seconds(), tm.shell.Seconds(), tm.tftp)
}

// quote quotes s for sh.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func quoteAll(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = quote(a)
	}
	return strings.Join(q, " ")
}

// The board's numbers: time to the U-Boot prompt and to the shell, and the
// TFTP rate U-Boot reports, through QEMU's TFTP server (go test -bench Boot
// ./core/vlab).
func BenchmarkBootToShell(b *testing.B) {
	im := images(b)
	var uboot, shell, rateSum float64
	var rates int
	for i := 0; i < b.N; i++ {
		board := startTCPBoard(b, im)
		tm := boot(b, board.con, board.start, []string{
			"setenv autoload no", "dhcp", "setenv serverip " + vlab.HostIP,
			"tftp ${kernel_addr_r} " + vlab.KernelTFTP, "tftp ${ramdisk_addr_r} " + vlab.UInitrdTFTP,
			"setenv bootargs '" + vlab.BootArgs + "'",
			"booti ${kernel_addr_r} ${ramdisk_addr_r} ${fdtcontroladdr}",
		})
		board.waitExit(b)
		uboot += tm.uboot.Seconds()
		shell += tm.shell.Seconds()
		for _, r := range tm.tftp {
			rateSum += r
			rates++
		}
	}
	b.ReportMetric(uboot/float64(b.N), "s-to-uboot")
	b.ReportMetric(shell/float64(b.N), "s-to-shell")
	if rates > 0 {
		b.ReportMetric(rateSum/float64(rates), "tftp-MiB/s")
	}
}
