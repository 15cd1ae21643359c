// Package workerproto is the worker protocol: the HTTP(S) conversation
// between lava-server and lava-worker (docs/design.md, "Worker protocol"),
// both ends of it.
//
// Server side: Server mounts /worker/v1 (poll, start, logs, end, driver
// modules, worker binaries) on the server's router and runs the liveness
// monitor (silent workers go Offline, their devices' health Unknown, their
// jobs Incomplete after a grace period). Client is the typed client of
// those endpoints. Worker is the lava-worker runtime: the long-poll loop,
// one goroutine and context per job, the on-disk log spool that survives
// server outages and worker restarts, cancel, the version check and the
// auto-upgrade. Main is lava-worker's command line.
//
// The protocol's OpenAPI document (openapi.json) is embedded and served at
// /worker/v1/openapi.json; an optional Observer (lava-server's metrics)
// is told about ingested logs and started jobs.
//
// It owns the wire format (wire.go) and the rules of the conversation:
// per-worker token and version on every request, per-job tokens for
// job-scoped calls, log batches numbered by their first record, end
// reports acknowledged only once every record has arrived, and the
// "safe to stop" 409.
//
// It imports core/model, core/store, core/auth, core/version and the plugin
// registry (for the worker's drivers); it must not import core/api,
// core/sched or cmd/. Jobs run through a Runner (the dispatcher in
// lava-worker), so this package does not import core/dispatch either.
package workerproto
