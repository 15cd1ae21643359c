// Package workerserver is the server's end of the worker protocol
// (core/workerproto): Server mounts /worker/v1 (poll, start, logs, end,
// driver modules, worker binaries) on lava-server's router, authenticates
// workers and jobs by token, stores log batches and end reports through the
// store (core/store), and runs the liveness monitor (silent workers go
// Offline, their devices' health Unknown, their jobs Incomplete after a
// grace period) and the job timeout check.
//
// Log batches are read by a hand-written decoder (batchdecode.go) with
// encoding/json as the fallback for unusual input; an optional Observer
// (lava-server's metrics) is told about ingested logs and started jobs.
//
// Its imports are checked by internal/archtest (rules.go): it answers
// workers from the store and never runs jobs or serves users.
package workerserver
