package e2e

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/core/vlab"
)

// deviceType is the virtual board's device type (devicetypes/qemu-uboot-arm64).
const deviceType = "qemu-uboot-arm64"

// waitJobMax bounds every wait for a job: a hang guard, not a timing check
// (a board boots in ~4 s on an idle machine, several times that when the
// machine is loaded).
const waitJobMax = 6 * time.Minute

// need skips (outside CI) or fails (CI=true) unless the lab can run: the
// opt-in, QEMU and busybox, the board images and the binaries of make build.
func need(t testing.TB) (root string, im vlab.Images) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end lab test with QEMU boards: not in -short")
	}
	if os.Getenv("LAVALAB_E2E") != "1" {
		t.Skip("end-to-end lab tests run with make test-e2e (LAVALAB_E2E=1)")
	}
	testenv.NeedTool(t, "qemu-system-aarch64")
	testenv.NeedTool(t, "busybox")
	dir, err := vlab.CacheDir()
	testenv.Need(t, err == nil, fmt.Sprintf("no vlab image cache folder: %v", err))
	im, err = vlab.Open(dir)
	testenv.Need(t, err == nil, fmt.Sprintf("the board images are missing (make vlab-images): %v", err))
	root = testenv.RepoRoot(t)
	for _, f := range []string{"lava-server", "lava-worker", "drivers/" + deviceType + ".wasm"} {
		_, err := os.Stat(filepath.Join(root, "bin", f))
		testenv.Need(t, err == nil, fmt.Sprintf("bin/%s is missing: run make build (make test-e2e does)", f))
	}
	return root, im
}

// board is one virtual board of the lab.
type board struct {
	name string
	port int // console TCP port
}

// lab is a running lab: lava-server, one lava-worker w1, two boards, and an
// HTTP server with the images and a test-definition tarball.
type lab struct {
	t          testing.TB
	top        testing.TB // the test the lab lives as long as
	root       string
	im         vlab.Images
	data       string // lava-server's data dir
	db         string // "" = SQLite in data; else a PostgreSQL DSN
	cache      string // wazero compilation cache shared by server, CLI and worker
	files      *httptest.Server
	url        string
	token      string // admin API token
	boards     []board
	runDir     string // LAVALAB_VLAB_RUN of the boards
	server     *exec.Cmd
	worker     *exec.Cmd
	workers    map[string]*exec.Cmd // by name, every worker started
	serverArgs []string
	serverLog  string
	workerLog  string
	httpClient *http.Client
	devType    string   // the boards' device type
	workerArgs []string // extra lava-worker arguments
}

// labOptions choose the database and the boards' starting health.
type labOptions struct {
	postgresDSN string // "" = SQLite
	health      string // the boards' starting health (unknown: a health check runs first)
	healthCheck bool   // give the device type a health check
	noWorker    bool   // do not start the worker (startWorker later)
	// Issue 16: the boards' device type is imported from these LAVA
	// templates (device-type import) and runs on driver (bin/drivers/
	// DRIVER.wasm); the worker gets workerArgs.
	importType string
	templates  []string
	driver     string
	workerArgs []string
	// twoWorkers puts vlab-02 on a second worker, w2 (issue 21; startWorker
	// starts w1 only: startWorkerNamed("w2") starts it).
	twoWorkers bool
	// serverArgs are added to lava-server serve's arguments.
	serverArgs []string
}

