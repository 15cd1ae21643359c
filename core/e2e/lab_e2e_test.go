package e2e

import (
	"fmt"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/testenv"
)

// TestLabSQLite runs every scenario of issue 6 point 4 on one lab with the
// SQLite store: (g) health checks on both boards, (a)-(d) and (h) six jobs
// on two boards, (i) and (f) a settings change and a cancel, (e) a boot
// failure. One server and one worker serve all of them. Settings change
// with the lava-server settings command, run beside the running server
// (the admin command opens the SQLite database shared; the server sees
// the change at once).
func TestLabSQLite(t *testing.T) {
	l := newLab(t, labOptions{health: "unknown", healthCheck: true, noWorker: true})
	runScenarios(t, l, true, l.cliSetting)
}

// TestLabPostgres runs a representative subset on a lab with the
// PostgreSQL store (a fresh schema of LAVA_TEST_POSTGRES_DSN): (g), (a)
// and (d) at once, and (i) through the REST API's settings route.
func TestLabPostgres(t *testing.T) {
	need(t)
	dsn := testenv.PostgresDSN(t)
	l := newLab(t, labOptions{postgresDSN: dsn, health: "unknown", healthCheck: true, noWorker: true})
	runScenarios(t, l, false, l.patchSetting)
}

// runScenarios runs the scenarios in phases; full adds (b), (c), (h), (f)
// and (e) to (g), (a), (d) and (i).
func runScenarios(t *testing.T, l *lab, full bool, setSetting func(t *testing.T, key, value string)) {
	if !t.Run("g-health-checks", func(t *testing.T) { healthChecks(t, l.with(t)) }) {
		t.FailNow()
	}
	if !t.Run("jobs", func(t *testing.T) { jobsPhase(t, l.with(t), full) }) {
		t.FailNow()
	}
	t.Run("i-settings-change", func(t *testing.T) { settingsPhase(t, l.with(t), full, setSetting) })
	if full {
		t.Run("e-boot-fails", func(t *testing.T) { bootFails(t, l.with(t), setSetting) })
	}
}

