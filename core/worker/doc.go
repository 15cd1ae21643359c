// Package worker is lava-worker: the worker's end of the worker protocol
// (core/workerproto) and the whole program around it. Main is the command
// line; Worker is the runtime (the long-poll loop, one goroutine and
// context per job, cancel, the version check and the auto-upgrade); the
// spool keeps each job's log on disk until the server has acknowledged it,
// so logs survive server outages and worker restarts; Client is the typed
// client of /worker/v1.
//
// Jobs run through a Runner. NewDispatchRunner is the real one: the
// dispatcher (core/dispatch) with the device type's driver from the
// registry (plugins/registry: a module in --drivers-dir first, else the one
// the server pins by SHA-256, fetched once; a native driver only from the
// worker's own --native-drivers list). cmd/lava-worker only calls Main.
//
// It is the one package of core/ that imports the driver hosts (plugins/),
// as a command would; its imports are checked by internal/archtest
// (rules.go). It reaches the server over the protocol only: no store, no
// server code.
package worker
