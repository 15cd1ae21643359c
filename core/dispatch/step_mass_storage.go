package dispatch

// Issue 18: copy files to a board's USB mass storage (LAVA's cmsis-dap
// boot, musca and mps deploys).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/lavalab/lavalab/sdk"
)

// massStoragePoll is how often the step looks for the filesystem and, while
// waiting for a board to remount it, at its listing.
const massStoragePoll = 100 * time.Millisecond

// udevEscape escapes a label or id the way udev names its /dev/disk/by-*
// links: characters other than letters, digits and #+-.:=@_ become \xNN.
func udevEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("#+-.:=@_", c) >= 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, `\x%02x`, c)
		}
	}
	return b.String()
}

// findMassStorage returns the block device of the step's filesystem, or ""
// when it is not there (yet): usb_mass_device as given; a label or UUID
// under /dev/disk/by-label or by-uuid, else as blkid finds it (a worker
// without udev); an id under /dev/disk/by-id.
func findMassStorage(ctx context.Context, m *sdk.MassStorageStep) string {
	exists := func(p string) string {
		if _, err := os.Stat(p); err == nil {
			return p
		}
		return ""
	}
	blkid := func(flag, v string) string {
		out, err := exec.CommandContext(ctx, "blkid", flag, v).Output()
		if err != nil {
			return ""
		}
		return exists(strings.TrimSpace(string(out)))
	}
	switch {
	case m.Device != "":
		return exists(m.Device)
	case m.Label != "":
		if p := exists(filepath.Join("/dev/disk/by-label", udevEscape(m.Label))); p != "" {
			return p
		}
		return blkid("-L", m.Label)
	case m.UUID != "":
		if p := exists(filepath.Join("/dev/disk/by-uuid", udevEscape(m.UUID))); p != "" {
			return p
		}
		return blkid("-U", m.UUID)
	}
	return exists(filepath.Join("/dev/disk/by-id", udevEscape(m.ID)))
}

func massStorageName(m *sdk.MassStorageStep) string {
	switch {
	case m.Device != "":
		return m.Device
	case m.Label != "":
		return "the filesystem labelled " + m.Label
	case m.UUID != "":
		return "the filesystem with UUID " + m.UUID
	}
	return "/dev/disk/by-id/" + m.ID
}

// massStorage runs a mass_storage step: wait for the filesystem (the board
// re-enumerates after a reset), mount it, copy and write the files, sync or
// wait for the board to remount it, check FAIL.TXT, unmount.
func (j *run) massStorage(ctx context.Context, m *sdk.MassStorageStep) (err error) {
	name := massStorageName(m)
	j.log.info("waiting for %s", name)
	var dev string
	for dev = findMassStorage(ctx, m); dev == ""; dev = findMassStorage(ctx, m) {
		select {
		case <-ctx.Done():
			return errorf(sdk.ErrorInfrastructure, "%s did not appear: %v", name, context.Cause(ctx))
		case <-time.After(massStoragePoll):
		}
	}
	dir, err := os.MkdirTemp(j.dir, "usbmsd-")
	if err != nil {
		return errorf(sdk.ErrorInfrastructure, "mount point: %v", err)
	}
	defer os.Remove(dir)
	fstype := m.FSType
	if fstype == "" {
		fstype = "vfat"
	}
	if err := j.hostRun(ctx, "mount", "-t", fstype, dev, dir); err != nil {
		return errorf(sdk.ErrorInfrastructure, "Unable to mount USB device %s: %v", dev, err)
	}
	mounted := true
	defer func() {
		if mounted {
			if uerr := j.hostRun(context.WithoutCancel(ctx), "umount", dir); uerr != nil && err == nil {
				err = errorf(sdk.ErrorInfrastructure, "Unable to unmount USB device %s: %v", dev, uerr)
			}
		}
	}()
	j.log.debug("USB mass storage %s (%s) mounted on %s: %s", name, dev, dir, listing(dir))
	if b, err := os.ReadFile(filepath.Join(dir, "DETAILS.TXT")); err == nil {
		j.log.debug("DETAILS.TXT:\n%s", strings.ReplaceAll(string(b), "\r\n", "\n"))
	}
	for _, c := range m.Copy {
		a, ok := j.worker.Artifacts[c.Role]
		if !ok || a.LocalPath == "" {
			return errorf(sdk.ErrorJob, "mass storage: no deployed image %q to copy", c.Role)
		}
		dst := filepath.Join(dir, filepath.Base(a.LocalPath))
		if c.Rename != "" {
			dst = filepath.Join(dir, c.Rename)
		}
		j.log.debug("Copying %s to %s", a.LocalPath, dst)
		if err := copyFile(a.LocalPath, dst); err != nil {
			return errorf(sdk.ErrorInfrastructure, "copying %s to %s: %v", c.Role, name, err)
		}
	}
	for _, w := range m.Write {
		if err := os.WriteFile(filepath.Join(dir, w.Name), []byte(w.Text), 0o644); err != nil {
			return errorf(sdk.ErrorInfrastructure, "writing %s on %s: %v", w.Name, name, err)
		}
	}
	if err := j.hostRun(ctx, "sync", dir); err != nil {
		return errorf(sdk.ErrorInfrastructure, "Unable to sync %s: %v", dir, err)
	}
	if m.WaitRemount {
		if err := j.waitRemount(ctx, dir); err != nil {
			return err
		}
	}
	if m.CheckFail {
		if b, err := os.ReadFile(filepath.Join(dir, "FAIL.TXT")); err == nil {
			return errorf(sdk.ErrorInfrastructure, "flashing failed: FAIL.TXT present on %s after the copy: %s", name, strings.TrimSpace(string(b)))
		}
	}
	mounted = false
	if err := j.hostRun(ctx, "umount", dir); err != nil {
		return errorf(sdk.ErrorInfrastructure, "Unable to unmount USB device %s: %v", dev, err)
	}
	if d := time.Duration(m.PostUnmountDelayMS) * time.Millisecond; d > 0 {
		j.log.debug("Post-unmount stabilization delay: %s", d)
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-time.After(d):
		}
	}
	return nil
}

// waitRemount waits until the board's firmware has unmounted the
// filesystem (its listing is empty) and mounted it again (not empty), as
// a DAPLink does once it has flashed the image.
func (j *run) waitRemount(ctx context.Context, dir string) error {
	start := time.Now()
	for _, want := range []bool{true, false} {
		what := map[bool]string{true: "unmount", false: "remount"}[want]
		j.log.debug("Waiting for the USB mass storage to self-%s", what)
		for {
			ents, _ := os.ReadDir(dir)
			if (len(ents) == 0) == want {
				break
			}
			select {
			case <-ctx.Done():
				return errorf(sdk.ErrorInfrastructure, "the USB mass storage did not self-%s (skip_autoremount_wait skips the wait): %v", what, context.Cause(ctx))
			case <-time.After(massStoragePoll):
			}
		}
	}
	j.log.debug("USB mass storage self-remount cycle: %.2fs", time.Since(start).Seconds())
	return nil
}

func listing(dir string) string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err.Error()
	}
	names := make([]string, 0, len(ents))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return "[" + strings.Join(names, ", ") + "]"
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// hostRun runs one of the worker's own programs (mount, umount, sync): no
// driver names it. Its output goes to the log.
func (j *run) hostRun(ctx context.Context, name string, args ...string) error {
	j.log.debug("running %s %s", name, strings.Join(args, " "))
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if s := strings.TrimSpace(string(out)); s != "" {
		j.log.debug(">> %s", s)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(out) > 0 {
		return fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(string(out)))
	}
	return err
}
