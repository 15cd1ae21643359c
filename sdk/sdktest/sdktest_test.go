package sdktest

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/drivers"
	"github.com/lavalab/lavalab/core/expect"
	"github.com/lavalab/lavalab/sdk"
)

// The test driver, built and loaded once per test binary.
func board(t *testing.T) *Driver {
	t.Helper()
	return BuildAndLoad(t, "testdata/board")
}

var job = Job{Dictionary: sdk.Values{"connection_command": "telnet localhost 7000", "hard_reset_command": "pdu reset 1"}, Worker: sdk.WorkerFacts{Artifacts: map[string]sdk.Artifact{"kernel": {TFTPPath: "1/kernel/Image", Type: "image"}}}}

// uboot is a scripted U-Boot board with a Linux that logs in root.
func uboot() *Console {
	return &Console{
		Power: map[string]string{sdk.PowerReset: "\r\nU-Boot 2024.01 (Jan 01 2024)\r\nDRAM:  1 GiB\r\nHit any key to stop autoboot:  2 "},
		Echo:  true,
		Replies: []Reply{
			Line("dhcp", "BOOTP broadcast 1\r\nDHCP client bound to address 192.0.2.10\r\n=> "),
			Prefix("tftp ", "Bytes transferred = 123456 (1e240 hex)\r\n=> "),
			Prefix("booti ", "## Flattened Device Tree blob at 7ff00000\r\nStarting kernel ...\r\n\r\n[    0.000000] Linux version 6.1.0 (gcc 12)\r\n\r\ndebian login: "),
			Line("root", "root@debian:~# "),
		},
		Otherwise: "=> ",
	}
}

func boot() sdk.Action {
	return Boot("u-boot", sdk.Values{"prompts": []any{"root@debian:~#"}})
}

func TestRunBoot(t *testing.T) {
	d := board(t)
	if d.Describe().Name != "kitboard" || d.ABIVersion() != sdk.ABIVersion {
		t.Fatalf("describe %+v, ABI %d", d.Describe(), d.ABIVersion())
	}
	con := uboot()
	res := d.Run(t, con, d.Request(job, Deploy("tftp", sdk.Values{"kernel": map[string]any{"url": "http://x/Image"}})), d.Request(job, boot()), d.Request(job, Test(nil)))

	want := []string{"", "dhcp", "tftp 0x40000000 1/kernel/Image", "booti 0x40000000 - ${fdtcontroladdr}", "root"}
	if !slices.Equal(res.Received, want) {
		t.Errorf("the board received %q, want %q", res.Received, want)
	}
	kinds := []string{"serve", "connect", "power", "interrupt", "commands", "expect", "login", "wait_shell", "test_shell"}
	if !slices.Equal(res.Kinds(), kinds) {
		t.Errorf("steps %v, want %v", res.Kinds(), kinds)
	}
	p, i := res.Index(sdk.StepPower), res.Index(sdk.StepInterrupt)
	if p < 0 || p > i || res.Steps[p].Power.Op != sdk.PowerReset || res.Steps[p].Ran {
		t.Errorf("power reset (recorded, not run) should come before the interrupt: %v", res.Kinds())
	}
	for _, s := range res.Steps {
		host := slices.Contains([]string{"serve", "power", "test_shell"}, s.Kind)
		if s.Ran == host || s.Err != nil {
			t.Errorf("step %s: ran %v, err %v", s.Kind, s.Ran, s.Err)
		}
	}
	if got := res.Of(sdk.StepServe); len(got) != 1 || got[0].Action != "deploy tftp" {
		t.Errorf("serve steps %+v", got)
	}
	tr := res.Transcript()
	for _, s := range []string{"== boot u-boot: step 2/7 reset-device (power reset: recorded, not run)", "<< Hit any key to stop autoboot:  2 ", `>> "dhcp\n"`, "<< root@debian:~# "} {
		if !strings.Contains(tr, s) {
			t.Errorf("transcript lacks %q:\n%s", s, tr)
		}
	}
}

// A script that never gives what a step waits for: the step fails after
// the console's timeout, naming the command, and the report lists the
// line no reply answered and the transcript.
func TestRunMissingAnswer(t *testing.T) {
	d := board(t)
	con := uboot()
	con.Replies = slices.DeleteFunc(con.Replies, func(r Reply) bool { return strings.Contains(r.what, "booti") })
	con.Otherwise = ""
	con.Timeout = 300 * time.Millisecond
	con.Replies = append(con.Replies, Line("", "=> "), Line("dhcp", "=> "))
	res, err := d.Exec(context.Background(), con, d.Request(job, boot()))
	var se *StepError
	if !errors.As(err, &se) || se.Step.Kind != sdk.StepCommands {
		t.Fatalf("want a failed commands step, got %v", err)
	}
	var te *expect.TimeoutError
	if !errors.As(err, &te) || !strings.Contains(err.Error(), "timed out after 300ms") {
		t.Errorf("want a timeout, got %v", err)
	}
	report := failureReport(res)
	for _, s := range []string{`no reply answered (the script may miss them): "booti 0x40000000 - ${fdtcontroladdr}"`, "<< Bytes transferred", "bootloader-commands (commands)"} {
		if !strings.Contains(report, s) {
			t.Errorf("report lacks %q:\n%s", s, report)
		}
	}
}

