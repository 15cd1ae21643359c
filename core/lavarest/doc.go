// Package lavarest serves LAVA's REST API v0.2 at /api/v0.2 for scripts
// written against LAVA: jobs (list, show, submit, cancel, resubmit,
// validate, logs in output.yaml form, results as yaml, csv, junit and
// tap13, suites, tests), devices (and their dictionaries), device types
// (template, health check), workers, tags and system version/whoami, with
// Django REST framework's shapes: limit/offset pages of LAVA's size (50),
// {"detail": ...} errors, trailing-slash paths.
//
// Callers authenticate with "Authorization: Token <secret>"; no header is
// anonymous. Every handler calls core/lab (which checks permissions and job
// visibility); what it shares with XML-RPC (LAVA's fault messages, logs in
// output.yaml form, results rows, rendered dictionaries) is core/lavafmt's.
//
// Its imports are checked by internal/archtest (rules.go).
package lavarest
