// Package dispatch runs a LAVA job on one board: it turns the job's actions
// into stages, asks the device type's driver (drivers.Driver) for each
// stage's plan and executes the steps — power commands (core/power), the
// console (core/console) with the expect engine (core/expect), artifacts
// (core/artifacts) served over TFTP (core/tftp) and HTTP, the LAVA test
// overlay and test shell (core/testshell) — and reports every log record to
// a Sink and the test cases in the Outcome.
//
// It owns LAVA's timeout and failure_retry rules, the job error types, and
// the promise that the board is powered off at the end of every job. Its
// artifact servers give a board the files of its own running job only: HTTP
// URLs carry a per-job secret, and both servers open files with os.Root at
// the job's folder (no link out, no listing).
//
// The worker and lava-run own persistence and transport. Its imports are
// checked by internal/archtest (rules.go).
package dispatch
