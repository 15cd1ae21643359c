package store

import (
	"context"

	"github.com/lavalab/lavalab/core/model"
)

// HealthHistory keeps each device's health transitions and their cause.
// SetDeviceHealth records an admin change without actor or reason; health
// checks and the scheduler record theirs.
type HealthHistory interface {
	// SetDeviceHealthBy is SetDeviceHealth recording who made the change
	// and why (e.g. a maintenance's reason).
	SetDeviceHealthBy(ctx context.Context, hostname string, h model.DeviceHealth, actor, reason string) (model.Device, error)
	// DeviceHealthHistory returns a device's transitions, newest first,
	// at most limit (≤ 0: 100). ErrNotFound for an unknown device.
	DeviceHealthHistory(ctx context.Context, hostname string, limit int) ([]model.HealthChange, error)
}
