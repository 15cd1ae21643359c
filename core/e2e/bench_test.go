package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/vlab"
)

// BenchmarkRamdiskJob measures job (a) through the whole lab against the
// board's own boot: the same images booted with the same U-Boot commands
// by a bare console script (board.sh and a TCP socket, none of our
// server, worker, dispatcher or driver). Each iteration boots the bare
// board, then runs the job; the figures are means:
//
//	bare-s       board.sh on → initramfs shell prompt, bare
//	job-s        job submit_time → end_time (server timestamps)
//	overhead-s   job-s − bare-s (target ≤ 1.5 s)
//	ovh-notest-s overhead without the test action (the tests run on the board)
//	stack-s      sched + worker + deploy + power + end: the lab's own time,
//	             a figure that the boot's noise on a loaded machine does not hide
//
// and the job's breakdown from its log timestamps (sched, worker, deploy,
// power, uboot, cmds, kernel, test, end; seconds). The "two-boards"
// sub-benchmark runs two jobs on the two boards at once.
//
//	LAVALAB_E2E=1 go test -run '^$' -bench RamdiskJob -benchtime 3x ./core/e2e
func BenchmarkRamdiskJob(b *testing.B) {
	l := newLab(b, labOptions{})
	job := l.job(jobSpec{name: "bench a: inline smoke", tests: inlineTests("smoke", smokeSteps...)})
	// One job first: the worker's driver instance and caches warm up.
	if j := l.waitFinished(l.submit(job)); j.Health != "Complete" {
		b.Fatalf("warm-up job %d: %s: %s", j.ID, j.Health, j.FailureComment)
	}

	b.Run("one-board", func(b *testing.B) {
		l := l.with(b)
		var sum breakdown
		for i := 0; i < b.N; i++ {
			bare, err := bareBoot(b, l, "bench-bare")
			if err != nil {
				b.Fatal(err)
			}
			j := l.waitFinished(l.submit(job))
			if j.Health != "Complete" {
				b.Fatalf("job %d: %s: %s", j.ID, j.Health, j.FailureComment)
			}
			bd := jobBreakdown(l, j)
			bd.bare, bd.bareBoot = bare.total.Seconds(), bare
			b.Logf("iteration %d: %s", i, bd)
			sum.add(bd)
		}
		sum.report(b, b.N)
	})

	b.Run("two-boards", func(b *testing.B) {
		l := l.with(b)
		var sum breakdown
		n := 0
		for i := 0; i < b.N; i++ {
			var bare [2]bareTimes
			var errs [2]error
			var wg sync.WaitGroup
			for k := range 2 {
				wg.Go(func() { bare[k], errs[k] = bareBoot(b, l, fmt.Sprintf("bench-bare-%d", k)) })
			}
			wg.Wait()
			if err := errors.Join(errs[:]...); err != nil {
				b.Fatal(err)
			}
			ids := []int64{l.submit(job), l.submit(job)}
			for k, id := range ids {
				j := l.waitFinished(id)
				if j.Health != "Complete" {
					b.Fatalf("job %d (two boards at once): %s: %s", id, j.Health, j.FailureComment)
				}
				bd := jobBreakdown(l, j)
				bd.bare, bd.bareBoot = bare[k].total.Seconds(), bare[k]
				b.Logf("iteration %d, job %d on %s: %s", i, id, j.ActualDevice, bd)
				sum.add(bd)
				n++
			}
		}
		sum.report(b, n)
	})
}

// breakdown is where a job's time goes, in seconds.
type breakdown struct {
	bare, job                                                    float64
	sched, worker, deploy, power, uboot, cmds, kernel, test, end float64
	bareBoot                                                     bareTimes
}

// bareTimes are the phases of a bare boot: power on to U-Boot's prompt,
// the U-Boot commands (TFTP included) up to booti, booti to the shell.
type bareTimes struct {
	total, uboot, cmds, kernel time.Duration
}

