package dispatch

// Issue 18: the virtual Cortex-M board (QEMU mps2-an385) through the mcu
// driver: flashed by gdb-multiarch through QEMU's gdb server, or run by
// -kernel; monitors watch its UART.

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/hosttools"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/core/vlab"
	"github.com/lavalab/lavalab/sdk"
)

// mcuFirmware builds (or finds) the firmware and copies it where the
// dispatcher's file:// downloads may read it.
func mcuFirmware(t *testing.T) string {
	t.Helper()
	testenv.NeedTool(t, "qemu-system-arm")
	testenv.NeedTool(t, "gdb-multiarch")
	dir, err := vlab.CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	im, err := vlab.BuildMCU(ctx, testenv.RepoRoot(t), dir)
	testenv.Need(t, err == nil, fmt.Sprintf("cannot build the Cortex-M firmware (make vlab-images): %v", err))
	tmp, err := os.MkdirTemp("", "mcu-fw-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	for _, f := range []string{im.ELF, im.Bin, im.Hex} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, filepath.Base(f)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return tmp
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// mcuDictionary is examples/devices/mcu-01.jinja2 with its gdb port.
func mcuDictionary(t *testing.T, port int) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "examples", "devices", "mcu-01.jinja2"))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(b), "18130", fmt.Sprint(port))
	return []byte(s)
}

// mcuJob is examples/jobs/mcu-monitors.yaml with the firmware's URL (its
// format: elf, bin or hex) and boot method, and edit applied.
func mcuJob(t *testing.T, fwDir, boot, format string, edit func(string) string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testenv.RepoRoot(t), "examples", "jobs", "mcu-monitors.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), "http://127.0.0.1:8000/firmware.elf", "file://"+filepath.Join(fwDir, "firmware."+format), 1)
	if boot == "qemu" {
		s = strings.Replace(s, "    method: gdb\n    commands: qemu\n", "    method: qemu\n", 1)
		s = strings.Replace(s, "        url: file://", "        image_arg: '-kernel {firmware}'\n        url: file://", 1)
	}
	if edit != nil {
		s = edit(s)
	}
	return []byte(s)
}

func mcuTools(t *testing.T) *hosttools.Policy {
	t.Helper()
	p, err := hosttools.New(hosttools.Rule{Name: "qemu-system-arm", DeviceTypes: []string{"mcu"}}, hosttools.Rule{Name: "gdb-multiarch", DeviceTypes: []string{"mcu"}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMCUVirtualBoard(t *testing.T) {
	fw := mcuFirmware(t)
	d := newDispatcherTools(t, mcuTools(t))
	drv := loadDriver(t, "mcu")
	// The firmware as an ELF, a raw binary (QEMU -kernel loads it at 0) and
	// Intel hex (gdb's load reads it).
	for _, tc := range []struct{ boot, format string }{{"gdb", "elf"}, {"gdb", "hex"}, {"qemu", "elf"}, {"qemu", "bin"}} {
		boot := tc.boot
		t.Run(tc.boot+"-"+tc.format, func(t *testing.T) {
			port := freeTCPPort(t)
			rec := &recorder{}
			out := d.Run(context.Background(), Request{JobID: 18, Definition: mcuJob(t, fw, boot, tc.format, nil), DeviceName: "mcu-01", Dictionary: mcuDictionary(t, port), Driver: drv}, rec)
			wantComplete(t, out, rec)
			want := map[string]string{"lava/lava-test-monitor-retry": "pass"}
			for suite, cases := range vlab.MCUCases {
				for c, r := range cases {
					want[suite+"/"+c] = r
				}
			}
			wantCases(t, out, want)
			if boot == "gdb" && !rec.has("", "gdb-multiarch -q -nx -batch") {
				t.Errorf("no gdb-multiarch in the log:\n%s", rec.text())
			}
		})
	}

	// The board never prints the start string: Incomplete at the test
	// action's timeout, naming the string, and QEMU (the board) is gone.
	t.Run("no-start", func(t *testing.T) {
		port := freeTCPPort(t)
		rec := &recorder{}
		def := mcuJob(t, fw, "gdb", "elf", func(s string) string {
			s = strings.Replace(s, "start: Running test suite kernel", "start: Running test suite missing", 1)
			return strings.Replace(s, "- test:\n    timeout:\n      seconds: 60", "- test:\n    timeout:\n      seconds: 3", 1)
		})
		out := d.Run(context.Background(), Request{JobID: 19, Definition: def, DeviceName: "mcu-01", Dictionary: mcuDictionary(t, port), Driver: drv}, rec)
		if out.Health != model.JobIncomplete || out.ErrorType != sdk.ErrorTest || !strings.Contains(out.Error, `the start string "Running test suite missing" was not found`) {
			t.Fatalf("job %s (%s: %s)\n%s", out.Health, out.ErrorType, out.Error, rec.text())
		}
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
			c.Close()
			t.Errorf("QEMU's gdb server still answers on port %d after the job: the board was not powered off", port)
		}
	})
}
