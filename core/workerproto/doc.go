// Package workerproto is the wire contract of the worker protocol: the
// HTTP(S) conversation between lava-server and lava-worker under /worker/v1
// (docs/architecture.md, "Worker protocol"). It holds what both ends must
// agree on and nothing else: the paths and headers, the messages (poll,
// start, log batches, end report, their answers), the error codes a worker
// branches on, the limits of one request, and the protocol's OpenAPI
// document (openapi.json, embedded, served at /worker/v1/openapi.json).
//
// The server's end is core/workerserver, the worker's end core/worker. The
// rules of the conversation they keep: per-worker token and version on
// every request, per-job tokens for job-scoped calls, log batches numbered
// by their first record, end reports acknowledged only once every record
// has arrived, and the "safe to stop" 409.
//
// Its tests drive both ends together (in-process, and as real lava-server
// and worker processes: internal/synthworker is lava-worker's runtime with
// a synthetic job runner). Its imports are checked by internal/archtest
// (rules.go).
package workerproto