// newLab starts a lab and stops it at cleanup.
func newLab(t testing.TB, o labOptions) *lab {
	root, im := need(t)
	l := &lab{t: t, top: t, root: root, im: im, data: t.TempDir(), httpClient: &http.Client{Timeout: 60 * time.Second},
		devType: deviceType, workerArgs: o.workerArgs,
		workers: map[string]*exec.Cmd{}, serverArgs: o.serverArgs}
	drvName := deviceType
	if o.importType != "" {
		l.devType, drvName = o.importType, o.driver
	}
	l.runDir = filepath.Join(l.data, "boards")
	l.cache = compileCache(t)
	if o.postgresDSN != "" {
		l.db = testenv.PostgresSchema(t, o.postgresDSN, "vlab_e2e_")
	}
	l.files = httptest.NewServer(fileMux(t, im))
	t.Cleanup(l.files.Close)

	drv := filepath.Join(l.data, "drivers")
	must(t, os.MkdirAll(drv, 0o755))
	wasm, err := os.ReadFile(filepath.Join(root, "bin", "drivers", drvName+".wasm"))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(drv, drvName+".wasm"), wasm, 0o644))

	l.token = l.admin("user", "add", "admin", "--admin")
	wtoken := l.admin("worker", "add", "w1")
	must(t, os.WriteFile(filepath.Join(l.data, "w1.token"), []byte(wtoken+"\n"), 0o600))
	if o.twoWorkers {
		w2 := l.admin("worker", "add", "w2")
		must(t, os.WriteFile(filepath.Join(l.data, "w2.token"), []byte(w2+"\n"), 0o600))
	}
	dtArgs := []string{"device-type", "add", deviceType}
	if o.importType != "" {
		dtArgs = append([]string{"device-type", "import"}, o.templates...)
	}
	if o.healthCheck {
		hc := filepath.Join(l.data, "health-check.yaml")
		must(t, os.WriteFile(hc, []byte(l.healthCheckJob()), 0o644))
		dtArgs = append(dtArgs, "--health-check", hc)
	}
	l.admin(dtArgs...)
	health := o.health
	if health == "" {
		health = "good"
	}
	for _, name := range []string{"vlab-01", "vlab-02"} {
		b := board{name: name, port: freePort(t)}
		l.boards = append(l.boards, b)
		dict := filepath.Join(l.data, name+".jinja2")
		must(t, os.WriteFile(dict, l.dictionary(name, b.port), 0o644))
		worker := "w1"
		if o.twoWorkers && name == "vlab-02" {
			worker = "w2"
		}
		l.admin("device", "add", name, "--type", l.devType, "--worker", worker, "--dict", dict, "--health", health)
	}
	// Boards are powered off at the end whatever happened (after the
	// worker stopped: cleanups run last-in first-out).
	t.Cleanup(func() {
		for _, b := range l.boards {
			cmd := exec.Command("sh", filepath.Join(root, "scripts", "vlab", "board.sh"), "off", "--name", b.name)
			cmd.Env = append(os.Environ(), "LAVALAB_VLAB_RUN="+l.runDir)
			_ = cmd.Run()
		}
	})
	l.startServer()
	if !o.noWorker {
		l.startWorker()
	}
	return l
}

// compileCache is the wazero compilation cache the lab's processes share,
// kept between runs ($LAVALAB_E2E_CACHE, else <user cache>/lavalab/e2e-wasm):
// compiling a driver takes seconds on a loaded machine, and wazero writes
// its cache files atomically.
func compileCache(t testing.TB) string {
	dir := os.Getenv("LAVALAB_E2E_CACHE")
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return t.TempDir()
		}
		dir = filepath.Join(base, "lavalab", "e2e-wasm")
	}
	must(t, os.MkdirAll(dir, 0o755))
	return dir
}

// dictionary is examples/devices/<name>.jinja2 with absolute script paths
// and the console port replaced.
func (l *lab) dictionary(name string, port int) []byte {
	text, err := os.ReadFile(filepath.Join(l.root, "examples", "devices", name+".jinja2"))
	must(l.t, err)
	s := strings.ReplaceAll(string(text), "sh scripts/", "sh "+l.root+"/scripts/")
	s = regexp.MustCompile(`--port 1811[01]`).ReplaceAllString(s, fmt.Sprintf("--port %d", port))
	s = strings.ReplaceAll(s, "{% extends '"+deviceType+".jinja2' %}", "{% extends '"+l.devType+".jinja2' %}")
	if !strings.Contains(s, fmt.Sprintf("--port %d", port)) {
		l.t.Fatalf("examples/devices/%s.jinja2 has no console port to replace", name)
	}
	return []byte(s)
}

// admin runs a lava-server admin command on the lab's store.
func (l *lab) admin(args ...string) string {
	l.t.Helper()
	out, err := l.adminErr(args...)
	if err != nil {
		l.t.Fatalf("lava-server %s: %v", strings.Join(args, " "), err)
	}
	return out
}

