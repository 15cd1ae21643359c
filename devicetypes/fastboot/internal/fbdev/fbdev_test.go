package fbdev

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/testenv"
)

// fastboot runs the real fastboot tool against the device.
func fastboot(t *testing.T, bin string, d *Device, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, append([]string{"-s", "tcp:" + d.Addr()}, args...)...).CombinedOutput()
	return string(out), err
}

// TestRealFastboot drives the device with Debian's fastboot: getvar, flash
// (the bytes arrive), a refused partition (fastboot's error names it),
// erase, boot (the console gets a shell) and reboot.
func TestRealFastboot(t *testing.T) {
	bin := testenv.NeedTool(t, "fastboot")
	d, err := Start("boot", "system")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	dir := t.TempDir()
	img := filepath.Join(dir, "boot.img")
	want := bytes.Repeat([]byte("fbdev-image "), 40000) // 480 kB: several packets
	if err := os.WriteFile(img, want, 0o644); err != nil {
		t.Fatal(err)
	}

	if out, err := fastboot(t, bin, d, "getvar", "product"); err != nil || !strings.Contains(out, "product: fbdev") {
		t.Fatalf("getvar product: %v\n%s", err, out)
	}
	if out, err := fastboot(t, bin, d, "flash", "boot", img); err != nil {
		t.Fatalf("flash boot: %v\n%s", err, out)
	}
	if got, ok := d.Flashed("boot"); !ok || !bytes.Equal(got, want) {
		t.Fatalf("flashed boot: %d bytes, want %d", len(got), len(want))
	}
	out, err := fastboot(t, bin, d, "flash", "vendor", img)
	if err == nil || !strings.Contains(out, "partition does not exist") {
		t.Fatalf("flash vendor: %v, want fastboot's error naming the refusal:\n%s", err, out)
	}
	if out, err := fastboot(t, bin, d, "erase", "system"); err != nil {
		t.Fatalf("erase system: %v\n%s", err, out)
	}

	con, err := net.Dial("tcp", d.ConsoleAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer con.Close()
	if out, err := fastboot(t, bin, d, "boot", img); err != nil {
		t.Fatalf("boot: %v\n%s", err, out)
	}
	// fastboot wraps a file that is no Android boot image as the kernel of
	// one (a header page, then the kernel).
	if b := d.Booted(); !bytes.HasPrefix(b, []byte("ANDROID!")) || !bytes.Contains(b, want) {
		t.Fatalf("booted %d bytes, want a boot image holding the %d bytes", len(b), len(want))
	}
	// The OS's shell runs on the console.
	_ = con.SetReadDeadline(time.Now().Add(20 * time.Second))
	var got []byte
	buf := make([]byte, 1024)
	wait := func(s string) {
		for !bytes.Contains(got, []byte(s)) {
			n, err := con.Read(buf)
			got = append(got, buf[:n]...)
			if err != nil {
				t.Fatalf("console: %v after %q", err, got)
			}
		}
	}
	wait(Prompt)
	if _, err := con.Write([]byte("echo fbdev-$((6*7))\n")); err != nil {
		t.Fatal(err)
	}
	wait("fbdev-42")
	if out, err := fastboot(t, bin, d, "reboot"); err != nil {
		t.Fatalf("reboot: %v\n%s", err, out)
	}
	cmds := d.Commands()
	for _, w := range []string{"getvar:product", "flash:boot", "flash:vendor", "erase:system", "boot", "reboot"} {
		if !slices.Contains(cmds, w) {
			t.Errorf("the device did not receive %q: %q", w, cmds)
		}
	}
	t.Logf("commands received: %q", cmds)
}
