package lavarest

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/lavalab/lavalab/core/api"
	"github.com/lavalab/lavalab/core/api/apitest"
	"github.com/lavalab/lavalab/core/auth"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/store/sqlite"
)

// TestSubmitUnsupportedMethod: POST /api/v0.2/jobs/ refuses a job whose
// boot method the device type's driver does not declare, with the path,
// line and what the driver has, and stores nothing.
func TestSubmitUnsupportedMethod(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "lava.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.CreateUser(ctx, model.User{Username: "bob"}); err != nil {
		t.Fatal(err)
	}
	secret, hash := auth.NewToken()
	if _, err := st.CreateToken(ctx, "bob", "t", hash); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		st.CreateWorker(ctx, model.Worker{Hostname: "w1"}),
		st.CreateDeviceType(ctx, model.DeviceType{Name: "qemu"}),
		st.CreateDevice(ctx, model.Device{Hostname: "qemu-01", DeviceType: "qemu", Worker: "w1", Health: model.DeviceGood}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	chk := api.NewAPI(api.Options{Store: st, Logger: slog.New(slog.DiscardHandler), Drivers: apitest.QemuDrivers{}})
	r := chi.NewRouter()
	New(Options{Lab: chk.Lab()}).Mount(r)
	hs := httptest.NewServer(r)
	defer hs.Close()

	post := func(def string) (int, string) {
		req, err := http.NewRequest("POST", hs.URL+"/api/v0.2/jobs/", strings.NewReader(mustJSON(map[string]string{"definition": def})))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Token "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b struct{ Message string }
		if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, b.Message
	}
	code, msg := post(strings.Replace(qemuJob, "method: qemu", "method: grub", 1))
	want := `Problem with submitted job data: actions[0].boot.method (line 10, column 13): device type qemu (driver qemu 0.3.0) has no boot method "grub"; it has: qemu, qemu-nfs`
	if code != http.StatusBadRequest || msg != want {
		t.Errorf("submit: %d %q, want 400 %q", code, msg, want)
	}
	if _, n, err := st.ListJobs(ctx, store.System(), store.JobFilter{}); err != nil || n != 0 {
		t.Errorf("%d jobs stored (%v)", n, err)
	}
	if code, msg := post(qemuJob); code != http.StatusCreated {
		t.Errorf("a job with the declared methods: %d %q", code, msg)
	}
}