func (l *lab) adminErr(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	args = append(args, "--data-dir", l.data)
	if l.db != "" {
		args = append(args, "--db", l.db)
	}
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, filepath.Join(l.root, "bin", "lava-server"), args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%w\n%s", err, errb.String())
	}
	return strings.TrimSpace(out.String()), nil
}

// startServer runs lava-server serve on a free port and waits until it listens.
func (l *lab) startServer() {
	t := l.t
	l.serverLog = filepath.Join(l.data, "server.log")
	args := []string{"serve", "--listen", "127.0.0.1:0", "--data-dir", l.data,
		"--drivers-dir", filepath.Join(l.data, "drivers"), "--driver-cache", l.cache}
	if l.db != "" {
		args = append(args, "--db", l.db)
	}
	args = append(args, l.serverArgs...)
	cmd := exec.Command(filepath.Join(l.root, "bin", "lava-server"), args...)
	logf, err := os.Create(l.serverLog)
	must(t, err)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = logf, pw
	must(t, cmd.Start())
	l.server = cmd
	urlc := make(chan string, 1)
	go func() {
		re := regexp.MustCompile(`msg="lava-server listening" url=(http://\S+)`)
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logf, line)
			if m := re.FindStringSubmatch(line); m != nil {
				select {
				case urlc <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(logf, pr)
	}()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); pw.Close(); logf.Close() }()
	t.Cleanup(func() {
		stopProcess(cmd, exited, 20*time.Second)
		if t.Failed() {
			t.Logf("lava-server log (tail):\n%s", tailFile(l.serverLog, 40))
		}
	})
	select {
	case l.url = <-urlc:
	case err := <-exited:
		exited <- err
		t.Fatalf("lava-server exited before listening: %v\n%s", err, tailFile(l.serverLog, 40))
	case <-time.After(5 * time.Minute):
		t.Fatalf("lava-server did not listen within 5 minutes\n%s", tailFile(l.serverLog, 40))
	}
}

// startWorker runs lava-worker w1 for the lab's boards.
func (l *lab) startWorker() { l.startWorkerNamed("w1") }

// startWorkerNamed runs lava-worker NAME (w1 or, with twoWorkers, w2).
func (l *lab) startWorkerNamed(name string) {
	t := l.t
	work := filepath.Join(l.data, "worker")
	if name != "w1" {
		work = filepath.Join(l.data, "worker-"+name)
	}
	must(t, os.MkdirAll(work, 0o755))
	// The worker's driver compilation cache is WORK-DIR/wasm-cache: share the lab's.
	must(t, os.Symlink(l.cache, filepath.Join(work, "wasm-cache")))
	workerLog := filepath.Join(l.data, "worker.log")
	if name != "w1" {
		workerLog = filepath.Join(l.data, "worker-"+name+".log")
	} else {
		l.workerLog = workerLog
	}
	logf, err := os.Create(workerLog)
	must(t, err)
	cmd := exec.Command(filepath.Join(l.root, "bin", "lava-worker"), "--url", l.url, "--name", name,
		"--token-file", filepath.Join(l.data, name+".token"), "--work-dir", work,
		"--drivers-dir", filepath.Join(l.data, "drivers"), "--poll-wait", "5s")
	cmd.Args = append(cmd.Args, l.workerArgs...)
	// The dictionaries' board.sh commands: the TFTP root is the
	// dispatcher's work dir + /jobs, the boards' state is in runDir.
	cmd.Env = append(os.Environ(), "LAVALAB_WORK_DIR="+filepath.Join(work, "dispatch"),
		"LAVALAB_VLAB_RUN="+l.runDir, "LAVALAB_VLAB_CACHE="+l.im.Dir)
	cmd.Stdout, cmd.Stderr = logf, logf
	must(t, cmd.Start())
	if name == "w1" {
		l.worker = cmd
	}
	if l.workers == nil { // a lab built by hand (pc_e2e_test.go)
		l.workers = map[string]*exec.Cmd{}
	}
	l.workers[name] = cmd
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logf.Close() }()
	top := l.top
	top.Cleanup(func() {
		stopProcess(cmd, exited, 30*time.Second)
		if top.Failed() {
			top.Logf("lava-worker %s log (tail):\n%s", name, tailFile(workerLog, 40))
		}
	})
}

