// Package sched is the scheduler: it gives queued jobs to free devices.
//
// A pass reads one store.Snapshot, computes assignments with the pure
// function Plan (priority high first, then submit time; device type,
// requested device and tags honoured; health checks first for devices whose
// health is Unknown or whose health check is due) and applies them through
// store.Assign, where each job+device change is one transaction that checks
// both are still as the snapshot saw them.
//
// Run wakes on store events (job submitted, device freed) and on a slow
// safety timer, never in a busy loop, and only while it holds the store's
// leadership, so one scheduler acts at a time among several instances.
//
// Each assignment records the driver version (Options.DriverFor) and the
// merged settings of the job: the driver's defaults
// (Options.DriverSettings) < the device type's overrides < the device
// dictionary.
//
// Its imports are checked by internal/archtest (rules.go).
package sched
