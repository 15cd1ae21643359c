package model

import "time"

// Causes of a device's health change (HealthChange.Cause).
const (
	HealthCauseAdmin       = "admin"        // an admin set it (command line, API, web)
	HealthCauseHealthCheck = "health-check" // a health check job graded the device
	HealthCauseScheduler   = "scheduler"    // no health check for its type: marked Good
)

// HealthChange is one transition in a device's health history.
type HealthChange struct {
	ID     int64        `json:"id"`
	Device string       `json:"device"`
	At     time.Time    `json:"at"`
	From   DeviceHealth `json:"from"`
	To     DeviceHealth `json:"to"`
	// Cause is one of the HealthCause constants.
	Cause string `json:"cause"`
	// JobID is the health check job (cause health-check), else 0.
	JobID int64 `json:"job_id,omitempty"`
	// Actor is who made an admin change ("" when not known), and Reason
	// why (e.g. a maintenance's).
	Actor  string `json:"actor,omitempty"`
	Reason string `json:"reason,omitempty"`
}
