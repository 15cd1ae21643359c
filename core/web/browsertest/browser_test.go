package browsertest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/core/testlab"
)

// ticks is how long (seconds) the job's inline test prints a line a second.
const ticks = 10

// brokenJob has an invalid priority on line 3.
const brokenJob = `job_name: broken
device_type: local
priority: urgent
visibility: public
timeouts:
  job:
    minutes: 5
actions:
- boot:
    method: minimal
    prompts: ['lava-local\$ ']
`

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func browser(t *testing.T, exe string) (context.Context, func()) {
	// Chromium sometimes crashes while it starts on a loaded machine (a
	// CI run: "chrome failed to start", crashpad's "no stack mapping"),
	// before any page of ours: it is started once more, said in the log.
	// A second crash fails the test.
	for attempt := 1; ; attempt++ {
		ctx, done := startBrowser(t, exe)
		err := chromedp.Do(ctx) // starts the browser
		if err == nil {
			return ctx, done
		}
		done()
		if attempt == 2 || !strings.Contains(err.Error(), "chrome failed to start") {
			t.Fatalf("starting Chromium (attempt %d): %v", attempt, err)
		}
		first, _, _ := strings.Cut(err.Error(), "\n")
		t.Logf("Chromium crashed while starting (%s); starting it once more", first)
	}
}

// startBrowser makes a context for a headless Chromium, started by its
// first action.
func startBrowser(t *testing.T, exe string) (context.Context, func()) {
	// The flags /work/.library/env/machines/go.md lists as known to work
	// headless in a container, as root.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("headless", true), chromedp.Flag("disable-quic", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1366, 900))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	// Only a bound for a broken lab: the machine may be loaded.
	ctx, cancelT := context.WithTimeout(ctx, 4*time.Minute)
	return ctx, func() { cancelT(); cancelC(); cancelA() }
}

// shots is where screenshots go: LAVA_SCREENSHOT_DIR (to refresh the
// README's) or the test's output folder.
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