// stopProcess sends SIGTERM and waits, then SIGKILL.
func stopProcess(cmd *exec.Cmd, exited chan error, grace time.Duration) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(grace):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// serverAlive reports whether the lab's lava-server process still runs
// (the same process that started: settings change without a restart).
func (l *lab) serverAlive() bool {
	return l.server.ProcessState == nil && l.server.Process.Signal(syscall.Signal(0)) == nil
}

// ---- files: images and a test-definition tarball ----

// tarDefinition is the test definition inside /tests/vlab-tests.tar.gz.
const tarDefinition = `metadata:
  format: Lava-Test Test Definition 1.0
  name: tar-smoke
  description: test definition fetched as a tar.gz URL
run:
  steps:
  - lava-test-case tar-kernel-arm64 --shell test "$(uname -m)" = aarch64
  - lava-test-case tar-helper --shell sh vlab-tests/helper.sh
`

// fileMux serves the board images under /images/ and a gzip tarball of a
// test definition (with a helper script beside it) at /tests/vlab-tests.tar.gz.
func fileMux(t testing.TB, im vlab.Images) http.Handler {
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	add := func(name, body string, mode int64) {
		must(t, tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(body)), Typeflag: tar.TypeReg, ModTime: time.Unix(1700000000, 0)}))
		_, err := tw.Write([]byte(body))
		must(t, err)
	}
	add("vlab-tests/tar-smoke.yaml", tarDefinition, 0o644)
	add("vlab-tests/helper.sh", "#!/bin/sh\necho TAR-HELPER-RAN\ntest -r /proc/version\n", 0o755)
	must(t, tw.Close())
	must(t, gz.Close())
	tarball := buf.Bytes()
	mux := http.NewServeMux()
	mux.Handle("/images/", http.StripPrefix("/images/", http.FileServer(http.Dir(im.TFTPRoot))))
	mux.HandleFunc("/tests/vlab-tests.tar.gz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/gzip")
		_, _ = w.Write(tarball)
	})
	return mux
}

// ---- jobs ----

// jobSpec is a ramdisk boot of the virtual board with some tests.
type jobSpec struct {
	name     string
	priority int
	tests    string // the test action's definitions: list (YAML, indented 4)
}

// inlineTests is a definitions list with one inline test definition.
func inlineTests(name string, steps ...string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "    - repository:\n        metadata:\n          format: Lava-Test Test Definition 1.0\n          name: %s\n"+
		"          description: end-to-end test %s\n        run:\n          steps:\n", name, name)
	for _, s := range steps {
		fmt.Fprintf(&b, "          - %s\n", yamlQuote(s))
	}
	fmt.Fprintf(&b, "      from: inline\n      name: %s\n      path: inline/%s.yaml\n", name, name)
	return b.String()
}

// tarTests is a definitions list fetching tests from the lab's tarball.
func (l *lab) tarTests() string {
	return fmt.Sprintf("    - from: url\n      repository: %s/tests/vlab-tests.tar.gz\n      compression: gz\n"+
		"      name: tar-smoke\n      path: vlab-tests/tar-smoke.yaml\n", l.files.URL)
}

func yamlQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// smokeSteps are the inline smoke test of job (a).
var smokeSteps = []string{
	`lava-test-case kernel-arm64 --shell test "$(uname -m)" = aarch64`,
	`lava-test-case cmdline-ramdisk --shell grep -q root=/dev/ram0 /proc/cmdline`,
}

// job returns the definition of a ramdisk boot: tftp deploy of the kernel
// and the gz initramfs from the lab's file server, u-boot ramdisk boot to
// the initramfs shell, then the tests (none when spec.tests is empty).
func (l *lab) job(spec jobSpec) string {
	prio := "medium"
	if spec.priority != 0 {
		prio = fmt.Sprint(spec.priority)
	}
	def := fmt.Sprintf(`job_name: %q
device_type: %s
priority: %s
visibility: public
timeouts:
  job:
    minutes: 10
  action:
    minutes: 5
  connection:
    minutes: 2
actions:
- deploy:
    to: tftp
    timeout:
      minutes: 3
    kernel:
      url: %s/images/%s
      type: image
    ramdisk:
      url: %s/images/%s
      compression: gz
    os: oe
- boot:
    method: u-boot
    commands: ramdisk
    timeout:
      minutes: 5
    prompts:
    - '%s'
`, spec.name, l.devType, prio, l.files.URL, vlab.KernelTFTP, l.files.URL, vlab.InitramfsTFTP, vlab.ShellPrompt)
	if spec.tests != "" {
		def += "- test:\n    timeout:\n      minutes: 5\n    definitions:\n" + spec.tests
	}
	return def
}

