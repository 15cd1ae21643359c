// Package apitest holds test doubles of the API's dependencies that the
// front-ends' tests share (lavarpc, lavarest, web). Tests only: no program
// imports it.
package apitest

import (
	"fmt"

	"github.com/lavalab/lavalab/core/api"
	"github.com/lavalab/lavalab/sdk"
)

// QemuDrivers is a registry in memory with one active driver, for qemu,
// declaring the shipped qemu driver's methods. A submission reads only
// ForDeviceType; any other method of api.Drivers panics (nil embedded).
type QemuDrivers struct{ api.Drivers }

// ForDeviceType serves device type qemu only.
func (QemuDrivers) ForDeviceType(devType string) (api.DriverInfo, error) {
	if devType != "qemu" {
		return api.DriverInfo{}, fmt.Errorf("no active driver serves device type %q: %w", devType, api.ErrDriverNotFound)
	}
	return api.DriverInfo{Name: "qemu", Version: "0.3.0", Active: true, DeviceTypes: []string{"qemu"},
		Description: sdk.Description{Name: "qemu", Version: "0.3.0", DeviceTypes: []string{"qemu"},
			DeployMethods: []string{"tmpfs", "nfs"}, BootMethods: []string{"qemu", "qemu-nfs"}}}, nil
}
