package web

import (
	"context"
	"time"

	"github.com/lavalab/lavalab/sdk"
)

// DriverInfo describes one driver version, as the driver registry knows it.
type DriverInfo struct {
	Name        string
	Version     string
	SHA256      string
	Kind        string // wasm or native
	Source      string
	DeviceTypes []string
	Active      bool
	LoadedAt    time.Time
	Description sdk.Description
}

// DriverRefusal is a driver file the registry refused, with the reason.
type DriverRefusal struct {
	Path, SHA256, Reason string
	At                   time.Time
}

// Drivers is what the pages need of the driver registry. A nil Drivers
// shows "no driver registry" where drivers would be.
type Drivers interface {
	// ListDrivers returns every known version (active or not).
	ListDrivers(ctx context.Context) ([]DriverInfo, error)
	// RefusedDrivers returns the driver files that failed their checks.
	RefusedDrivers(ctx context.Context) ([]DriverRefusal, error)
	// ActivateDriver makes version sha of driver name the active one.
	ActivateDriver(ctx context.Context, name, sha string) (DriverInfo, error)
	// RollbackDriver re-activates the previously active version of name.
	RollbackDriver(ctx context.Context, name string) (DriverInfo, error)
	// InstallDriver loads, checks, stores and activates a module.
	InstallDriver(ctx context.Context, name string, module []byte) (DriverInfo, error)
}
