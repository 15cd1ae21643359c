package api

import (
	"context"
	"strings"
	"testing"
)

// TestDeviceTypeDriver (issue 16): POST /device-types binds a LAVA name to
// a driver, and the device type shows it.
func TestDeviceTypeDriver(t *testing.T) {
	e := newEnv(t)
	r := e.json("POST", "/api/v1/device-types", e.admin, `{"name": "beaglebone-black", "driver": "uboot"}`)
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	dt, err := e.st.DeviceType(context.Background(), "beaglebone-black")
	must(t, err)
	if dt.Driver != "uboot" {
		t.Errorf("stored driver %q", dt.Driver)
	}
	if r := e.json("GET", "/api/v1/device-types/beaglebone-black", e.admin, ""); r.status != 200 || !strings.Contains(string(r.body), `"driver":"uboot"`) {
		t.Errorf("show: %d %s", r.status, r.body)
	}
}
