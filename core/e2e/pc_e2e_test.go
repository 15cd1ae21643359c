package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
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

// The virtual PC boards of issue 17 (scripts/vlab/pcboard.sh, the images of
// scripts/vlab/pc-images.sh): one board per boot method, each of its own
// device type, on one worker.
var pcBoards = []struct {
	name, deviceType, method string
	port                     int // the example dictionary's console port
}{
	{"pc-ipxe-01", "qemu-ipxe-x86_64", "ipxe", 18120},
	{"pc-grub-efi-01", "qemu-grub-efi-x86_64", "grub-efi", 18121},
	{"pc-grub-01", "qemu-grub-x86_64", "grub", 18122},
}

// needPC skips (outside CI) or fails (CI=true) unless the PC boards can
// run: the opt-in, qemu-system-x86_64, the images and the binaries.
func needPC(t *testing.T) (root, cache string) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end lab test with QEMU boards: not in -short")
	}
	if os.Getenv("LAVALAB_E2E") != "1" {
		t.Skip("end-to-end lab tests run with make test-e2e (LAVALAB_E2E=1)")
	}
	testenv.NeedTool(t, "qemu-system-x86_64")
	testenv.NeedTool(t, "busybox")
	dir, err := vlab.CacheDir()
	testenv.Need(t, err == nil, fmt.Sprintf("no vlab image cache folder: %v", err))
	_, err = os.Stat(filepath.Join(dir, "pc", "stamp"))
	testenv.Need(t, err == nil, fmt.Sprintf("the PC board images are missing (make vlab-images): %v", err))
	root = testenv.RepoRoot(t)
	files := []string{"lava-server", "lava-worker"}
	for _, b := range pcBoards {
		files = append(files, "drivers/"+b.deviceType+".wasm")
	}
	for _, f := range files {
		_, err := os.Stat(filepath.Join(root, "bin", f))
		testenv.Need(t, err == nil, fmt.Sprintf("bin/%s is missing: run make build (make test-e2e does)", f))
	}
	return root, dir
}

