// Command serverrss measures lava-server's resident memory (VmRSS, and the
// anonymous part RssAnon, from /proc) right after start and idle after a
// burst of API and page reads, on a SQLite store of -jobs finished jobs
// (bench/seed) with the shipped drivers (bin/drivers, `make drivers`) in
// its drivers folder: one cold start (no driver compilation cache) and
// -runs warm starts (the cache from the runs before). A server compiles a
// driver only to describe it once; a warm start must hold no more than a
// cold one.
//
//	go run ./bench/serverrss [-jobs 100000] [-runs 3] [-settle 5s]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lavalab/lavalab/bench/proc"
)

func main() {
	jobs := flag.Int("jobs", 100000, "finished jobs in the store (bench/seed)")
	runs := flag.Int("runs", 3, "warm starts after the cold one")
	settle := flag.Duration("settle", 5*time.Second, "wait after start and after the reads before reading RSS")
	drivers := flag.String("drivers", "bin/drivers", "the shipped drivers (make drivers)")
	flag.Parse()
	if err := run(context.Background(), *jobs, *runs, *settle, *drivers); err != nil {
		fmt.Fprintln(os.Stderr, "serverrss:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, jobs, runs int, settle time.Duration, drivers string) error {
	mods, err := filepath.Glob(filepath.Join(drivers, "*.wasm"))
	if err != nil || len(mods) == 0 {
		return fmt.Errorf("no driver in %s: run `make drivers` first (or give -drivers)", drivers)
	}
	dir, err := os.MkdirTemp("", "serverrss-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "lava-server")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/lava-server").CombinedOutput(); err != nil {
		return fmt.Errorf("building lava-server (run from the repository root): %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(filepath.Join(data, "drivers"), 0o755); err != nil {
		return err
	}
	for _, m := range mods {
		b, err := os.ReadFile(m)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(data, "drivers", filepath.Base(m)), b, 0o644); err != nil {
			return err
		}
	}
	fmt.Printf("seeding %d finished jobs ...\n", jobs)
	start := time.Now()
	seed := exec.CommandContext(ctx, "go", "run", "./bench/seed", "-db", filepath.Join(data, "lava.db"), "-jobs", strconv.Itoa(jobs))
	if out, err := seed.CombinedOutput(); err != nil {
		return fmt.Errorf("seeding: %v\n%s", err, out)
	}
	fmt.Printf("seeded in %.0f s; %d drivers\n\n", time.Since(start).Seconds(), len(mods))
	fmt.Printf("%-8s %14s %14s %14s %14s\n", "start", "RSS start", "anon start", "RSS idle", "anon idle")
	for i := 0; i <= runs; i++ {
		name := "cold"
		if i > 0 {
			name = "warm " + strconv.Itoa(i)
		}
		r, err := measure(data, bin, settle, filepath.Join(dir, fmt.Sprintf("server-%d.log", i)))
		if err != nil {
			return fmt.Errorf("%s start: %w", name, err)
		}
		fmt.Printf("%-8s %11.1f MB %11.1f MB %11.1f MB %11.1f MB\n", name, r[0], r[1], r[2], r[3])
	}
	return nil
}

// measure starts the server, reads its memory after settle, reads the API
// and the job pages, and reads its memory again after settle.
func measure(data, bin string, settle time.Duration, logPath string) ([4]float64, error) {
	var r [4]float64
	addr, err := proc.FreeAddr()
	if err != nil {
		return r, err
	}
	p, err := proc.Start(bin, []string{"serve", "--listen", addr, "--data-dir", data, "--drivers-dir", filepath.Join(data, "drivers")}, nil, logPath)
	if err != nil {
		return r, err
	}
	defer p.Stop(30 * time.Second)
	base := "http://" + addr
	if err := p.WaitHTTP(base+"/healthz", 5*time.Minute); err != nil {
		return r, err
	}
	time.Sleep(settle)
	if r[0], r[1], err = rss(p.Pid()); err != nil {
		return r, err
	}
	for i := 0; i < 200; i++ {
		for _, path := range []string{"/api/v1/jobs?limit=50&offset=" + strconv.Itoa(i*50), "/api/v1/jobs/" + strconv.Itoa(i*400+1),
			"/jobs", "/jobs/" + strconv.Itoa(i*400+1), "/api/v1/devices", "/api/v1/drivers"} {
			if err := get(base + path); err != nil {
				return r, err
			}
		}
	}
	time.Sleep(settle)
	r[2], r[3], err = rss(p.Pid())
	return r, err
}

func get(u string) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode >= 500 {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return nil
}

// rss returns VmRSS and RssAnon of a process in MB.
func rss(pid int) (float64, float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	var all, anon float64 = -1, -1
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		kb, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			all = kb / 1024
		case "RssAnon:":
			anon = kb / 1024
		}
	}
	if all < 0 || anon < 0 {
		return 0, 0, errors.New("no VmRSS or RssAnon in /proc/PID/status")
	}
	return all, anon, nil
}
