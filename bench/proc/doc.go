// Package proc starts and stops the processes the benchmark programs under
// bench/ run (lava-server, a worker): output to a log file, a wait for the
// HTTP health check that fails early when the process exits, a graceful
// stop with a deadline.
//
// Its imports are checked by internal/archtest (rules.go).
package proc