// TestPCBoards runs one job per PC boot method at once through the real
// server and worker: iPXE, GRUB EFI (OVMF) and GRUB BIOS boot Debian's
// amd64 kernel and a busybox ramdisk over QEMU's TFTP server, the test
// shell reports its cases, the job is Complete with LAVA's `lava` cases,
// each board is off. Beside them, an iPXE job whose kernel is no kernel
// ends Incomplete with iPXE's own error, its board off; and a job with a
// boot method its device type's driver does not declare is refused at
// submit.
func TestPCBoards(t *testing.T) {
	root, cache := needPC(t)
	l := &lab{t: t, top: t, root: root, data: t.TempDir(), httpClient: &http.Client{Timeout: 60 * time.Second}}
	l.runDir = filepath.Join(l.data, "boards")
	l.cache = compileCache(t)
	l.im = vlab.Images{Dir: cache}
	mux := http.NewServeMux()
	mux.Handle("/pc/", http.StripPrefix("/pc/", http.FileServer(http.Dir(filepath.Join(cache, "pc", "tftp")))))
	l.files = httptest.NewServer(mux)
	t.Cleanup(l.files.Close)

	drv := filepath.Join(l.data, "drivers")
	must(t, os.MkdirAll(drv, 0o755))
	l.token = l.admin("user", "add", "admin", "--admin")
	wtoken := l.admin("worker", "add", "w1")
	must(t, os.WriteFile(filepath.Join(l.data, "w1.token"), []byte(wtoken+"\n"), 0o600))
	ports := map[string]int{}
	for _, b := range pcBoards {
		wasm, err := os.ReadFile(filepath.Join(root, "bin", "drivers", b.deviceType+".wasm"))
		must(t, err)
		must(t, os.WriteFile(filepath.Join(drv, b.deviceType+".wasm"), wasm, 0o644))
		l.admin("device-type", "add", b.deviceType)
		text, err := os.ReadFile(filepath.Join(root, "examples", "devices", b.name+".jinja2"))
		must(t, err)
		port := freePort(t)
		ports[b.name] = port
		s := strings.ReplaceAll(string(text), "sh scripts/", "sh "+root+"/scripts/")
		s = strings.ReplaceAll(s, fmt.Sprintf("--port %d", b.port), fmt.Sprintf("--port %d", port))
		dict := filepath.Join(l.data, b.name+".jinja2")
		must(t, os.WriteFile(dict, []byte(s), 0o644))
		l.admin("device", "add", b.name, "--type", b.deviceType, "--worker", "w1", "--dict", dict, "--health", "good")
	}
	t.Cleanup(func() {
		for _, b := range pcBoards {
			cmd := exec.Command("sh", filepath.Join(root, "scripts", "vlab", "pcboard.sh"), "off", "--name", b.name)
			cmd.Env = append(os.Environ(), "LAVALAB_VLAB_RUN="+l.runDir)
			_ = cmd.Run()
		}
	})
	l.startServer()

	// Refused at submit: a grub boot on the iPXE board's device type.
	refused := l.pcJob("qemu-ipxe-x86_64", "grub", "e2e pc: grub on the ipxe type", "x86_64/bzImage")
	if code, body := l.post("/api/v1/jobs", map[string]string{"definition": refused}); code != http.StatusBadRequest || !strings.Contains(body, `has no boot method \"grub\"; it has: ipxe`) {
		t.Errorf("a grub job on qemu-ipxe-x86_64: HTTP %d %s, want a refusal naming the method", code, body)
	}

	l.startWorker()
	start := time.Now()
	ids := map[string]int64{}
	for _, b := range pcBoards {
		ids[b.name] = l.submit(l.pcJob(b.deviceType, b.method, "e2e pc: "+b.method+" ramdisk boot", "x86_64/bzImage"))
	}
	// The iPXE board's second job: the initramfs deployed as the kernel.
	bad := l.submit(l.pcJob("qemu-ipxe-x86_64", "ipxe", "e2e pc: ipxe with no kernel", "x86_64/initramfs.cpio.gz"))
	for _, b := range pcBoards {
		t.Run(b.method, func(t *testing.T) {
			l := l.with(t)
			j := l.waitFinished(ids[b.name])
			t.Logf("job %d (%s on %s): %s in %.1f s (%s → %s), %.1f s after the first submit", j.ID, b.method, j.ActualDevice, j.Health,
				j.EndTime.Sub(*j.StartTime).Seconds(), j.StartTime.Format("15:04:05"), j.EndTime.Format("15:04:05"), time.Since(start).Seconds())
			if j.Health != "Complete" {
				t.Fatalf("job %d: %s, want Complete: %s %s", j.ID, j.Health, j.ErrorType, j.FailureComment)
			}
			wantCases(t, j.ID, l.results(j.ID), map[string]string{
				"0_pc-smoke/kernel-x86_64": "pass", "0_pc-smoke/job-id": "pass", "0_pc-smoke/cmdline-console": "pass",
				"lava/tftp-deploy": "pass", "lava/" + b.method + "-boot": "pass", "lava/0_pc-smoke": "pass", "lava/job": "pass"})
			wantLog(t, j.ID, l.logs(j.ID), `Linux version 6\.`, `vlab initramfs ready`, `finalize: power off`,
				fmt.Sprintf(`board %s off`, b.name), fmt.Sprintf(`job %d: Complete`, j.ID))
			if pcBoardOn(ports[b.name]) {
				t.Errorf("board %s is still powered on", b.name)
			}
		})
	}
	t.Run("ipxe-wrong-kernel", func(t *testing.T) {
		l := l.with(t)
		j := l.waitFinished(bad)
		if j.Health != "Incomplete" {
			t.Fatalf("job %d: %s, want Incomplete", bad, j.Health)
		}
		if !regexp.MustCompile(`kernel tftp://10\.0\.2\.2/\S+initramfs\S*.*Exec format error`).MatchString(j.FailureComment) {
			t.Errorf("job %d: failure comment %q: want the kernel command and iPXE's error", bad, j.FailureComment)
		}
		t.Logf("job %d: %s: %s", bad, j.ErrorType, j.FailureComment)
		wantLog(t, bad, l.logs(bad), `Exec format error`, `finalize: power off`, `board pc-ipxe-01 off`)
		if pcBoardOn(ports["pc-ipxe-01"]) {
			t.Errorf("board pc-ipxe-01 is still powered on")
		}
	})
}

// pcJob is a ramdisk boot of a PC board with the examples' smoke test
// (examples/jobs/pc-<method>-ramdisk.yaml), its images from the lab's
// file server and its kernel the image at kernel (under /pc/).
func (l *lab) pcJob(deviceType, method, name, kernel string) string {
	text, err := os.ReadFile(filepath.Join(l.root, "examples", "jobs", "pc-"+method+"-ramdisk.yaml"))
	must(l.t, err)
	s := strings.ReplaceAll(string(text), "http://127.0.0.1:18101/", l.files.URL+"/pc/")
	s = strings.Replace(s, l.files.URL+"/pc/x86_64/bzImage", l.files.URL+"/pc/"+kernel, 1)
	s = regexp.MustCompile(`(?m)^job_name: .*$`).ReplaceAllString(s, "job_name: "+yamlQuote(name))
	s = regexp.MustCompile(`(?m)^device_type: .*$`).ReplaceAllString(s, "device_type: "+deviceType)
	return s
}

// post sends an API request and returns the status and body, whatever
// the status.
func (l *lab) post(path string, body any) (int, string) {
	l.t.Helper()
	b, err := json.Marshal(body)
	must(l.t, err)
	req, err := http.NewRequest("POST", l.url+path, bytes.NewReader(b))
	must(l.t, err)
	req.Header.Set("Authorization", "Token "+l.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := l.httpClient.Do(req)
	must(l.t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

// pcBoardOn reports whether a qemu-system-x86_64 with the console port runs.
func pcBoardOn(port int) bool {
	entries, _ := os.ReadDir("/proc")
	needle := fmt.Sprintf("port=%d,", port)
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		cl, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cl, []byte("qemu-system-x86_64")) || !bytes.Contains(cl, []byte(needle)) {
			continue
		}
		st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		if i := bytes.LastIndexByte(st, ')'); i > 0 && i+2 < len(st) && st[i+2] == 'Z' {
			continue
		}
		return true
	}
	return false
}
