// Package store defines the lab's persistence contract: one Store interface
// made of small per-aggregate interfaces (users, workers, device types,
// devices, tags, jobs, scheduling, logs, results, events, leadership), the
// errors callers branch on, and the visibility rule for jobs.
//
// Implementations live in sub-packages: sqlite (embedded, pure Go, the
// default) and postgres (pgx v5); storetest is the conformance suite both
// must pass. Every job+device state change is one transaction.
//
// This package imports core/model and the standard library only; it must not
// import the API, the scheduler, the worker protocol or any driver code.
package store
