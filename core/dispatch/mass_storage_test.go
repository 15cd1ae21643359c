package dispatch

// Issue 18: the USB mass storage copy against a real, loop-mounted
// filesystem with the board's label.

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/sdk"
)

func TestUdevEscape(t *testing.T) {
	for in, want := range map[string]string{"DAPLINK": "DAPLINK", "V2M MPS": `V2M\x20MPS`, "a/b": `a\x2fb`, "usb-MBED_VFS_0240-0:0": "usb-MBED_VFS_0240-0:0"} {
		if got := udevEscape(in); got != want {
			t.Errorf("udevEscape(%q) = %q, want %q", in, got, want)
		}
	}
}

// loopFS makes a 4 MiB filesystem labelled label on a loop device and
// returns the device. vfat (LAVA's) when the kernel has it, else ext4
// with the same label (the lookup by label, mount, copy and unmount are
// the same). Root only.
func loopFS(t *testing.T, label string) (dev, fstype string) {
	t.Helper()
	testenv.Need(t, os.Geteuid() == 0, "the mass storage test loop-mounts a filesystem: it runs as root")
	testenv.NeedTool(t, "losetup")
	testenv.NeedTool(t, "blkid")
	fs, _ := os.ReadFile("/proc/filesystems")
	fstype, mkfs := "vfat", []string{testenv.NeedTool(t, "mkfs.vfat"), "-n", label}
	if !strings.Contains(string(fs), "\tvfat\n") && exec.Command("modprobe", "vfat").Run() != nil {
		t.Logf("the kernel has no vfat: the test filesystem is ext4 labelled %s", label)
		fstype, mkfs = "ext4", []string{testenv.NeedTool(t, "mkfs.ext4"), "-q", "-L", label}
	}
	img := filepath.Join(t.TempDir(), "msd.img")
	if err := os.WriteFile(img, make([]byte, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(mkfs[0], append(mkfs[1:], img)...).CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", mkfs, err, out)
	}
	out, err := exec.Command("losetup", "-f", "--show", img).CombinedOutput()
	testenv.Need(t, err == nil, "no loop device: "+strings.TrimSpace(string(out)))
	dev = strings.TrimSpace(string(out))
	t.Cleanup(func() { _ = exec.Command("losetup", "-d", dev).Run() })
	return dev, fstype
}

// mountedFile mounts dev read-only and returns the file's content ("" if absent).
func mountedFile(t *testing.T, dev, fstype, name string) (string, bool) {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", fstype, "-o", "ro", dev, dir).CombinedOutput(); err != nil {
		t.Fatalf("mount: %v\n%s", err, out)
	}
	defer exec.Command("umount", dir).Run()
	b, err := os.ReadFile(filepath.Join(dir, name))
	return string(b), err == nil
}

