// Package storetest is the conformance suite every store.Store backend
// must pass (Run), and the benchmarks they share (Bench). It exercises every
// method and every rule of the core/store godoc against a real database:
// visibility, filters and paging, multinode creation, job and device
// transitions in one transaction, stale assignments, health checks, log
// resends and gaps, results, events after commit and concurrent
// assignment.
//
// Backends import it from their tests. Its imports are checked by
// internal/archtest (rules.go).
package storetest
