// Package api is the lab's REST API, /api/v1, on chi v5: jobs (submit,
// validate, list, show, definition, cancel, resubmit, logs, results),
// devices, device types and their settings overrides, workers, tags, users,
// API tokens and groups, the system version, an OpenAPI 3 description
// (/api/v1/openapi.json) and /healthz.
//
// Every error is JSON of one shape, {"error": {"code", "message",
// "details"}}; request bodies are size-limited and JSON bodies refuse
// unknown fields. Requests authenticate with "Authorization: Token <secret>"
// (or Bearer). Every handler translates its request to one core/lab
// operation, which checks permissions and job visibility, and maps lab's
// typed refusals to this API's statuses and codes (labError); no handler
// calls the store.
//
// Device-type drivers (/drivers: list, show, upload, activate, rollback,
// module bytes) are core/lab operations over its Drivers (the server
// adapts plugins/registry to it); device-type settings
// overrides are checked against the active driver's declared settings.
//
// Its imports are checked by internal/archtest (rules.go).
package api