func TestMassStorageCopy(t *testing.T) {
	const label = "LAVALAB18"
	dev, fstype := loopFS(t, label)
	fw := filepath.Join(t.TempDir(), "zephyr.bin")
	if err := os.WriteFile(fw, []byte("firmware bytes"), 0o644); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	j := &run{log: newJobLog(rec), dir: t.TempDir(), worker: sdk.WorkerFacts{Artifacts: map[string]sdk.Artifact{"zephyr": {LocalPath: fw}}}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	step := &sdk.MassStorageStep{Label: label, FSType: fstype, CheckFail: true,
		Copy:  []sdk.MassStorageCopy{{Role: "zephyr"}, {Role: "zephyr", Rename: "renamed.bin"}},
		Write: []sdk.MassStorageWrite{{Name: "reboot.txt", Text: "hsyxhj"}}}
	if err := j.massStorage(ctx, step); err != nil {
		t.Fatalf("copy: %v\n%s", err, rec.text())
	}
	for name, want := range map[string]string{"zephyr.bin": "firmware bytes", "renamed.bin": "firmware bytes", "reboot.txt": "hsyxhj"} {
		if got, ok := mountedFile(t, dev, fstype, name); !ok || got != want {
			t.Errorf("%s on the board: %q (present %v), want %q", name, got, ok, want)
		}
	}
	if !rec.has("", "mounted on") {
		t.Errorf("the log does not show the mount:\n%s", rec.text())
	}

	// The board wrote FAIL.TXT: the step fails with its text.
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", fstype, dev, dir).CombinedOutput(); err != nil {
		t.Fatalf("mount: %v\n%s", err, out)
	}
	err := os.WriteFile(filepath.Join(dir, "FAIL.TXT"), []byte("The interface firmware FAILED to reset/halt the target MCU\r\n"), 0o644)
	_ = exec.Command("umount", dir).Run()
	if err != nil {
		t.Fatal(err)
	}
	err = j.massStorage(ctx, &sdk.MassStorageStep{Label: label, FSType: fstype, CheckFail: true})
	if err == nil || !strings.Contains(err.Error(), "FAIL.TXT present") || !strings.Contains(err.Error(), "FAILED to reset/halt") {
		t.Errorf("FAIL.TXT: error %v", err)
	}

	// A DAPLink unmounts its storage once it has the image, flashes, and
	// presents it again: simulated by unmounting and remounting the step's
	// mount point behind its back, leaving FAIL.TXT as a board that could
	// not flash would.
	dapLink := func(failText string) <-chan error {
		done := make(chan error, 1)
		go func() {
			done <- func() error {
				deadline := time.Now().Add(20 * time.Second)
				for time.Now().Before(deadline) {
					mnt, _ := filepath.Glob(filepath.Join(j.dir, "usbmsd-*"))
					mounts, _ := os.ReadFile("/proc/mounts")
					if len(mnt) == 1 && strings.Contains(string(mounts), " "+mnt[0]+" ") {
						time.Sleep(300 * time.Millisecond)
						if out, err := exec.Command("umount", mnt[0]).CombinedOutput(); err != nil {
							return fmt.Errorf("umount: %v: %s", err, out)
						}
						time.Sleep(300 * time.Millisecond)
						if out, err := exec.Command("mount", "-t", fstype, dev, mnt[0]).CombinedOutput(); err != nil {
							return fmt.Errorf("mount: %v: %s", err, out)
						}
						if failText != "" {
							return os.WriteFile(filepath.Join(mnt[0], "FAIL.TXT"), []byte(failText), 0o644)
						}
						return nil
					}
					time.Sleep(20 * time.Millisecond)
				}
				return fmt.Errorf("the step never mounted the storage")
			}()
		}()
		return done
	}
	clean := func() {
		dir := t.TempDir()
		if out, err := exec.Command("mount", "-t", fstype, dev, dir).CombinedOutput(); err != nil {
			t.Fatalf("mount: %v\n%s", err, out)
		}
		_ = os.Remove(filepath.Join(dir, "FAIL.TXT"))
		_ = exec.Command("umount", dir).Run()
	}
	clean()
	board := dapLink("")
	remount := &sdk.MassStorageStep{Label: label, FSType: fstype, WaitRemount: true, CheckFail: true, Copy: []sdk.MassStorageCopy{{Role: "zephyr"}}}
	if err := j.massStorage(ctx, remount); err != nil {
		t.Fatalf("copy with the remount wait: %v\n%s", err, rec.text())
	}
	if err := <-board; err != nil {
		t.Fatal(err)
	}
	if !rec.has("", "self-remount cycle") {
		t.Errorf("no remount cycle in the log:\n%s", rec.text())
	}
	board = dapLink("The interface firmware FAILED to reset/halt the target MCU")
	err = j.massStorage(ctx, remount)
	if berr := <-board; berr != nil {
		t.Fatal(berr)
	}
	if err == nil || !strings.Contains(err.Error(), "FAILED to reset/halt") {
		t.Errorf("FAIL.TXT after the remount: error %v", err)
	}

	// A filesystem that never appears: the step fails at its deadline.
	short, cancel2 := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel2()
	err = j.massStorage(short, &sdk.MassStorageStep{Label: "NO-SUCH-LABEL-18"})
	if err == nil || !strings.Contains(err.Error(), "the filesystem labelled NO-SUCH-LABEL-18 did not appear") {
		t.Errorf("missing filesystem: error %v", err)
	}
}
