// Command workerproto measures the worker protocol: submit-to-start latency
// (a job submitted through the REST API until the worker's runner starts
// it, with an idle worker and device), over -jobs jobs, one at a time.
// Server (REST API, scheduler, worker protocol) and worker run in this
// process and talk HTTP over loopback; the store is SQLite in a temp dir,
// or PostgreSQL with -db postgres://....
//
//	go run ./bench/workerproto -jobs 1000
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/lavalab/lavalab/core/api"
	"github.com/lavalab/lavalab/core/auth"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/sched"
	"github.com/lavalab/lavalab/core/storeopen"
	"github.com/lavalab/lavalab/core/worker"
	"github.com/lavalab/lavalab/core/workerproto"
	"github.com/lavalab/lavalab/core/workerserver"
)

const def = `job_name: bench
device_type: local
visibility: public
timeouts:
  job:
    minutes: 5
actions:
- boot:
    method: minimal
`

// runner reports when each job starts and ends it at once.
type runner struct{ started chan time.Time }

func (r *runner) Run(ctx context.Context, _ workerproto.StartJob, sink worker.Sink) worker.Outcome {
	r.started <- time.Now()
	sink.Record(model.LogRecord{Level: model.LevelInfo, Message: "started"})
	return worker.Outcome{Health: model.JobComplete}
}

func main() {
	jobs := flag.Int("jobs", 1000, "jobs to submit, one at a time")
	db := flag.String("db", "", "store: empty for SQLite in a temp dir, or postgres://...")
	flag.Parse()
	if err := run(*jobs, *db); err != nil {
		fmt.Fprintln(os.Stderr, "workerproto bench:", err)
		os.Exit(1)
	}
}

func run(n int, db string) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "bench-workerproto-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	st, err := storeopen.Open(ctx, dir, db)
	if err != nil {
		return err
	}
	defer st.Close()
	quiet := slog.New(slog.DiscardHandler)
	wsecret, whash := auth.NewWorkerToken()
	usecret, uhash := auth.NewToken()
	if err := st.CreateDeviceType(ctx, model.DeviceType{Name: "local"}); err != nil {
		return err
	}
	if err := st.CreateWorker(ctx, model.Worker{Hostname: "w1", State: model.WorkerOffline, Health: model.WorkerActive, TokenHash: whash}); err != nil {
		return err
	}
	if err := st.CreateDevice(ctx, model.Device{Hostname: "d1", DeviceType: "local", Worker: "w1", Health: model.DeviceGood}); err != nil {
		return err
	}
	if _, err := st.CreateUser(ctx, model.User{Username: "u", IsAdmin: true}); err != nil {
		return err
	}
	if _, err := st.CreateToken(ctx, "u", "bench", uhash); err != nil {
		return err
	}
	root := chi.NewRouter()
	api.NewAPI(api.Options{Store: st, Logger: quiet}).Mount(root)
	wp, err := workerserver.NewServer(workerserver.ServerOptions{Store: st, Logger: quiet, Version: "bench"})
	if err != nil {
		return err
	}
	wp.Mount(root)
	hs := httptest.NewServer(root)
	defer func() { cancel(); hs.CloseClientConnections(); hs.Close() }()
	go wp.Run(ctx)
	go sched.New(st, quiet, sched.Options{}).Run(ctx)
	r := &runner{started: make(chan time.Time, 1)}
	w, err := worker.NewWorker(worker.WorkerOptions{Runner: r, WorkDir: dir + "/worker", Logger: quiet,
		Client: &worker.Client{URL: hs.URL, Token: wsecret, Version: "bench"}, LogInterval: time.Millisecond})
	if err != nil {
		return err
	}
	go w.Run(ctx)
	lat := make([]time.Duration, 0, n)
	for i := 0; i < n; i++ {
		// Wait until the device is free again (the previous job ended).
		for {
			d, err := st.Device(ctx, "d1")
			if err != nil {
				return err
			}
			if d.State == model.DeviceIdle && d.Health == model.DeviceGood {
				break
			}
			time.Sleep(time.Millisecond)
		}
		req, _ := http.NewRequest("POST", hs.URL+"/api/v1/jobs", bytes.NewReader([]byte(def)))
		req.Header.Set("Authorization", "Token "+usecret)
		req.Header.Set("Content-Type", "application/yaml")
		t0 := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("submit: %d %s", resp.StatusCode, b)
		}
		select {
		case t1 := <-r.started:
			lat = append(lat, t1.Sub(t0))
		case <-time.After(30 * time.Second):
			return fmt.Errorf("job %d did not start within 30 s", i)
		}
	}
	slices.Sort(lat)
	q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	fmt.Printf("backend %s: submit-to-start over %d jobs: p50 %s  p90 %s  p99 %s  max %s\n",
		st.Backend(), n, q(0.50).Round(10*time.Microsecond), q(0.90).Round(10*time.Microsecond), q(0.99).Round(10*time.Microsecond), lat[len(lat)-1].Round(10*time.Microsecond))
	return nil
}
