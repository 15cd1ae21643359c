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
// from an identity); no header is anonymous. Every method is a small named
// function in a table (jobMethods, deviceMethods, ...) that reads its
// arguments, calls one core/lab operation (which checks permissions and
// job visibility) and shapes LAVA's answer; a refusal of core/lab becomes
// LAVA's fault through core/lavafmt. Logs are served in LAVA's output.yaml
// line format (core/lavafmt), results through core/results.
//
// Its imports are checked by internal/archtest (rules.go).
package lavarpc