// The driver's own error and its panic reach the test as a worker sees
// them.
func TestPlanErrors(t *testing.T) {
	d := board(t)
	_, err := d.TryPlan(d.Request(job, Boot("fail", nil)))
	var se *sdk.Error
	if !errors.As(err, &se) || se.Type != sdk.ErrorJob || drivers.FaultOf(err) != drivers.FaultReported {
		t.Errorf("boot fail: %v", err)
	}
	_, err = d.TryPlan(d.Request(job, Boot("panic", nil)))
	if !errors.As(err, &se) || se.Type != sdk.ErrorBug || !strings.Contains(se.Message, "the panic method panics") {
		t.Errorf("boot panic: %v", err)
	}
	if _, err := d.Exec(context.Background(), uboot(), d.Request(job, Boot("fail", nil))); err == nil || !strings.Contains(err.Error(), "plan of the boot fail action") {
		t.Errorf("Exec: %v", err)
	}
}

// Settings are merged as the lab merges them: defaults < device type < dictionary.
func TestRequestSettings(t *testing.T) {
	d := board(t)
	req := d.Request(Job{DeviceTypeSettings: sdk.Values{"kernel_addr": "0x1", "bootloader_prompt": "#"}, Dictionary: sdk.Values{"kernel_addr": "0x2"}}, boot())
	if req.Settings.String("kernel_addr", "") != "0x2" || req.Settings.String("bootloader_prompt", "") != "#" {
		t.Errorf("settings %v", req.Settings)
	}
	if req.Device.DeviceType != "kitboard" || req.Device.Hostname != "kitboard-01" || req.Worker.ServerIP == "" || req.JobID != "1" {
		t.Errorf("request %+v", req)
	}
}

// A kernel panic on the console fails the kernel-start step through its
// error pattern.
func TestRunErrorPattern(t *testing.T) {
	d := board(t)
	con := uboot()
	con.Replies[2] = Prefix("booti ", "Starting kernel ...\r\nKernel panic - not syncing: VFS\r\n")
	_, err := d.Exec(context.Background(), con, d.Request(job, boot()))
	var pe *expect.PatternError
	if !errors.As(err, &pe) || pe.Message != "kernel panic" {
		t.Fatalf("want the kernel panic pattern, got %v", err)
	}
}

func step(kind string, set func(*sdk.Step)) sdk.Step {
	s := sdk.Step{Kind: kind}
	set(&s)
	return s
}

var (
	connect = step(sdk.StepConnect, func(s *sdk.Step) { s.Connect = &sdk.ConnectStep{Connection: sdk.DefaultConnection} })
	reset   = step(sdk.StepPower, func(s *sdk.Step) { s.Power = &sdk.PowerStep{Op: sdk.PowerReset} })
)

func interrupt(char string, newline bool) sdk.Step {
	return step(sdk.StepInterrupt, func(s *sdk.Step) {
		s.Interrupt = &sdk.InterruptStep{Prompt: "stop autoboot", Char: char, Newline: newline, BootloaderPrompt: "=>"}
	})
}

// Board output while no console is connected is lost, as on a real board:
// a plan that powers the board before connecting misses the autoboot
// prompt.
func TestExecutePowerBeforeConnect(t *testing.T) {
	con := &Console{Power: map[string]string{sdk.PowerReset: "Hit any key to stop autoboot"}, Timeout: 200 * time.Millisecond, Otherwise: "=> "}
	res, err := Execute(context.Background(), con, sdk.Plan{Steps: []sdk.Step{reset, connect, interrupt("", true)}})
	if err == nil {
		t.Fatal("the interrupt should time out")
	}
	if !strings.Contains(res.Transcript(), "with no console connected: lost") {
		t.Errorf("transcript:\n%s", res.Transcript())
	}
	// Connected first, the same board is interrupted.
	if _, err := Execute(context.Background(), con, sdk.Plan{Steps: []sdk.Step{connect, reset, interrupt("", true)}}); err != nil {
		t.Fatal(err)
	}
}