// healthCheckJob is the device type's health check: boot and check the arch.
func (l *lab) healthCheckJob() string {
	return l.job(jobSpec{name: "vlab health check", tests: inlineTests("health",
		`lava-test-case hc-kernel-arm64 --shell test "$(uname -m)" = aarch64`)})
}

// ---- REST API ----

// apiJob is what the tests read of GET /api/v1/jobs/{id}.
type apiJob struct {
	ID             int64          `json:"id"`
	Description    string         `json:"description"`
	State          string         `json:"state"`
	Health         string         `json:"health"`
	Priority       int            `json:"priority"`
	ActualDevice   string         `json:"actual_device"`
	Worker         string         `json:"worker"`
	HealthCheck    bool           `json:"health_check"`
	SubmitTime     *time.Time     `json:"submit_time"`
	StartTime      *time.Time     `json:"start_time"`
	EndTime        *time.Time     `json:"end_time"`
	ErrorType      string         `json:"error_type"`
	FailureComment string         `json:"failure_comment"`
	Settings       map[string]any `json:"settings"`
}

type apiDevice struct {
	Hostname         string     `json:"hostname"`
	State            string     `json:"state"`
	Health           string     `json:"health"`
	CurrentJob       *int64     `json:"current_job"`
	LastHealthReport *time.Time `json:"last_health_report"`
}

type logRecord struct {
	Index int64           `json:"index"`
	DT    time.Time       `json:"dt"`
	Level string          `json:"lvl"`
	Msg   json.RawMessage `json:"msg"`
}

// Text is the record's message: the string, or the JSON of a structured one.
func (r logRecord) Text() string {
	var s string
	if json.Unmarshal(r.Msg, &s) == nil {
		return s
	}
	return string(r.Msg)
}

type testCase struct {
	Suite       string   `json:"suite"`
	Name        string   `json:"name"`
	Result      string   `json:"result"`
	Measurement *float64 `json:"measurement"`
	Units       string   `json:"units"`
}

