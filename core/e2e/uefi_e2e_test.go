package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/core/vlab"
)

// uefiMissingList is a uefi-menu list whose item the board's Boot Manager
// does not have (issue 17: a missing menu item ends the job Incomplete).
const uefiMissingList = `{% set uefi_menu_commands = {'missing': [
  {'select': {'items': ['Boot Manager'], 'wait': 'Boot Manager Menu'}},
  {'select': {'items': ['UEFI HTTPv4 (MAC:000000000000)'], 'wait': 'grub>'}},
]} %}
`

// TestUEFIBoard runs the virtual arm64 UEFI board of issue 17
// (scripts/vlab/uefiboard.sh: QEMU -M virt with AAVMF, the images of
// scripts/vlab/uefi-images.sh) through the real server and worker: a
// uefi-menu job walks EDK2's menus by their items' text to the PXE entry,
// GRUB boots Debian's arm64 kernel and the busybox ramdisk over TFTP, the
// test shell reports its cases and the job is Complete with LAVA's `lava`
// cases, the board off. Beside it, on a second board, a menu list naming
// an item the Boot Manager does not have ends the job Incomplete with the
// item and the items seen, that board off; then that board, whose disk is
// the TFTP root, boots with LAVA's uefi method: the Boot Manager's EFI
// Internal Shell runs the kernel's EFI stub from the disk, Complete.
func TestUEFIBoard(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end lab test with QEMU boards: not in -short")
	}
	if os.Getenv("LAVALAB_E2E") != "1" {
		t.Skip("end-to-end lab tests run with make test-e2e (LAVALAB_E2E=1)")
	}
	testenv.NeedTool(t, "qemu-system-aarch64")
	testenv.NeedTool(t, "busybox")
	_, err := os.Stat("/usr/share/AAVMF/AAVMF_CODE.fd")
	testenv.Need(t, err == nil, "no AAVMF firmware (qemu-efi-aarch64): make vlab-images installs it")
	cache, err := vlab.CacheDir()
	testenv.Need(t, err == nil, fmt.Sprintf("no vlab image cache folder: %v", err))
	_, err = os.Stat(filepath.Join(cache, "uefi", "stamp"))
	testenv.Need(t, err == nil, fmt.Sprintf("the UEFI board images are missing (make vlab-images): %v", err))
	root := testenv.RepoRoot(t)
	for _, f := range []string{"lava-server", "lava-worker", "drivers/qemu-uefi-arm64.wasm"} {
		_, err := os.Stat(filepath.Join(root, "bin", f))
		testenv.Need(t, err == nil, fmt.Sprintf("bin/%s is missing: run make build (make test-e2e does)", f))
	}

	l := &lab{t: t, top: t, root: root, data: t.TempDir(), httpClient: &http.Client{Timeout: 60 * time.Second}}
	l.runDir = filepath.Join(l.data, "boards")
	l.cache = compileCache(t)
	l.im = vlab.Images{Dir: cache}
	mux := http.NewServeMux()
	mux.Handle("/vlab/", http.StripPrefix("/vlab/", http.FileServer(http.Dir(filepath.Join(cache, "tftp")))))
	l.files = httptest.NewServer(mux)
	t.Cleanup(l.files.Close)

	drv := filepath.Join(l.data, "drivers")
	must(t, os.MkdirAll(drv, 0o755))
	l.token = l.admin("user", "add", "admin", "--admin")
	wtoken := l.admin("worker", "add", "w1")
	must(t, os.WriteFile(filepath.Join(l.data, "w1.token"), []byte(wtoken+"\n"), 0o600))
	wasm, err := os.ReadFile(filepath.Join(root, "bin", "drivers", "qemu-uefi-arm64.wasm"))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(drv, "qemu-uefi-arm64.wasm"), wasm, 0o644))
	l.admin("device-type", "add", "qemu-uefi-arm64")
	text, err := os.ReadFile(filepath.Join(root, "examples", "devices", "uefi-01.jinja2"))
	must(t, err)
	boards := []string{"uefi-01", "uefi-02"}
	ports := map[string]int{}
	for _, name := range boards {
		port := freePort(t)
		ports[name] = port
		s := strings.ReplaceAll(string(text), "sh scripts/", "sh "+root+"/scripts/")
		s = strings.ReplaceAll(s, "--port 18123", fmt.Sprintf("--port %d", port))
		s = strings.ReplaceAll(s, "--name uefi-01", "--name "+name)
		if name == "uefi-02" {
			// The uefi method's board: the TFTP root is its disk too.
			s = strings.Replace(s, "/jobs\"' %}", "/jobs\" --disk \"${LAVALAB_WORK_DIR:-/var/lib/lavalab/worker}/jobs\"' %}", 1)
			s += uefiMissingList
		}
		dict := filepath.Join(l.data, name+".jinja2")
		must(t, os.WriteFile(dict, []byte(s), 0o644))
		// Each job is tagged for its board: only uefi-02 has the list "missing".
		l.admin("device", "add", name, "--type", "qemu-uefi-arm64", "--worker", "w1", "--dict", dict, "--health", "good", "--tag", name)
	}
	t.Cleanup(func() {
		for _, name := range boards {
			cmd := exec.Command("sh", filepath.Join(root, "scripts", "vlab", "uefiboard.sh"), "off", "--name", name)
			cmd.Env = append(os.Environ(), "LAVALAB_VLAB_RUN="+l.runDir)
			_ = cmd.Run()
		}
	})
	l.startServer()
	l.startWorker()

	job := func(file, name, list, board string) string {
		b, err := os.ReadFile(filepath.Join(root, "examples", "jobs", file))
		must(t, err)
		s := strings.ReplaceAll(string(b), "http://127.0.0.1:18101/", l.files.URL+"/vlab/")
		s = regexp.MustCompile(`(?m)^job_name: .*$`).ReplaceAllString(s, "job_name: "+yamlQuote(name))
		s = strings.Replace(s, "commands: ramdisk", "commands: "+list, 1)
		return strings.Replace(s, "\nactions:\n", "\ntags:\n- "+board+"\nactions:\n", 1)
	}
	start := time.Now()
	good := l.submit(job("uefi-menu-ramdisk.yaml", "e2e uefi-menu ramdisk boot", "ramdisk", "uefi-01"))
	bad := l.submit(job("uefi-menu-ramdisk.yaml", "e2e uefi-menu with a missing item", "missing", "uefi-02"))
	shell := l.submit(job("uefi-shell-ramdisk.yaml", "e2e uefi shell ramdisk boot", "ramdisk", "uefi-02"))
	t.Run("uefi-menu", func(t *testing.T) {
		l := l.with(t)
		j := l.waitFinished(good)
		t.Logf("job %d (uefi-menu on %s): %s in %.1f s, %.1f s after the first submit", j.ID, j.ActualDevice, j.Health,
			j.EndTime.Sub(*j.StartTime).Seconds(), time.Since(start).Seconds())
		if j.Health != "Complete" {
			t.Fatalf("job %d: %s, want Complete: %s %s", j.ID, j.Health, j.ErrorType, j.FailureComment)
		}
		wantCases(t, j.ID, l.results(j.ID), map[string]string{
			"0_uefi-smoke/kernel-aarch64": "pass", "0_uefi-smoke/job-id": "pass", "0_uefi-smoke/cmdline-console": "pass",
			"lava/tftp-deploy": "pass", "lava/uefi-menu-action": "pass", "lava/0_uefi-smoke": "pass", "lava/job": "pass"})
		wantLog(t, j.ID, l.logs(j.ID), `Selecting "Boot Manager"`, `Selecting "UEFI PXEv4 \(MAC:525400123456\)"`,
			`Linux version 6\.`, `vlab initramfs ready`, `finalize: power off`, fmt.Sprintf(`board %s off`, j.ActualDevice),
			fmt.Sprintf(`job %d: Complete`, j.ID))
		if boardOn(ports[j.ActualDevice]) {
			t.Errorf("board %s is still powered on", j.ActualDevice)
		}
	})
	t.Run("missing-item", func(t *testing.T) {
		l := l.with(t)
		j := l.waitFinished(bad)
		t.Logf("job %d: %s: %s: %s", j.ID, j.Health, j.ErrorType, j.FailureComment)
		if j.Health != "Incomplete" {
			t.Fatalf("job %d: %s, want Incomplete", j.ID, j.Health)
		}
		if !strings.Contains(j.FailureComment, `menu item "UEFI HTTPv4 (MAC:000000000000)" not found`) ||
			!strings.Contains(j.FailureComment, `"UEFI PXEv4 (MAC:525400123456)"`) || !strings.Contains(j.FailureComment, `"EFI Internal Shell"`) {
			t.Errorf("job %d: failure comment %q: want the missing item and the items seen", j.ID, j.FailureComment)
		}
		wantLog(t, j.ID, l.logs(j.ID), `finalize: power off`, `board uefi-02 off`)
	})
	t.Run("uefi-shell", func(t *testing.T) {
		l := l.with(t)
		j := l.waitFinished(shell)
		t.Logf("job %d (uefi on %s): %s in %.1f s, %.1f s after the first submit", j.ID, j.ActualDevice, j.Health,
			j.EndTime.Sub(*j.StartTime).Seconds(), time.Since(start).Seconds())
		if j.Health != "Complete" {
			t.Fatalf("job %d: %s, want Complete: %s %s", j.ID, j.Health, j.ErrorType, j.FailureComment)
		}
		wantCases(t, j.ID, l.results(j.ID), map[string]string{
			"0_uefi-smoke/kernel-aarch64": "pass", "0_uefi-smoke/job-id": "pass", "0_uefi-smoke/cmdline-console": "pass",
			"lava/tftp-deploy": "pass", "lava/uefi-shell-main-action": "pass", "lava/0_uefi-smoke": "pass", "lava/job": "pass"})
		wantLog(t, j.ID, l.logs(j.ID), `Selecting "EFI Internal Shell"`, `UEFI Interactive Shell`, `Shell>`,
			`Linux version 6\.`, `vlab initramfs ready`, `finalize: power off`, `board uefi-02 off`, fmt.Sprintf(`job %d: Complete`, j.ID))
		if boardOn(ports["uefi-02"]) {
			t.Errorf("board uefi-02 is still powered on")
		}
	})
}
