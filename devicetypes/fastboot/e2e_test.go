package main

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/core/testlab"
	"github.com/lavalab/lavalab/devicetypes/fastboot/internal/fbdev"
)

// e2eJob deploys boot and system (gz-compressed on the server) to fastboot,
// plus extra images, boots with `fastboot reboot` and runs a test shell on
// the device's console.
func e2eJob(base, extra string, flashSeconds int) string {
	return fmt.Sprintf(`job_name: fastboot end to end
device_type: fastboot
priority: medium
visibility: public
timeouts:
  job: {minutes: 4}
  action: {minutes: 2}
  actions:
    fastboot-flash-action: {seconds: %[3]d}
actions:
- deploy:
    to: fastboot
    images:
      boot:
        url: %[1]s/boot.img
      system:
        url: %[1]s/system.img.gz
        compression: gz
%[2]s- boot:
    method: fastboot
    prompts: ['fbdev-os# ']
- test:
    definitions:
    - repository:
        metadata:
          format: Lava-Test Test Definition 1.0
          name: fbdev
        run:
          steps:
          - lava-test-case os-shell --shell test -n "$PS1"
      from: inline
      name: fbdev
      path: inline/fbdev.yaml
`, base, extra, flashSeconds)
}

// TestEndToEnd runs fastboot jobs through real lava-server and lava-worker
// processes with this driver (built to WASM) and Debian's fastboot tool
// against the protocol-level fastboot test device (internal/fbdev) over
// TCP: a deploy and boot to Complete, with the flashed bytes checked on the
// device; a partition the device refuses and a device that is not there
// end the job Incomplete with fastboot's own error, the board powered off.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("real lava-server and lava-worker processes: not in -short")
	}
	testenv.NeedTool(t, "fastboot")
	bins := testlab.BuildFor(t)
	build := exec.Command("go", "build", "-o", filepath.Join(bins.Drivers, "fastboot.wasm"), ".")
	build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the driver: %v\n%s", err, out)
	}

	dev, err := fbdev.Start("boot", "system")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	// A port nothing listens on: the board that is not there.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := ln.Addr().String()
	ln.Close()

	bootImg := bytes.Repeat([]byte("boot-image "), 30000)
	systemImg := bytes.Repeat([]byte("system-image "), 50000)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(systemImg)
	_ = zw.Close()
	files := map[string][]byte{"/boot.img": bootImg, "/system.img.gz": gz.Bytes(), "/vendor.img": []byte("vendor")}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write(b)
	}))
	t.Cleanup(srv.Close)

	powerLog := filepath.Join(t.TempDir(), "power.log")
	// The device's reset line (fbdev.ResetOn): the power commands of the
	// devices that are the test device reset it, and wait until it has.
	resetFile := filepath.Join(t.TempDir(), "reset")
	dev.ResetOn(resetFile)
	resetCmd := fmt.Sprintf("touch %[1]s; while [ -e %[1]s ]; do sleep 0.05; done", resetFile)
	dictFor := func(name, serial, sequence string, reset bool) string {
		r := ""
		if reset {
			r = "; " + resetCmd
		}
		return fmt.Sprintf(`extends: fastboot
settings:
  hostname: %[1]s
  fastboot_serial_number: 'tcp:%[2]s'
  adb_serial_number: '%[1]s'
  connection_tcp: '%[3]s'
  hard_reset_command: 'echo %[1]s reset >> %[4]s%[5]s'
  power_on_command: 'echo %[1]s on >> %[4]s'
  power_off_command: 'echo %[1]s off >> %[4]s%[5]s'
  flash_cmds_order: [boot, system, vendor]
  fastboot_sequence: [%[6]s]
`, name, serial, dev.ConsoleAddr(), powerLog, r, sequence)
	}
	l := testlab.Start(t, testlab.Options{Bins: bins,
		WorkerArgs: []string{"--allow-tool", "fastboot@fastboot"},
		Setup: func(l *testlab.Lab) {
			l.Admin("device-type", "add", "fastboot")
			// Three devices, one in service at a time: fbdev-01 (boots
			// with fastboot reboot, as x15 and imx8m), fbdev-03 (the
			// test device too, booting its boot image with fastboot
			// boot and not flashing it, as db410c), fbdev-02 (a fastboot
			// serial number where nothing listens).
			for _, d := range []struct {
				name, serial, sequence, health string
				reset                          bool
			}{
				{"fbdev-01", dev.Addr(), "reboot", "good", true},
				{"fbdev-02", gone, "reboot", "maintenance", false},
				{"fbdev-03", dev.Addr(), "no-flash-boot", "maintenance", true},
			} {
				p := filepath.Join(l.Data, d.name+".yaml")
				if err := os.WriteFile(p, []byte(dictFor(d.name, d.serial, d.sequence, d.reset)), 0o600); err != nil {
					t.Fatal(err)
				}
				l.Admin("device", "add", d.name, "--type", "fastboot", "--worker", testlab.Worker, "--dict", p, "--health", d.health)
			}
		}})

	lastPower := func(dev string) string {
		b, _ := os.ReadFile(powerLog)
		var last string
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if strings.HasPrefix(line, dev+" ") {
				last = line
			}
		}
		return last
	}

	t.Run("deploy and boot", func(t *testing.T) {
		id := l.Submit(e2eJob(srv.URL, "", 60))
		j := l.WaitJob(id, "Finished", 3*time.Minute)
		if j.Health != "Complete" {
			t.Fatalf("job %d: %+v\n%s", id, j, jobLog(t, l, id))
		}
		if got, _ := dev.Flashed("boot"); !bytes.Equal(got, bootImg) {
			t.Errorf("boot partition holds %d bytes, want the %d of boot.img", len(got), len(bootImg))
		}
		if got, _ := dev.Flashed("system"); !bytes.Equal(got, systemImg) {
			t.Errorf("system partition holds %d bytes, want the %d of system.img.gz decompressed", len(got), len(systemImg))
		}
		cmds := dev.Commands()
		fb, fs, rb := slices.Index(cmds, "flash:boot"), slices.Index(cmds, "flash:system"), slices.Index(cmds, "reboot")
		if fb < 0 || fs < fb || rb < fs {
			t.Errorf("the device received %q: want flash:boot, then flash:system, then reboot", cmds)
		}
		log := jobLog(t, l, id)
		for _, w := range []string{"running host tool fastboot -s tcp:" + dev.Addr() + " flash boot ", "fbdev: reset, fastboot mode", "os-shell", "fbdev: rebooting, starting the OS"} {
			if !strings.Contains(log, w) {
				t.Errorf("job log lacks %q", w)
			}
		}
		if p := lastPower("fbdev-01"); p != "fbdev-01 off" {
			t.Errorf("last power command %q, want the board powered off", p)
		}
	})

	t.Run("partition refused", func(t *testing.T) {
		id := l.Submit(e2eJob(srv.URL, "      vendor:\n        url: "+srv.URL+"/vendor.img\n", 60))
		j := l.WaitJob(id, "Finished", 3*time.Minute)
		if j.Health != "Incomplete" || !strings.Contains(j.FailureComment, "partition does not exist") {
			t.Fatalf("job %d: %+v, want Incomplete with fastboot's error", id, j)
		}
		t.Logf("job %d: %s", id, j.FailureComment)
		if p := lastPower("fbdev-01"); p != "fbdev-01 off" {
			t.Errorf("last power command %q, want the board powered off", p)
		}
	})

	t.Run("fastboot boot", func(t *testing.T) {
		l.Admin("device", "set-health", "fbdev-01", "maintenance")
		l.Admin("device", "set-health", "fbdev-03", "good")
		before := len(dev.Commands())
		id := l.Submit(e2eJob(srv.URL, "", 60))
		j := l.WaitJob(id, "Finished", 3*time.Minute)
		if j.Health != "Complete" || j.Device != "fbdev-03" {
			t.Fatalf("job %d: %+v\n%s", id, j, jobLog(t, l, id))
		}
		cmds := dev.Commands()[before:]
		if slices.Contains(cmds, "flash:boot") || !slices.Contains(cmds, "flash:system") || !slices.Contains(cmds, "boot") || slices.Contains(cmds, "reboot") {
			t.Errorf("the device received %q: want system flashed, boot not, and the boot image booted", cmds)
		}
		if b := dev.Booted(); !bytes.Contains(b, bootImg) {
			t.Errorf("the device booted %d bytes, not boot.img", len(b))
		}
		if !strings.Contains(jobLog(t, l, id), "fbdev: booting the downloaded image, starting the OS") {
			t.Error("the job log lacks the device's boot")
		}
		if p := lastPower("fbdev-03"); p != "fbdev-03 off" {
			t.Errorf("last power command %q, want the board powered off", p)
		}
	})

	t.Run("device not found", func(t *testing.T) {
		l.Admin("device", "set-health", "fbdev-03", "maintenance")
		l.Admin("device", "set-health", "fbdev-02", "good")
		// fastboot waits for a device that is not there: the job's
		// timeout of LAVA's fastboot-flash-action ends it.
		id := l.Submit(e2eJob(srv.URL, "", 10))
		j := l.WaitJob(id, "Finished", 3*time.Minute)
		if j.Health != "Incomplete" || j.Device != "fbdev-02" || !strings.Contains(j.FailureComment, "fastboot -s tcp:"+gone) {
			t.Fatalf("job %d: %+v, want Incomplete on fbdev-02 naming the fastboot command", id, j)
		}
		t.Logf("job %d: %s", id, j.FailureComment)
		if p := lastPower("fbdev-02"); p != "fbdev-02 off" {
			t.Errorf("last power command %q, want the board powered off", p)
		}
	})
}

// jobLog returns the messages of a job's log, one a line.
func jobLog(t *testing.T, l *testlab.Lab, id int64) string {
	t.Helper()
	var res struct {
		Records []struct {
			Msg any `json:"msg"`
		} `json:"records"`
	}
	if st := l.API("GET", fmt.Sprintf("/jobs/%d/logs?limit=10000", id), nil, &res); st != http.StatusOK {
		t.Fatalf("job %d logs: HTTP %d", id, st)
	}
	var sb strings.Builder
	for _, r := range res.Records {
		sb.WriteString(fmt.Sprint(r.Msg) + "\n")
	}
	return sb.String()
}