// waitJS polls a JavaScript condition in the page until it is true (the
// browser context's timeout bounds it).
func waitJS(t *testing.T, ctx context.Context, what, expr string) {
	t.Helper()
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// observe records, in sessionStorage (it survives the page's reload at
// the job's end), when each live log line was added to the page.
const observe = `(function () {
  window.__noReload = "same page";
  var log = document.getElementById("log");
  var seen = JSON.parse(sessionStorage.getItem("seen") || "{}");
  new MutationObserver(function (muts) {
    var now = Date.now();
    muts.forEach(function (m) {
      m.addedNodes.forEach(function (n) {
        if (n.nodeType !== 1) { return; }
        var ls = n.classList.contains("l") ? [n] : Array.from(n.querySelectorAll(".l"));
        ls.forEach(function (l) {
          var a = l.querySelector("a.n");
          if (a) { seen[a.textContent] = now; }
        });
      });
    });
    sessionStorage.setItem("seen", JSON.stringify(seen));
  }).observe(log, {childList: true, subtree: true});
  return true;
})()`

func TestBrowser(t *testing.T) {
	exe := testenv.NeedTool(t, "chromium")
	if testing.Short() {
		t.Skip("browser test against real lava-server and lava-worker processes: not in -short")
	}
	bctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bins, err := testlab.Build(bctx)
	must(t, err)
	t.Cleanup(func() { os.RemoveAll(bins.Dir) })

	var aliceToken string
	l := testlab.Start(t, testlab.Options{Bins: bins, Setup: func(l *testlab.Lab) {
		aliceToken = l.Admin("user", "add", "alice")
		l.Admin("device-type", "add", "bbb", "--description", "BeagleBone Black")
		l.Admin("worker", "add", "lab-host-2")
		l.Admin("device", "add", "bbb-01", "--type", "bbb", "--worker", "lab-host-2", "--health", "maintenance")
	}})
	// A first job runs to its end (history for the lists), then the one
	// the browser follows.
	first := l.Submit(testlab.LocalJob("warm-up run", 1))
	if j := l.WaitJob(first, "Finished", 3*time.Minute); j.Health != "Incomplete" && j.Health != "Complete" {
		t.Fatalf("first job ended %+v", j)
	}
	id := l.Submit(liveResultsJob("browser live log"))
	jobURL := fmt.Sprintf("%s/jobs/%d", l.URL, id)

	ctx, done := browser(t, exe)
	defer done()
	dir := shots(t)

	// Log in with alice's API token; the login lands on the jobs list.
	must(t, chromedp.Do(ctx,
		chromedp.Navigate(l.URL+"/login?next=/jobs"),
		chromedp.SendKeys(chromedp.ID("token"), aliceToken),
		chromedp.Submit(chromedp.ID("token")),
		chromedp.WaitVisible(chromedp.CSS("form.filters"))))
	if loc := get(t, ctx, chromedp.Location()); !strings.HasSuffix(loc, "/jobs") {
		t.Fatalf("after login at %s, want /jobs", loc)
	}
	if who := get(t, ctx, chromedp.Text(chromedp.CSS("header .who span"))); who != "alice" {
		t.Errorf("header names %q, want alice", who)
	}

	// Open the job from the list once the worker runs it.
	l.WaitJob(id, "Running", 2*time.Minute)
	must(t, chromedp.Do(ctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("form.filters"))))
	list := get(t, ctx, chromedp.Text(chromedp.CSS("main")))
	if !strings.Contains(list, "browser live log") || !strings.Contains(list, "warm-up run") {
		t.Errorf("the jobs list lacks the lab's jobs:\n%s", list)
	}
	shot(t, ctx, dir, "jobs", 1366, 900, false)
	must(t, chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href="/jobs/%d"]`, id))),
		chromedp.WaitVisible(chromedp.CSS("#log-status.live"))))
	get(t, ctx, chromedp.Evaluate[bool](observe))
	sizeAtOpen := get(t, ctx, chromedp.Evaluate[bool](`(function () {
	  var t = document.getElementById("results");
	  return !!t && /size/.test(t.textContent);
	})()`))
	rendered := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#log .l").length`))

	// New lines appear without a reload, while the job's test prints them.
	waitJS(t, ctx, "a live tick line", fmt.Sprintf(`(function () {
	  var seen = JSON.parse(sessionStorage.getItem("seen") || "{}");
	  return Array.from(document.querySelectorAll("#log .l")).some(function (l) {
	    var a = l.querySelector("a.n");
	    return a && seen[a.textContent] && /tick [0-9]+ of %d/.test(l.textContent);
	  });
	})()`, ticks))
	if m := get(t, ctx, chromedp.Evaluate[string](`window.__noReload`)); m != "same page" {
		t.Fatalf("the page reloaded (marker %q) before the job ended", m)
	}
	if n := get(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("#log .l").length`)); n <= rendered {
		t.Errorf("the log has %d lines, %d when opened: no new line", n, rendered)
	}
	// The result reported before the ticks is in the table while the job
	// runs, its measurement in full, and "No results yet." is gone.
	waitJS(t, ctx, "the live result row", `(function () {
	  var t = document.getElementById("results");
	  return !!t && /size/.test(t.textContent) && !document.getElementById("results-wrap").hidden;
	})()`)
	if m := get(t, ctx, chromedp.Evaluate[string](`window.__noReload`)); m != "same page" {
		t.Fatalf("the page reloaded (marker %q) before the job ended", m)
	}
	t.Logf("the size result was on the page when it opened: %v (false: the script added it from the stream)", sizeAtOpen)
	live := get(t, ctx, chromedp.Text(chromedp.ID("results")))
	if !strings.Contains(live, "81245312") || strings.Contains(live, "e+07") || !strings.Contains(live, "bytes") {
		t.Errorf("live results table: %q", live)
	}
	if shown := get(t, ctx, chromedp.Evaluate[bool](`(function () {
	  var p = document.getElementById("no-results");
	  return !!p && !p.hidden;
	})()`)); shown {
		t.Error(`"No results yet." is shown next to a live result`)
	}
	if st := get(t, ctx, chromedp.Evaluate[string](`document.getElementById("log-status").parentElement.textContent`)); strings.Contains(st, "records ·  ·") || strings.HasSuffix(strings.TrimSpace(st), "·") {
		t.Errorf("record count line %q", st)
	}

	// The live log at its newest line (the script keeps a reader at the
	// bottom there).
	get(t, ctx, chromedp.Evaluate[bool](`window.scrollTo(0, document.body.scrollHeight); true`))
	shot(t, ctx, dir, "job-live", 1366, 900, false)

	// The job ends: the page (reloaded once by the script) shows the
	// results table.
	end := l.WaitJob(id, "Finished", 3*time.Minute)
	waitJS(t, ctx, "the finished job page", `(function () {
	  var b = document.querySelector("h1 + p .badge");
	  return !!b && b.textContent === "Finished" && !!document.getElementById("results");
	})()`)
	cases := get(t, ctx, chromedp.Text(chromedp.ID("results")))
	for _, want := range []string{"size", "81245312", "tick", "uname", "speed", "8.5", "MB/s", "broken", "fail", "pass"} {
		if !strings.Contains(cases, want) {
			t.Errorf("results table lacks %q: %q", want, cases)
		}
	}
	text := get(t, ctx, chromedp.Text(chromedp.ID("log")))
	for i := 1; i <= ticks; i++ {
		if !strings.Contains(text, fmt.Sprintf("tick %d of %d", i, ticks)) {
			t.Errorf("the log lacks tick %d", i)
		}
	}
	t.Logf("job %d ended %s/%s", id, end.State, end.Health)
	shot(t, ctx, dir, "job", 1366, 900, false)
	latency(t, ctx, l, id)
	must(t, chromedp.Do(ctx, chromedp.Navigate(jobURL+"#logh"), chromedp.WaitVisible(chromedp.ID("log"))))
	shot(t, ctx, dir, "job-phone", 390, 844, true)

	// Broken YAML on the submit page: the error is shown at its line.
	must(t, chromedp.Do(ctx,
		chromedp.EmulateViewport(1366, 900),
		chromedp.Navigate(l.URL+"/submit"),
		chromedp.SetValue(chromedp.ID("definition"), brokenJob),
		chromedp.Click(chromedp.CSS(`button[value="validate"]`)),
		chromedp.WaitVisible(chromedp.CSS("#src-3.err")),
		chromedp.ScrollIntoView(chromedp.ID("source"))))
	errLine := get(t, ctx, chromedp.Text(chromedp.ID("src-3")))
	if !strings.Contains(errLine, "priority: urgent") || !strings.Contains(errLine, "column") {
		t.Errorf("line 3 shows %q, want the line and its error", errLine)
	}
	shot(t, ctx, dir, "submit-error", 1366, 900, false)

	for _, p := range []struct{ path, name, want string }{
		{"/", "home", testlab.Worker}, {"/devices", "devices", testlab.Device}, {"/workers", "workers", testlab.Worker}} {
		must(t, chromedp.Do(ctx, chromedp.EmulateViewport(1366, 900), chromedp.Navigate(l.URL+p.path), chromedp.WaitVisible(chromedp.CSS("h1"))))
		if body := get(t, ctx, chromedp.Text(chromedp.CSS("main"))); !strings.Contains(body, p.want) {
			t.Errorf("%s lacks %q", p.path, p.want)
		}
		shot(t, ctx, dir, p.name, 1366, 900, false)
	}
	must(t, chromedp.Do(ctx, chromedp.Navigate(l.URL+"/devices"), chromedp.WaitVisible(chromedp.CSS("h1"))))
	shot(t, ctx, dir, "devices-phone", 390, 844, true)
}

// latency logs how long after its timestamp on the worker (the dispatcher
// stamps a record when it reads the line; the worker sends batches every
// 200 ms) each live record was shown in the browser. A figure, not an
// assertion: the machine may be loaded.
func latency(t *testing.T, ctx context.Context, l *testlab.Lab, id int64) {
	t.Helper()
	raw := get(t, ctx, chromedp.Evaluate[string](`sessionStorage.getItem("seen") || "{}"`))
	var seen map[string]int64
	must(t, json.Unmarshal([]byte(raw), &seen))
	var page struct {
		Records []struct {
			Index int64  `json:"index"`
			Time  string `json:"dt"`
			Msg   any    `json:"msg"`
		} `json:"records"`
	}
	if st := l.API("GET", fmt.Sprintf("/jobs/%d/logs?limit=10000", id), nil, &page); st != http.StatusOK {
		t.Fatalf("job %d logs: HTTP %d", id, st)
	}
	var ds []time.Duration
	for _, r := range page.Records {
		ms, ok := seen[strconv.FormatInt(r.Index, 10)]
		if !ok {
			continue
		}
		at, err := time.Parse(time.RFC3339Nano, r.Time)
		if err != nil {
			t.Fatalf("record %d time %q: %v", r.Index, r.Time, err)
		}
		ds = append(ds, time.UnixMilli(ms).Sub(at))
	}
	if len(ds) == 0 {
		t.Fatal("no live record was seen in the browser")
	}
	slices.Sort(ds)
	t.Logf("live log: %d records shown in the browser after (worker timestamp → on the page): median %v, p90 %v, max %v",
		len(ds), ds[len(ds)/2], ds[len(ds)*9/10], ds[len(ds)-1])
}

// liveResultsJob is testlab.LocalJob with a result reported before the
// ticks, so that the page has a result to show while the job still runs.
func liveResultsJob(name string) string {
	job := testlab.LocalJob(name, ticks)
	const loop = "          - for i in"
	if !strings.Contains(job, loop) {
		panic("testlab.LocalJob changed: no tick loop")
	}
	// Three seconds first: the browser has the page open when the result
	// comes, and the page script adds it from the stream.
	return strings.Replace(job, loop, "          - sleep 3\n          - lava-test-case size --result pass --measurement 81245312 --units bytes\n"+loop, 1)
}
