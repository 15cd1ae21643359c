package api

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/sdk"
)

// qemuDrivers is a registry in memory with one active driver, for qemu, that
// declares its methods as the shipped qemu driver does. Only ForDeviceType
// is implemented: it is all a submission reads (the driver endpoints are
// tested with the real registry in cmd/lava-server).
type qemuDrivers struct{ Drivers }

func (qemuDrivers) ForDeviceType(devType string) (DriverInfo, error) {
	if devType != "qemu" {
		return DriverInfo{}, fmt.Errorf("no active driver serves device type %q: %w", devType, ErrDriverNotFound)
	}
	return DriverInfo{Name: "qemu", Version: "0.3.0", Active: true, DeviceTypes: []string{"qemu"},
		Description: sdk.Description{Name: "qemu", Version: "0.3.0", DeviceTypes: []string{"qemu"},
			DeployMethods: []string{"tmpfs", "nfs"}, BootMethods: []string{"qemu", "qemu-nfs"}}}, nil
}

// TestSubmitUnsupportedMethod: /api/v1 refuses a job whose boot method the
// device type's driver does not declare, with path, line and what the
// driver has, stores nothing, and /jobs/validate says the same.
func TestSubmitUnsupportedMethod(t *testing.T) {
	e := newEnv(t)
	e.h = New(Options{Store: e.st, Logger: slog.New(slog.NewTextHandler(e.logs, nil)), Version: "test-1", Drivers: qemuDrivers{}})

	bad := jobWith("method: qemu", "method: grub")
	const want = `actions[1].boot.method (line 16, column 13): device type qemu (driver qemu 0.3.0) has no boot method "grub"; it has: qemu, qemu-nfs`
	r := e.do("POST", "/api/v1/jobs", e.bob, "application/yaml", bad)
	if r.status != http.StatusBadRequest {
		t.Fatalf("submit: %d %s", r.status, r.body)
	}
	ei := r.errorOf(t)
	if ei.Code != "invalid_job" || ei.Message != "invalid job definition: "+want {
		t.Errorf("error %+v, want the message %q", ei, want)
	}
	var details []job.Issue
	b, _ := json.Marshal(ei.Details)
	if err := json.Unmarshal(b, &details); err != nil || len(details) != 1 ||
		details[0].Path != "actions[1].boot.method" || details[0].Line != 16 || details[0].Column != 13 {
		t.Errorf("details %s: want the path and line", b)
	}
	if n := e.jobCount(); n != 0 {
		t.Errorf("%d jobs stored", n)
	}

	var v ValidateResult
	e.do("POST", "/api/v1/jobs/validate", e.bob, "application/yaml", bad).decode(t, &v)
	if v.Valid || len(v.Errors) != 1 || v.Errors[0].String() != want {
		t.Errorf("validate: %+v", v)
	}

	// Both roles of a multinode job are checked; every bad action is listed.
	mn := strings.Replace(strings.Replace(multinodeJob, "to: tmpfs", "to: tftp, kernel: {url: 'http://x.invalid/k'}", 1), "method: qemu", "method: grub", 1)
	r = e.do("POST", "/api/v1/jobs", e.bob, "application/yaml", mn)
	ei = r.errorOf(t)
	for _, w := range []string{
		`actions[0].deploy.to (line 15, column 16): device type qemu (driver qemu 0.3.0) has no deploy method "tftp"; it has: tmpfs, nfs`,
		`actions[1].boot.method (line 16, column 18): device type qemu (driver qemu 0.3.0) has no boot method "grub"; it has: qemu, qemu-nfs`,
	} {
		if r.status != http.StatusBadRequest || !strings.Contains(ei.Message, w) {
			t.Errorf("multinode: %d %q lacks %q", r.status, ei.Message, w)
		}
	}

	// The declared methods pass; a type no driver serves is not checked.
	e.submit(e.bob, qemuJob)
	must(t, e.st.CreateDevice(t.Context(), model.Device{Hostname: "bbb-02", DeviceType: "bbb", Worker: "w1", Health: model.DeviceGood}))
	e.submit(e.bob, strings.Replace(bad, "device_type: qemu", "device_type: bbb", 1))
}