// (g) Both boards start Unknown; with the worker up, the scheduler runs the
// device type's health check on each, at once, and they become Good.
func healthChecks(t *testing.T, l *lab) {
	for _, b := range l.boards {
		if d := l.device(b.name); d.Health != "Unknown" {
			t.Fatalf("device %s starts %s, want Unknown", b.name, d.Health)
		}
	}
	l.startWorker()
	deadline := time.Now().Add(waitJobMax)
	for _, b := range l.boards {
		for {
			d := l.device(b.name)
			if d.Health != "Unknown" {
				if d.Health != "Good" {
					t.Errorf("device %s: health %s after its health check, want Good", b.name, d.Health)
				}
				if d.LastHealthReport == nil {
					t.Errorf("device %s: no last_health_report", b.name)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("device %s still Unknown after %v", b.name, waitJobMax)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	var page struct {
		Results []apiJob `json:"results"`
	}
	l.call("GET", "/api/v1/jobs?health_check=true", nil, &page)
	if len(page.Results) != 2 {
		t.Fatalf("%d health-check jobs, want 2 (one per board): %+v", len(page.Results), page.Results)
	}
	var jobs []apiJob
	devices := map[string]bool{}
	for _, s := range page.Results {
		j := l.waitFinished(s.ID)
		jobs = append(jobs, j)
		devices[j.ActualDevice] = true
		if j.Health != "Complete" || !j.HealthCheck {
			t.Errorf("health check %d: %s (health_check %v), want Complete: %s", j.ID, j.Health, j.HealthCheck, j.FailureComment)
		}
		wantCases(t, j.ID, l.results(j.ID), map[string]string{"0_health/hc-kernel-arm64": "pass", "lava/uboot-action": "pass"})
		wantLog(t, j.ID, l.logs(j.ID), `vlab initramfs ready`, `finalize: power off`)
	}
	if len(devices) != 2 {
		t.Errorf("health checks ran on %v, want both boards", devices)
	}
	if a, b := jobs[0], jobs[1]; !overlap(a, b) {
		t.Errorf("the two health checks did not run at once: %v-%v and %v-%v", a.StartTime, a.EndTime, b.StartTime, b.EndTime)
	}
	for _, b := range l.boards {
		l.wantBoardOff(b.name)
	}
}

// jobsPhase: (a) and (b) take both boards; then (h) four jobs are queued
// with rising priority in submission order: (d) 10, (c) 40, then boot-only
// jobs at 70 and 100. They must start in priority order, two at a time.
// The PostgreSQL subset runs (a) and (d) alone, at once.
func jobsPhase(t *testing.T, l *lab, full bool) {
	a := l.submit(l.job(jobSpec{name: "e2e a: inline smoke", tests: inlineTests("smoke", smokeSteps...)}))
	dSpec := jobSpec{name: "e2e d: failing test", priority: 10, tests: inlineTests("failing",
		`lava-test-case must-pass --shell true`,
		`lava-test-case must-fail --shell false`,
		`lava-test-case after-fail --shell test -d /proc/self`)}
	if !full {
		d := l.submit(l.job(dSpec))
		checkA(t, l, l.waitFinished(a))
		checkD(t, l, l.waitFinished(d))
		return
	}
	b := l.submit(l.job(jobSpec{name: "e2e b: tests from a tar.gz URL", tests: l.tarTests()}))
	for _, id := range []int64{a, b} {
		l.waitJob(id, "Running", func(j apiJob) bool { return j.State == "Running" || j.State == "Finished" })
	}
	// Both boards are busy: the next four queue.
	d := l.submit(l.job(dSpec))
	c := l.submit(l.job(jobSpec{name: "e2e c: LAVA_JOB_ID", priority: 40, tests: inlineTests("jobid",
		`echo "E2E-JOB-ID=$LAVA_JOB_ID"`,
		`lava-test-case job-id-set --shell test -n "$LAVA_JOB_ID"`,
		`lava-test-case job-id-value --result pass --measurement "$LAVA_JOB_ID" --units id`)}))
	p70 := l.submit(l.job(jobSpec{name: "e2e h: priority 70", priority: 70}))
	p100 := l.submit(l.job(jobSpec{name: "e2e h: priority 100", priority: 100}))
	queued := []int64{d, c, p70, p100}
	for _, id := range queued {
		if j := l.getJob(id); j.State == "Running" {
			t.Logf("job %d is Running already: a board freed before the queue was complete", id)
		}
	}
	all := map[int64]apiJob{}
	for _, id := range []int64{a, b, d, c, p70, p100} {
		all[id] = l.waitFinished(id)
	}
	t.Run("a-inline-smoke", func(t *testing.T) { checkA(t, l.with(t), all[a]) })
	t.Run("b-tar-url-tests", func(t *testing.T) {
		j := all[b]
		if j.Health != "Complete" {
			t.Fatalf("job %d: %s, want Complete: %s", b, j.Health, j.FailureComment)
		}
		wantCases(t, b, l.results(b), map[string]string{"0_tar-smoke/tar-kernel-arm64": "pass", "0_tar-smoke/tar-helper": "pass", "lava/0_tar-smoke": "pass"})
		wantLog(t, b, l.logs(b), `vlab-tests\.tar\.gz`, `(?m)^TAR-HELPER-RAN$`)
	})
	t.Run("c-lava-job-id", func(t *testing.T) {
		j := all[c]
		if j.Health != "Complete" {
			t.Fatalf("job %d: %s, want Complete: %s", c, j.Health, j.FailureComment)
		}
		cases := l.results(c)
		wantCases(t, c, cases, map[string]string{"0_jobid/job-id-set": "pass", "0_jobid/job-id-value": "pass"})
		for _, tc := range cases {
			if tc.Name == "job-id-value" && (tc.Measurement == nil || int64(*tc.Measurement) != c) {
				t.Errorf("job %d: LAVA_JOB_ID measured in the test shell is %v, want %d", c, tc.Measurement, c)
			}
		}
		wantLog(t, c, l.logs(c), fmt.Sprintf(`(?m)^E2E-JOB-ID=%d$`, c))
	})
	t.Run("d-failing-test", func(t *testing.T) { checkD(t, l.with(t), all[d]) })
	t.Run("h-priority-order", func(t *testing.T) {
		for _, id := range []int64{p70, p100} {
			if all[id].Health != "Complete" {
				t.Errorf("job %d: %s, want Complete: %s", id, all[id].Health, all[id].FailureComment)
			}
		}
		// Every start takes the highest queued priority, so the start
		// order of the four is 100, 70, 40, 10.
		order := slices.Clone(queued)
		slices.SortFunc(order, func(x, y int64) int { return all[x].StartTime.Compare(*all[y].StartTime) })
		if want := []int64{p100, p70, c, d}; !slices.Equal(order, want) {
			t.Errorf("queued jobs started in the order %v, want %v (priorities 100, 70, 40, 10)", order, want)
		}
		var jobs []apiJob
		for _, j := range all {
			jobs = append(jobs, j)
		}
		if n := maxConcurrent(jobs); n > 2 {
			t.Errorf("%d jobs ran at once on two boards", n)
		}
		for i, x := range jobs {
			for _, y := range jobs[i+1:] {
				if x.ActualDevice == y.ActualDevice && overlap(x, y) {
					t.Errorf("jobs %d and %d overlap on %s", x.ID, y.ID, x.ActualDevice)
				}
			}
		}
		for _, id := range order {
			t.Logf("job %d priority %d on %s: %s → %s", id, all[id].Priority, all[id].ActualDevice,
				all[id].StartTime.Format("15:04:05.000"), all[id].EndTime.Format("15:04:05.000"))
		}
	})
	for _, bd := range l.boards {
		l.wantBoardOff(bd.name)
	}
}

// (a): the ramdisk boot with the inline smoke test.
func checkA(t *testing.T, l *lab, j apiJob) {
	if j.Health != "Complete" {
		t.Fatalf("job %d: %s, want Complete: %s %s", j.ID, j.Health, j.ErrorType, j.FailureComment)
	}
	wantCases(t, j.ID, l.results(j.ID), map[string]string{
		"0_smoke/kernel-arm64": "pass", "0_smoke/cmdline-ramdisk": "pass",
		"lava/tftp-deploy": "pass", "lava/uboot-action": "pass", "lava/0_smoke": "pass", "lava/job": "pass"})
	wantLog(t, j.ID, l.logs(j.ID),
		`downloading kernel: http://\S+/images/arm64/Image`,
		`Hit any key to stop autoboot`,
		fmt.Sprintf(`(?m)^tftp 0x40400000 %d/kernel/Image$`, j.ID),
		`(?m)^booti 0x40400000 0x44000000 \$\{fdt_addr\}`,
		`Linux version 6\.`, `vlab initramfs ready`,
		`finalize: power off`, `board vlab-0[12] off`, fmt.Sprintf(`job %d: Complete`, j.ID))
	if d := l.device(j.ActualDevice); d.Health != "Good" {
		t.Errorf("device %s: %s after job %d, want Good", j.ActualDevice, d.Health, j.ID)
	}
}

// (d): a failing test case: the job is Complete, the case fail.
func checkD(t *testing.T, l *lab, j apiJob) {
	if j.Health != "Complete" {
		t.Fatalf("job %d: %s, want Complete (a failing test case does not fail the job): %s", j.ID, j.Health, j.FailureComment)
	}
	wantCases(t, j.ID, l.results(j.ID), map[string]string{
		"0_failing/must-pass": "pass", "0_failing/must-fail": "fail", "0_failing/after-fail": "pass"})
	wantLog(t, j.ID, l.logs(j.ID), `TEST_CASE_ID=must-fail RESULT=fail`)
}

// (i) The ramdisk address changes while the server runs; the next jobs'
// U-Boot commands use it. (f) One of them is canceled during its boot:
// Canceled, its board off.
func settingsPhase(t *testing.T, l *lab, full bool, setSetting func(t *testing.T, key, value string)) {
	const addr = "0x48000000"
	setSetting(t, "booti_ramdisk_addr", addr)
	t.Cleanup(func() { setSetting(t, "booti_ramdisk_addr", "0x44000000") })
	i := l.submit(l.job(jobSpec{name: "e2e i: new ramdisk address", tests: inlineTests("smoke", smokeSteps...)}))
	var f int64
	if full {
		f = l.submit(l.job(jobSpec{name: "e2e f: canceled during boot", tests: inlineTests("smoke", smokeSteps...)}))
		// During the boot: U-Boot has printed its banner.
		l.waitLog(f, regexp.MustCompile(`^U-Boot 20\d\d`))
		l.call("POST", fmt.Sprintf("/api/v1/jobs/%d/cancel", f), nil, nil)
	}
	ji := l.waitFinished(i)
	if ji.Health != "Complete" {
		t.Errorf("job %d: %s, want Complete: %s", i, ji.Health, ji.FailureComment)
	}
	if got := ji.Settings["booti_ramdisk_addr"]; got != addr {
		t.Errorf("job %d ran with booti_ramdisk_addr %v, want %s", i, got, addr)
	}
	wantLog(t, i, l.logs(i), fmt.Sprintf(`(?m)^tftp %s %d/ramdisk/`, addr, i), fmt.Sprintf(`(?m)^booti 0x40400000 %s `, addr), `vlab initramfs ready`)
	if !l.serverAlive() {
		t.Errorf("lava-server is not the process the lab started")
	}
	if !full {
		return
	}
	t.Run("f-cancel-during-boot", func(t *testing.T) {
		jf := l.waitFinished(f)
		if jf.Health != "Canceled" {
			t.Fatalf("job %d: %s, want Canceled: %s", f, jf.Health, jf.FailureComment)
		}
		recs := l.logs(f)
		wantLog(t, f, recs, `U-Boot 20\d\d`, `board vlab-0[12] off`)
		if regexp.MustCompile(`vlab initramfs ready`).MatchString(logText(recs)) {
			t.Errorf("job %d reached the shell: the cancel came after the boot", f)
		}
		l.with(t).wantBoardOff(jf.ActualDevice)
		if d := l.device(jf.ActualDevice); d.State != "Idle" || d.Health != "Good" {
			t.Errorf("device %s after the cancel: %s %s, want Idle Good", jf.ActualDevice, d.State, d.Health)
		}
	})
}

// (e) A wrong kernel address (outside the board's RAM) in the device-type
// settings: U-Boot refuses the TFTP load, the job is Incomplete with the
// error named, the board is powered off. As in LAVA, an infrastructure
// error sends the device to Unknown, which would run the health check with
// the same wrong address; health checks of the type are disabled for this
// scenario, so the scheduler takes the device from Unknown back to Good.
func bootFails(t *testing.T, l *lab, setSetting func(t *testing.T, key, value string)) {
	l.call("PATCH", "/api/v1/device-types/"+deviceType, map[string]bool{"health_disabled": true}, nil)
	t.Cleanup(func() {
		l.call("PATCH", "/api/v1/device-types/"+deviceType, map[string]bool{"health_disabled": false}, nil)
	})
	setSetting(t, "booti_kernel_addr", "0x30000000")
	t.Cleanup(func() { setSetting(t, "booti_kernel_addr", "0x40400000") })
	e := l.submit(l.job(jobSpec{name: "e2e e: wrong kernel address", tests: inlineTests("smoke", smokeSteps...)}))
	j := l.waitFinished(e)
	if j.Health != "Incomplete" {
		t.Fatalf("job %d: %s, want Incomplete", e, j.Health)
	}
	// The error names the U-Boot command and what U-Boot said.
	if j.ErrorType != "Infrastructure" || !regexp.MustCompile(`tftp 0x30000000 .*overwrite reserved memory`).MatchString(j.FailureComment) {
		t.Errorf("job %d: error type %q, failure comment %q: want Infrastructure, naming the tftp command and U-Boot's error", e, j.ErrorType, j.FailureComment)
	}
	t.Logf("job %d: %s: %s", e, j.ErrorType, j.FailureComment)
	wantLog(t, e, l.logs(e), `(?m)^tftp 0x30000000 `, `TFTP error: trying to overwrite reserved memory`, `finalize: power off`, `board vlab-0[12] off`)
	l.wantBoardOff(j.ActualDevice)
	deadline := time.Now().Add(waitJobMax)
	for {
		d := l.device(j.ActualDevice)
		if d.State == "Idle" && d.Health == "Good" {
			break
		}
		if d.Health == "Bad" || time.Now().After(deadline) {
			t.Fatalf("device %s after the failed boot: %s %s, want Idle Good", j.ActualDevice, d.State, d.Health)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// patchSetting changes a device-type setting through the REST API
// (PATCH /api/v1/device-types/{name}/settings).
func (l *lab) patchSetting(t *testing.T, key, value string) {
	l.with(t).call("PATCH", "/api/v1/device-types/"+deviceType+"/settings", map[string]string{key: value}, nil)
}

// cliSetting changes a device-type setting with `lava-server device-type
// settings NAME --set KEY=VALUE` beside the running server.
func (l *lab) cliSetting(t *testing.T, key, value string) {
	out := l.with(t).admin("device-type", "settings", deviceType, "--set", key+"="+value, "--driver-cache", l.cache)
	if !regexp.MustCompile(key + `\W+` + regexp.QuoteMeta(value)).MatchString(out) {
		t.Errorf("lava-server device-type settings printed no %s %s:\n%s", key, value, out)
	}
}

// overlap reports whether two finished jobs ran at the same time.
func overlap(a, b apiJob) bool {
	return a.StartTime.Before(*b.EndTime) && b.StartTime.Before(*a.EndTime)
}

// maxConcurrent is the most jobs running at one instant.
func maxConcurrent(jobs []apiJob) int {
	best := 0
	for _, x := range jobs {
		n := 0
		for _, y := range jobs {
			// y runs at x's start.
			if !y.StartTime.After(*x.StartTime) && y.EndTime.After(*x.StartTime) {
				n++
			}
		}
		best = max(best, n)
	}
	return best
}
