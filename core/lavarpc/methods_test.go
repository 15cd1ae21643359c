package lavarpc

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/lavalab/lavalab/core/api"
	"github.com/lavalab/lavalab/core/api/apitest"
	"github.com/lavalab/lavalab/core/store"
)

// TestSubmitUnsupportedMethod: scheduler.jobs.submit refuses a job whose
// deploy and boot methods the device type's driver does not declare, as a
// fault of the job data naming each action's path and line.
func TestSubmitUnsupportedMethod(t *testing.T) {
	e := newEnv(t)
	chk := api.NewAPI(api.Options{Store: e.st, Logger: slog.New(slog.DiscardHandler), Drivers: apitest.QemuDrivers{}})
	r := chi.NewRouter()
	New(Options{Lab: chk.Lab()}).Mount(r)
	hs := httptest.NewServer(r)
	t.Cleanup(hs.Close)
	e.url = hs.URL + "/RPC2"
	count := func() int {
		_, n, err := e.st.ListJobs(context.Background(), store.System(), store.JobFilter{})
		must(t, err)
		return n
	}
	before := count()

	bad := strings.Replace(strings.Replace(qemuJob, "to: tmpfs", "to: tftp\n    kernel: {url: 'http://x.invalid/k'}", 1), "method: qemu", "method: grub", 1)
	_, f, _ := e.call(t, "bob", "scheduler.jobs.submit", bad)
	want := `Problem with submitted job data: ` +
		`actions[0].deploy.to (line 10, column 9): device type qemu (driver qemu 0.3.0) has no deploy method "tftp"; it has: tmpfs, nfs; ` +
		`actions[1].boot.method (line 17, column 13): device type qemu (driver qemu 0.3.0) has no boot method "grub"; it has: qemu, qemu-nfs`
	if f == nil || f.Code != 400 || f.Msg != want {
		t.Fatalf("fault %+v, want 400 %q", f, want)
	}
	if n := count(); n != before {
		t.Errorf("%d jobs stored", n-before)
	}
	// The declared methods pass.
	if v, f, _ := e.call(t, "bob", "scheduler.jobs.submit", qemuJob); f != nil {
		t.Fatalf("a job with the declared methods: fault %+v", f)
	} else if _, ok := v.(int64); !ok {
		t.Fatalf("a job with the declared methods: %#v", v)
	}
}
