package browsertest

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/go-chi/chi/v5"

	"github.com/lavalab/lavalab/core/api"
	"github.com/lavalab/lavalab/core/auth"
	"github.com/lavalab/lavalab/core/metrics"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/store/sqlite"
	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/core/web"
)

const jobDef = `job_name: boot the virtual board
device_type: vboard
priority: medium
visibility: public
timeouts:
  job:
    minutes: 10
actions:
- deploy:
    to: tftp
    kernel:
      url: http://images.example.invalid/zImage
- boot:
    method: u-boot
    commands: ramdisk
    prompts: ['/ # ']
`

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// lab is a real server (SQLite store, API, pages, metrics) on a loopback
// port, with one running job the test feeds log records to as a worker's
// log ingest would.
type lab struct {
	st    *sqlite.Store
	url   string
	token string
	job   model.Job
}

func newLab(t *testing.T) *lab {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "lava.db"))
	must(t, err)
	t.Cleanup(func() { st.Close() })
	_, err = st.CreateUser(ctx, model.User{Username: "alice"})
	must(t, err)
	secret, hash := auth.NewToken()
	_, err = st.CreateToken(ctx, "alice", "browser", hash)
	must(t, err)
	must(t, st.CreateWorker(ctx, model.Worker{Hostname: "lab-host-1"}))
	_, err = st.UpdateWorker(ctx, "lab-host-1", func(w *model.Worker) error {
		w.State, w.LastPing, w.Version = model.WorkerOnline, time.Now(), "dev"
		return nil
	})
	must(t, err)
	must(t, st.CreateDeviceType(ctx, model.DeviceType{Name: "vboard", Description: "virtual U-Boot board (QEMU)"}))
	must(t, st.CreateDeviceType(ctx, model.DeviceType{Name: "bbb", Description: "BeagleBone Black"}))
	for i, h := range []model.DeviceHealth{model.DeviceGood, model.DeviceGood, model.DeviceMaintenance} {
		must(t, st.CreateDevice(ctx, model.Device{Hostname: fmt.Sprintf("vboard-%02d", i+1), DeviceType: "vboard", Worker: "lab-host-1", Health: h}))
	}
	must(t, st.CreateDevice(ctx, model.Device{Hostname: "bbb-01", DeviceType: "bbb", Worker: "lab-host-1", Health: model.DeviceBad}))
	// Some history for the lists.
	for i := range 6 {
		js, err := st.CreateJobs(ctx, []model.Job{{Description: fmt.Sprintf("nightly smoke %d", i+1), Definition: jobDef,
			RequestedDeviceType: "vboard", Submitter: "alice", Visibility: model.VisibilityPublic, Priority: 50}})
		must(t, err)
		if i < 4 {
			_, err = st.CancelJob(ctx, js[0].ID)
			must(t, err)
		}
	}
	js, err := st.CreateJobs(ctx, []model.Job{{Description: "boot the virtual board", Definition: jobDef,
		RequestedDeviceType: "vboard", Submitter: "alice", Visibility: model.VisibilityPublic, Priority: 50}})
	must(t, err)
	got, err := st.Assign(ctx, []store.Assignment{{Job: js[0], Device: "vboard-01"}})
	must(t, err)
	if len(got) != 1 {
		t.Fatal("vboard-01 not free")
	}
	j, err := st.StartJob(ctx, js[0].ID)
	must(t, err)

	log := slog.New(slog.DiscardHandler)
	a := api.NewAPI(api.Options{Store: st, Logger: log})
	w, err := web.New(web.Options{Store: st, Jobs: a, Key: []byte(strings.Repeat("s", 32)), Logger: log, Heartbeat: time.Second})
	must(t, err)
	r := chi.NewRouter()
	a.Mount(r)
	w.Mount(r)
	r.Handle("/metrics", metrics.New().Handler())
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	l := &lab{st: st, url: srv.URL, token: secret, job: j}
	l.logs(0, "info|start: 1 tftp-deploy (timeout 00:10:00) [common]", "debug|downloading http://images.example.invalid/zImage",
		"info|end: 1 tftp-deploy (duration 00:00:02) [common]", "info|start: 2 uboot-action (timeout 00:05:00) [common]",
		"input|setenv bootargs console=ttyAMA0", "target|U-Boot 2024.01 (Jan 01 2024)", "target|DRAM:  1 GiB")
	return l
}

func (l *lab) logs(first int64, msgs ...string) {
	recs := make([]model.LogRecord, len(msgs))
	for i, m := range msgs {
		lvl, text, _ := strings.Cut(m, "|")
		recs[i] = model.LogRecord{Time: time.Now(), Level: lvl, Message: text}
	}
	if _, err := l.st.AppendLogs(context.Background(), l.job.ID, first, recs); err != nil {
		panic(err)
	}
}

func browser(t *testing.T) (context.Context, func()) {
	exe := testenv.NeedTool(t, "chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("headless", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1366, 900))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 50*time.Second)
	return ctx, func() { cancelT(); cancelC(); cancelA() }
}

// shots is where screenshots go: LAVA_SCREENSHOT_DIR (to refresh the
// README's) or the test's artifact folder.
func shots(t *testing.T) string {
	if d := os.Getenv("LAVA_SCREENSHOT_DIR"); d != "" {
		must(t, os.MkdirAll(d, 0o755))
		return d
	}
	return t.ArtifactDir()
}

func shot(t *testing.T, ctx context.Context, dir, name string, width, height int64, mobile bool) {
	t.Helper()
	emu := chromedp.EmulateViewport(width, height)
	if mobile {
		emu = chromedp.EmulateViewport(width, height, chromedp.EmulateMobile)
	}
	must(t, chromedp.Do(ctx, emu, chromedp.Sleep(150*time.Millisecond)))
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644))
}