func (d *breakdown) add(x breakdown) {
	d.bare += x.bare
	d.job += x.job
	d.sched += x.sched
	d.worker += x.worker
	d.deploy += x.deploy
	d.power += x.power
	d.uboot += x.uboot
	d.cmds += x.cmds
	d.kernel += x.kernel
	d.test += x.test
	d.end += x.end
	d.bareBoot.total += x.bareBoot.total
	d.bareBoot.uboot += x.bareBoot.uboot
	d.bareBoot.cmds += x.bareBoot.cmds
	d.bareBoot.kernel += x.bareBoot.kernel
}

// stack is the time the lab's software spends by itself, out of the
// board's boot and tests: scheduling, worker start, deploy, power commands,
// and the end (power off, last logs, end report).
func (d breakdown) stack() float64 { return d.sched + d.worker + d.deploy + d.power + d.end }

func (d breakdown) String() string {
	return fmt.Sprintf("bare %.2f s, job %.2f s (overhead %.2f s, %.2f s without the test action; stack alone %.2f s): sched %.3f worker %.3f deploy %.3f power %.3f uboot %.2f cmds %.2f kernel %.2f test %.2f end %.3f; bare: uboot %.2f cmds %.2f kernel %.2f",
		d.bare, d.job, d.job-d.bare, d.job-d.test-d.bare, d.stack(), d.sched, d.worker, d.deploy, d.power, d.uboot, d.cmds, d.kernel, d.test, d.end,
		d.bareBoot.uboot.Seconds(), d.bareBoot.cmds.Seconds(), d.bareBoot.kernel.Seconds())
}

func (d breakdown) report(b *testing.B, n int) {
	if n == 0 {
		return
	}
	f := 1 / float64(n)
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(d.bare*f, "bare-s")
	b.ReportMetric(d.job*f, "job-s")
	b.ReportMetric((d.job-d.bare)*f, "overhead-s")
	b.ReportMetric((d.job-d.test-d.bare)*f, "ovh-notest-s")
	b.ReportMetric(d.stack()*f, "stack-s")
	for _, m := range []struct {
		v    float64
		unit string
	}{{d.sched, "sched-s"}, {d.worker, "worker-s"}, {d.deploy, "deploy-s"}, {d.power, "power-s"}, {d.uboot, "uboot-s"},
		{d.cmds, "cmds-s"}, {d.kernel, "kernel-s"}, {d.test, "test-s"}, {d.end, "end-s"},
		{d.bareBoot.uboot.Seconds(), "bare-uboot-s"}, {d.bareBoot.cmds.Seconds(), "bare-cmds-s"}, {d.bareBoot.kernel.Seconds(), "bare-kernel-s"}} {
		b.ReportMetric(m.v*f, m.unit)
	}
}

// jobBreakdown splits a finished job's time at its log's markers.
func jobBreakdown(l *lab, j apiJob) breakdown {
	recs := l.logs(j.ID)
	at := func(pattern string) time.Time {
		re := regexp.MustCompile(pattern)
		for _, r := range recs {
			if re.MatchString(r.Text()) {
				return r.DT
			}
		}
		l.t.Fatalf("job %d: no log record matches %q", j.ID, pattern)
		return time.Time{}
	}
	s := func(from, to time.Time) float64 { return to.Sub(from).Seconds() }
	first := recs[0].DT
	deployEnd := at(`^end: 1 tftp-deploy`)
	interrupt := at(`^step bootloader-interrupt`)
	commands, kernel := at(`^step bootloader-commands`), at(`^step kernel-start`)
	shell := at(`^end: 2 uboot-action`)
	testEnd := at(`^end: 3 lava-test`)
	return breakdown{
		job:    s(*j.SubmitTime, *j.EndTime),
		sched:  s(*j.SubmitTime, *j.StartTime),
		worker: s(*j.StartTime, first),
		// Overlay, downloads, ramdisk header: the deploy action.
		deploy: s(first, deployEnd),
		// Console connect, power off, power on (board.sh), up to the
		// interrupt step (QEMU started, waiting for U-Boot).
		power:  s(deployEnd, interrupt),
		uboot:  s(interrupt, commands),
		cmds:   s(commands, kernel),
		kernel: s(kernel, shell),
		test:   s(shell, testEnd),
		end:    s(testEnd, *j.EndTime),
	}
}

