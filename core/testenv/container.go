package testenv

// Issue 21: a container engine the tests can run containers with, and a
// busybox image imported from a local tarball (no registry).

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// BusyboxImage is the name of the images NeedContainerEngine imports; each
// test gets its own tag, removed when it ends.
const BusyboxImage = "localhost/lavalab-busybox"

// ContainerEngine is a container engine that ran a container on this machine.
type ContainerEngine struct {
	// Name is the tool name (podman).
	Name string
	// Path runs the engine: podman itself, or scripts/podman-hybrid-cgroup.sh
	// on a host whose cgroup2 hierarchy holds a controller.
	Path string
	// Env is what a process running the engine needs in its environment:
	// CONTAINERS_CONF naming a containers.conf whose default_ulimits fit
	// under this machine's hard limits.
	Env []string
	// Conf is that containers.conf.
	Conf string
	// Image is a busybox image (BusyboxImage:TAG) imported from a tarball.
	Image string
}

// Command is the engine's command line with its environment.
func (e *ContainerEngine) Command(args ...string) *exec.Cmd {
	cmd := exec.Command(e.Path, args...)
	cmd.Env = append(os.Environ(), e.Env...)
	return cmd
}

// NeedContainerEngine returns podman set up to run containers here, with
// BusyboxImage imported, or fails (CI=true) or skips the test with the
// reason. Nothing on the host changes: the ulimits go in a containers.conf
// of the test (CONTAINERS_CONF), and a hybrid-cgroup host's workaround is a
// private mount namespace per engine command (scripts/podman-hybrid-cgroup.sh).
func NeedContainerEngine(t testing.TB) *ContainerEngine {
	t.Helper()
	podman, err := exec.LookPath("podman")
	Need(t, err == nil, "podman is not installed (not on PATH): the container tests need it")
	bb, err := exec.LookPath("busybox")
	Need(t, err == nil, "busybox is not installed: the container tests build their image from it")
	dir := t.TempDir()
	conf := filepath.Join(dir, "containers.conf")
	if err := os.WriteFile(conf, []byte(containersConf()), 0o644); err != nil {
		t.Fatal(err)
	}
	image := fmt.Sprintf("%s:test-%d-%d", BusyboxImage, os.Getpid(), time.Now().UnixNano())
	e := &ContainerEngine{Name: "podman", Path: podman, Env: []string{"CONTAINERS_CONF=" + conf}, Conf: conf, Image: image}
	tarball, err := BusyboxRootfs(dir, bb)
	if err != nil {
		t.Fatalf("busybox image: %v", err)
	}
	if out, err := e.Command("import", tarball, image).CombinedOutput(); err != nil {
		Need(t, false, fmt.Sprintf("podman import failed: %v: %s", err, lastLine(out)))
	}
	t.Cleanup(func() { _ = e.Command("rmi", "--force", image).Run() })
	probe := []string{"run", "--rm", image, "/bin/busybox", "true"}
	out, err := e.Command(probe...).CombinedOutput()
	if err == nil {
		return e
	}
	first := lastLine(out)
	e.Path = filepath.Join(RepoRoot(t), "scripts", "podman-hybrid-cgroup.sh")
	e.Env = append(e.Env, "PODMAN="+podman)
	if out, err := e.Command(probe...).CombinedOutput(); err != nil {
		Need(t, false, fmt.Sprintf("podman cannot run a container here: %s (through scripts/podman-hybrid-cgroup.sh: %s)", first, lastLine(out)))
	}
	return e
}

// containersConf sets the containers' open files and processes limits to
// at most this process's hard limits: podman's defaults are above them on
// some machines, and crun's setrlimit then fails.
func containersConf() string {
	limit := func(res int, want uint64) uint64 {
		var r syscall.Rlimit
		if err := syscall.Getrlimit(res, &r); err == nil && r.Max < want {
			return r.Max
		}
		return want
	}
	const rlimitNproc = 6 // RLIMIT_NPROC on Linux
	nofile, nproc := limit(syscall.RLIMIT_NOFILE, 1024), limit(rlimitNproc, 4096)
	return fmt.Sprintf("[containers]\ndefault_ulimits = [\"nofile=%d:%d\", \"nproc=%d:%d\"]\n", nofile, nofile, nproc, nproc)
}

// BusyboxRootfs writes a tarball of a root file system holding the static
// busybox at busybox (its applets as links, /tmp, /root) into dir.
func BusyboxRootfs(dir, busybox string) (string, error) {
	root := filepath.Join(dir, "rootfs")
	for _, d := range []string{"bin", "tmp", "root", "etc"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			return "", err
		}
	}
	if err := os.Chmod(filepath.Join(root, "tmp"), 0o1777); err != nil {
		return "", err
	}
	b, err := os.ReadFile(busybox)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(root, "bin", "busybox"), b, 0o755); err != nil {
		return "", err
	}
	list, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		return "", fmt.Errorf("busybox --list: %w", err)
	}
	for _, applet := range strings.Fields(string(list)) {
		if applet == "busybox" || strings.Contains(applet, "/") {
			continue
		}
		if err := os.Symlink("busybox", filepath.Join(root, "bin", applet)); err != nil {
			return "", err
		}
	}
	if err := os.WriteFile(filepath.Join(root, "etc", "passwd"), []byte("root:x:0:0:root:/root:/bin/sh\n"), 0o644); err != nil {
		return "", err
	}
	tarball := filepath.Join(dir, "busybox-rootfs.tar")
	if out, err := exec.Command("tar", "-C", root, "-cf", tarball, ".").CombinedOutput(); err != nil {
		return "", fmt.Errorf("tar: %w: %s", err, out)
	}
	return tarball, nil
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}