// get runs one action that answers a value.
func get[T any](t *testing.T, ctx context.Context, a chromedp.Action[T]) T {
	t.Helper()
	v, err := chromedp.Run(ctx, a)
	must(t, err)
	return v
}

func TestBrowser(t *testing.T) {
	ctx, done := browser(t)
	defer done()
	l := newLab(t)
	dir := shots(t)
	jobURL := fmt.Sprintf("%s/jobs/%d", l.url, l.job.ID)

	// Log in with the API token; the login lands on the jobs list.
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(l.url+"/login?next=/jobs"),
		chromedp.SendKeys(chromedp.ID("token"), l.token),
		chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.CSS("form.filters"))))
	if loc := get(t, ctx, chromedp.Location()); !strings.HasSuffix(loc, "/jobs") {
		t.Fatalf("after login at %s, want /jobs", loc)
	}
	if who := get(t, ctx, chromedp.Text(chromedp.CSS("header .who span"))); who != "alice" {
		t.Errorf("header names %q, want alice", who)
	}
	shot(t, ctx, dir, "jobs", 1366, 900, false)

	// Open the running job from the list; it shows the stored records and
	// follows the new ones without a reload.
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href="/jobs/%d"]`, l.job.ID))),
		chromedp.WaitVisible(chromedp.ID("L6")),
		chromedp.WaitVisible(chromedp.CSS("#log-status.live"))))
	get(t, ctx, chromedp.Evaluate[string](`window.__noReload = "same page"; window.__noReload`))
	start := time.Now()
	l.logs(7, "target|Starting kernel ...", "target|[    0.000000] Booting Linux on physical CPU 0x0")
	must(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("L8"))))
	t.Logf("a record appended to the store shows in the browser after %v", time.Since(start))
	l.logs(9, "error|kernel panic - not syncing: VFS: Unable to mount root fs", "info|end: 2 uboot-action (duration 00:00:09) [common]")
	must(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("first-error"))))
	text := get(t, ctx, chromedp.Text(chromedp.ID("first-error")))
	marker := get(t, ctx, chromedp.Evaluate[string](`window.__noReload`))
	if !strings.Contains(text, "kernel panic") || marker != "same page" {
		t.Errorf("first error %q, page marker %q: want the panic line on the same page", text, marker)
	}
	shot(t, ctx, dir, "job-live", 1366, 900, false)

	// The job ends: the page shows the results table.
	must(t, l.st.AddTestCases(context.Background(), l.job.ID, []model.TestCase{
		{Suite: "lava", Name: "tftp-deploy", Result: model.ResultPass},
		{Suite: "lava", Name: "uboot-action", Result: model.ResultFail},
		{Suite: "0_smoke", Name: "boot-time", Result: model.ResultPass, Measurement: ptr(8.5), Units: "seconds"}}))
	l.logs(11, "results|{\"definition\": \"lava\", \"case\": \"job\", \"result\": \"fail\"}")
	_, err := l.st.FinishJob(context.Background(), l.job.ID, store.JobResult{Health: model.JobIncomplete, ErrorType: "Test", FailureComment: "kernel panic"})
	must(t, err)
	must(t, chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("results"))))
	cases := get(t, ctx, chromedp.Text(chromedp.ID("results")))
	for _, want := range []string{"boot-time", "8.5", "seconds", "uboot-action", "fail"} {
		if !strings.Contains(cases, want) {
			t.Errorf("results table lacks %q: %q", want, cases)
		}
	}
	shot(t, ctx, dir, "job", 1366, 900, false)
	must(t, chromedp.Do(ctx, chromedp.Navigate(jobURL+"#logh"), chromedp.WaitVisible(chromedp.ID("L11"))))
	shot(t, ctx, dir, "job-phone", 390, 844, true)

	// Broken YAML on the submit page: the error is shown at its line.
	broken := strings.Replace(jobDef, "priority: medium", "priority: urgent", 1)
	must(t, chromedp.Do(ctx,
		chromedp.EmulateViewport(1366, 900),
		chromedp.Navigate(l.url+"/submit"),
		chromedp.SetValue(chromedp.ID("definition"), broken),
		chromedp.Click(chromedp.CSS(`button[value="validate"]`)),
		chromedp.WaitVisible(chromedp.CSS("#src-3.err")),
		chromedp.ScrollIntoView(chromedp.ID("source"))))
	errLine := get(t, ctx, chromedp.Text(chromedp.ID("src-3")))
	if !strings.Contains(errLine, "priority: urgent") || !strings.Contains(errLine, "column") {
		t.Errorf("line 3 shows %q, want the line and its error", errLine)
	}
	shot(t, ctx, dir, "submit-error", 1366, 900, false)

	for _, p := range []struct{ path, name string }{{"/", "home"}, {"/devices", "devices"}, {"/workers", "workers"}} {
		must(t, chromedp.Do(ctx, chromedp.EmulateViewport(1366, 900), chromedp.Navigate(l.url+p.path), chromedp.WaitVisible(chromedp.CSS("h1"))))
		shot(t, ctx, dir, p.name, 1366, 900, false)
	}
	must(t, chromedp.Do(ctx, chromedp.Navigate(l.url+"/devices"), chromedp.WaitVisible(chromedp.CSS("h1"))))
	shot(t, ctx, dir, "devices-phone", 390, 844, true)
}

func ptr(f float64) *float64 { return &f }
