// Package lavarpc serves LAVA's XML-RPC API at /RPC2, so that lavacli and
// scripts written for LAVA work against this lab unchanged: jobs (submit,
// list, show, logs, cancel, resubmit, definition, validate, configuration,
// queue), results, devices (with dictionaries and tags), device types (with
// aliases, health checks and settings), workers, tags, aliases and system
// introspection, with LAVA's return shapes, nil values, dateTime and
// Binary payloads, and faults with LAVA's codes and messages.
//
// The XML-RPC codec is this package's own, on encoding/xml: the Go XML-RPC
// modules are clients (they encode calls and decode responses, not the
// reverse) and none has seen a release in years. The decoder is strict,
// bounded (request size and nesting depth) and fuzzed.
//
// Callers authenticate with HTTP Basic username:token (what lavacli sends
// from an identity); no header is anonymous. Job visibility is the store's
// (store.Viewer); submission checks are core/job's and core/api's
// (api.Problems). Logs are served in LAVA's output.yaml line format
// (WriteOutputYAML), results through core/results.
//
// It imports core/model, core/store, core/job, core/api, core/auth,
// core/devdict, core/results and core/version; it must not import a store
// backend (tests excepted), the scheduler, the worker protocol or cmd/.
package lavarpc