// call does an API request with the admin token and decodes a 2xx answer
// into out; it fails the test on any other status.
func (l *lab) call(method, path string, body, out any) {
	l.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		must(l.t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, l.url+path, rd)
	must(l.t, err)
	req.Header.Set("Authorization", "Token "+l.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := l.httpClient.Do(req)
	if err != nil {
		l.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	must(l.t, err)
	if resp.StatusCode/100 != 2 {
		l.t.Fatalf("%s %s: %s\n%s", method, path, resp.Status, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			l.t.Fatalf("%s %s: decoding %s: %v", method, path, raw, err)
		}
	}
}

// submit posts a job definition (POST /api/v1/jobs) and returns its id.
func (l *lab) submit(def string) int64 {
	l.t.Helper()
	var r struct {
		ID int64 `json:"id"`
	}
	l.call("POST", "/api/v1/jobs", map[string]string{"definition": def}, &r)
	if r.ID == 0 {
		l.t.Fatalf("POST /api/v1/jobs gave no id")
	}
	return r.ID
}

func (l *lab) getJob(id int64) apiJob {
	l.t.Helper()
	var j apiJob
	l.call("GET", fmt.Sprintf("/api/v1/jobs/%d", id), nil, &j)
	return j
}

func (l *lab) device(name string) apiDevice {
	l.t.Helper()
	var d apiDevice
	l.call("GET", "/api/v1/devices/"+name, nil, &d)
	return d
}

// logs returns a job's whole log so far (GET /api/v1/jobs/{id}/logs, paged).
func (l *lab) logs(id int64) []logRecord {
	l.t.Helper()
	var all []logRecord
	start := int64(0)
	for {
		var page struct {
			Next    int64       `json:"next"`
			Total   int64       `json:"total"`
			Records []logRecord `json:"records"`
		}
		l.call("GET", fmt.Sprintf("/api/v1/jobs/%d/logs?start=%d&limit=10000", id, start), nil, &page)
		all = append(all, page.Records...)
		if len(page.Records) == 0 || page.Next >= page.Total {
			return all
		}
		start = page.Next
	}
}

// results returns a job's test cases (GET /api/v1/jobs/{id}/results).
func (l *lab) results(id int64) []testCase {
	l.t.Helper()
	var r struct {
		Cases []testCase `json:"cases"`
	}
	l.call("GET", fmt.Sprintf("/api/v1/jobs/%d/results?limit=1000", id), nil, &r)
	return r.Cases
}

// waitJob waits until the job satisfies ok (polling the API).
func (l *lab) waitJob(id int64, what string, ok func(apiJob) bool) apiJob {
	l.t.Helper()
	deadline := time.Now().Add(waitJobMax)
	for {
		j := l.getJob(id)
		if ok(j) {
			return j
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("job %d (%s) not %s after %v: state %s health %s", id, j.Description, what, waitJobMax, j.State, j.Health)
		}
		time.Sleep(150 * time.Millisecond)
	}
}

// waitFinished waits until the job is Finished.
func (l *lab) waitFinished(id int64) apiJob {
	l.t.Helper()
	return l.waitJob(id, "Finished", func(j apiJob) bool { return j.State == "Finished" })
}

// waitLog waits until a record of the job's log matches re.
func (l *lab) waitLog(id int64, re *regexp.Regexp) {
	l.t.Helper()
	deadline := time.Now().Add(waitJobMax)
	for {
		for _, r := range l.logs(id) {
			if re.MatchString(r.Text()) {
				return
			}
		}
		if j := l.getJob(id); j.State == "Finished" {
			l.t.Fatalf("job %d finished (%s) before its log matched %q", id, j.Health, re)
		}
		if time.Now().After(deadline) {
			l.t.Fatalf("job %d: no log record matched %q after %v", id, re, waitJobMax)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ---- checks ----

// logText joins a job's log messages, one per line (without the console's
// carriage returns and trailing blanks).
func logText(recs []logRecord) string {
	var b strings.Builder
	for _, r := range recs {
		b.WriteString(strings.TrimRight(r.Text(), "\r\n\t "))
		b.WriteByte('\n')
	}
	return b.String()
}

// wantLog fails unless every pattern matches some record of the log.
func wantLog(t testing.TB, id int64, recs []logRecord, patterns ...string) {
	t.Helper()
	text := logText(recs)
	for _, p := range patterns {
		if !regexp.MustCompile(p).MatchString(text) {
			t.Errorf("job %d: log has no match for %q (log tail:\n%s)", id, p, tail(text, 30))
		}
	}
}

// wantCases fails unless the results hold every suite/name with its result.
func wantCases(t testing.TB, id int64, cases []testCase, want map[string]string) {
	t.Helper()
	got := map[string]string{}
	for _, c := range cases {
		got[c.Suite+"/"+c.Name] = c.Result
	}
	for k, res := range want {
		if got[k] != res {
			t.Errorf("job %d: test case %s: result %q, want %q (all: %v)", id, k, got[k], res, got)
		}
	}
}

// boardOn reports whether a QEMU process with the board's console port
// runs (a zombie counts as gone).
func boardOn(port int) bool {
	entries, _ := os.ReadDir("/proc")
	needle := fmt.Sprintf("port=%d,", port)
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		cl, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cl, []byte("qemu-system-aarch64")) || !bytes.Contains(cl, []byte(needle)) {
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

func (l *lab) boardByName(name string) board {
	for _, b := range l.boards {
		if b.name == name {
			return b
		}
	}
	l.t.Fatalf("no board %q", name)
	return board{}
}

// wantBoardOff fails unless the board's QEMU is gone.
func (l *lab) wantBoardOff(name string) {
	l.t.Helper()
	if boardOn(l.boardByName(name).port) {
		l.t.Errorf("board %s is still powered on (its QEMU runs)", name)
	}
}

// ---- helpers ----

// with returns the lab seen from another test (a subtest): its checks
// fail that test.
func (l *lab) with(t testing.TB) *lab {
	c := *l
	c.t = t
	return &c
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return tail(string(b), n)
}
