package worker

import (
	"context"
	"errors"
	"fmt"
	"github.com/lavalab/lavalab/core/workerproto"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// upgrade fetches the server's worker build for this platform, checks its
// SHA-256 (against the safe-to-stop answer and the download's header) and
// that it runs and reports the server's version, replaces the running
// executable with a rename in its directory (atomic) and re-executes it
// with the same arguments. It returns only on failure.
func (w *Worker) upgrade(ctx context.Context, d *workerproto.ErrorDetail) error {
	platform := runtime.GOOS + "/" + runtime.GOARCH
	want := ""
	if d != nil {
		want = d.Binaries[platform]
	}
	if want == "" {
		return fmt.Errorf("the server offers no lava-worker build for %s", platform)
	}
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		return fmt.Errorf("finding the running executable: %w", err)
	}
	data, ver, err := w.o.Client.Binary(ctx, runtime.GOOS, runtime.GOARCH, want)
	if err != nil {
		return fmt.Errorf("downloading the new build: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(exe), ".lava-worker-upgrade-*")
	if err != nil {
		return fmt.Errorf("writing the new build next to %s: %w", exe, err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // after a successful rename there is nothing to remove
	_, err = tmp.Write(data)
	err = errors.Join(err, tmp.Sync(), tmp.Close(), os.Chmod(tmpName, 0o755))
	if err != nil {
		return fmt.Errorf("writing the new build: %w", err)
	}
	vctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(vctx, tmpName, "--version").Output()
	if err != nil {
		return fmt.Errorf("the new build does not run (%s --version): %w", tmpName, err)
	}
	if got := strings.TrimSpace(string(out)); d.ServerVersion != "" && got != d.ServerVersion {
		return fmt.Errorf("the new build reports version %q, the server runs %q (header said %q)", got, d.ServerVersion, ver)
	}
	if err := os.Rename(tmpName, exe); err != nil {
		return fmt.Errorf("replacing %s: %w", exe, err)
	}
	w.log.Warn("lava-worker upgraded; restarting", "from", w.o.Client.Version, "to", d.ServerVersion, "sha256", want, "path", exe)
	if err := syscall.Exec(exe, os.Args, os.Environ()); err != nil {
		return fmt.Errorf("re-executing %s: %w", exe, err)
	}
	return nil
}