// bareBoot boots the board with the same images and U-Boot commands as
// job (a), with board.sh and a plain TCP console: no lab software. It
// returns the time from power on to the initramfs shell prompt, and its
// phases. It reports failures as errors, not through b: the two-boards
// benchmark boots two boards at once from goroutines of its own.
func bareBoot(b *testing.B, l *lab, name string) (bareTimes, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return bareTimes{}, err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	script := filepath.Join(l.root, "scripts", "vlab", "board.sh")
	env := append(os.Environ(), "LAVALAB_VLAB_RUN="+l.runDir, "LAVALAB_VLAB_CACHE="+l.im.Dir)
	sh := func(args ...string) error {
		cmd := exec.Command("sh", append([]string{script}, args...)...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("board.sh %v: %v\n%s", args, err, out)
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitJobMax)
	defer cancel()
	start := time.Now()
	if err := sh("on", "--name", name, "--port", fmt.Sprint(port), "--tftp", l.im.TFTPRoot); err != nil {
		return bareTimes{}, err
	}
	defer func() {
		if err := sh("off", "--name", name); err != nil {
			b.Error(err)
		}
	}()
	var conn net.Conn
	for {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			conn = c
			break
		}
		if ctx.Err() != nil {
			return bareTimes{}, fmt.Errorf("bare board %s: console: %v", name, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(waitJobMax)); err != nil {
		return bareTimes{}, err
	}
	var seen bytes.Buffer
	buf := make([]byte, 4096)
	expect := func(re *regexp.Regexp) error {
		for {
			if loc := re.FindIndex(seen.Bytes()); loc != nil {
				seen.Next(loc[1])
				return nil
			}
			n, err := conn.Read(buf)
			if err != nil {
				return fmt.Errorf("bare board %s: waiting for %q: %v\n%s", name, re, err, tail(seen.String(), 20))
			}
			seen.Write(buf[:n])
		}
	}
	send := func(s string, re *regexp.Regexp) error {
		if _, err := conn.Write([]byte(s + "\n")); err != nil {
			return fmt.Errorf("bare board %s: %v", name, err)
		}
		return expect(re)
	}
	prompt := regexp.MustCompile(`=> `)
	if err := expect(regexp.MustCompile(vlab.InterruptPrompt)); err != nil {
		return bareTimes{}, err
	}
	if err := send("", prompt); err != nil {
		return bareTimes{}, err
	}
	atPrompt := time.Now()
	for _, c := range []string{"setenv autoload no", "dhcp", "setenv serverip " + vlab.HostIP,
		"tftp " + vlab.KernelAddr + " " + vlab.KernelTFTP, "tftp " + vlab.RamdiskAddr + " " + vlab.UInitrdTFTP,
		"setenv bootargs 'console=ttyAMA0,115200n8 root=/dev/ram0 ip=dhcp'"} {
		if err := send(c, prompt); err != nil {
			return bareTimes{}, err
		}
	}
	atBooti := time.Now()
	if err := send("booti "+vlab.KernelAddr+" "+vlab.RamdiskAddr+" ${fdt_addr}", regexp.MustCompile(vlab.ShellPrompt)); err != nil {
		return bareTimes{}, err
	}
	end := time.Now()
	return bareTimes{total: end.Sub(start), uboot: atPrompt.Sub(start), cmds: atBooti.Sub(atPrompt), kernel: end.Sub(atBooti)}, nil
}