// An interrupt character without a line ending is matched by a Keys reply.
func TestExecuteKeys(t *testing.T) {
	con := &Console{Connect: "Hit any key to stop autoboot: 3", Replies: []Reply{Keys("\x03", "\r\n=> ")}, Timeout: 2 * time.Second}
	res, err := Execute(context.Background(), con, sdk.Plan{Steps: []sdk.Step{connect, interrupt("\x03", false)}})
	if err != nil {
		t.Fatalf("%v\n%s", err, failureReport(res))
	}
	if !slices.Equal(res.Received, []string{"\x03"}) {
		t.Errorf("received %q", res.Received)
	}
}

// A step without a console, a failed step whose policy is continue, and
// retries.
func TestExecutePolicies(t *testing.T) {
	send := step(sdk.StepSend, func(s *sdk.Step) { s.Send = &sdk.SendStep{Text: "x", Newline: true} })
	if _, err := Execute(context.Background(), &Console{}, sdk.Plan{Steps: []sdk.Step{send}}); err == nil || !strings.Contains(err.Error(), "no connect step opened one") {
		t.Errorf("send without a console: %v", err)
	}
	wait := step(sdk.StepShell, func(s *sdk.Step) { s.Shell = &sdk.ShellStep{Prompts: []string{"# "}} })
	wait.OnFailure = &sdk.Failure{Policy: sdk.FailIgnore}
	con := &Console{Timeout: 100 * time.Millisecond}
	res, err := Execute(context.Background(), con, sdk.Plan{Steps: []sdk.Step{connect, wait, send}})
	if err != nil || res.Steps[1].Err == nil || !slices.Equal(res.Received, []string{"x"}) {
		t.Errorf("continue policy: err %v, steps %+v, received %q", err, res.Steps, res.Received)
	}
	wait.OnFailure = &sdk.Failure{Policy: sdk.FailRetry, Retries: 2}
	con = &Console{Timeout: 50 * time.Millisecond}
	res, err = Execute(context.Background(), con, sdk.Plan{Steps: []sdk.Step{connect, wait}})
	if err == nil || strings.Count(res.Transcript(), "try ") != 3 {
		t.Errorf("retries: %v\n%s", err, res.Transcript())
	}
}

// The board's echo is what a serial console gives back; a shell prompt
// split in the command that sets it does not match in the echo.
func TestExecuteEcho(t *testing.T) {
	con := &Console{Connect: "$ ", Echo: true, Replies: []Reply{Match(`^export PS1=`, "\r\nlava: # ")}, Timeout: 2 * time.Second}
	sendPS1 := step(sdk.StepSend, func(s *sdk.Step) { s.Send = &sdk.SendStep{Text: "export PS1='la''va: # '", Newline: true} })
	wait := step(sdk.StepShell, func(s *sdk.Step) { s.Shell = &sdk.ShellStep{Prompts: []string{"lava: # "}} })
	res, err := Execute(context.Background(), con, sdk.Plan{Steps: []sdk.Step{connect, sendPS1, wait}})
	if err != nil {
		t.Fatalf("%v\n%s", err, failureReport(res))
	}
	if len(con.Unanswered()) != 0 {
		t.Errorf("unanswered %q", con.Unanswered())
	}
}

// The cache keeps at most its limit: the oldest files go first, down to
// half of it.
func TestPruneCache(t *testing.T) {
	dir := t.TempDir()
	old := time.Now().Add(-time.Hour)
	for i, name := range []string{"a", "b", "c", "d"} {
		p := dir + "/" + name
		if err := os.WriteFile(p, make([]byte, 100), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, old.Add(time.Duration(i)*time.Minute), old.Add(time.Duration(i)*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	pruneCache(dir, 1000)
	if n, _ := os.ReadDir(dir); len(n) != 4 {
		t.Fatalf("under the limit: %d files left", len(n))
	}
	pruneCache(dir, 300)
	left, _ := os.ReadDir(dir)
	if len(left) != 1 || left[0].Name() != "d" {
		t.Fatalf("left %v, want the newest file only", left)
	}
}

// The kit refuses what a worker refuses: a plan needing a console the
// dictionary does not give fails before any step reaches the board.
func TestRunSandbox(t *testing.T) {
	d := BuildAndLoad(t, "testdata/board")
	con := &Console{}
	res, err := d.Exec(t.Context(), con, d.Request(Job{Worker: job.Worker}, boot()))
	if err == nil || !strings.Contains(err.Error(), "a worker would refuse it") || !strings.Contains(err.Error(), "has no console") {
		t.Fatalf("want the sandbox's refusal, got %v", err)
	}
	if len(res.Steps) != 0 || len(con.Received()) != 0 {
		t.Fatalf("a refused plan ran: %+v", res.Steps)
	}
}
