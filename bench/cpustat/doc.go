// Package cpustat reads the CPU time spent by processes, for the benchmark
// programs under bench/: on a machine shared with other work, CPU seconds
// per operation compare runs where wall-clock rates do not.
//
// It reads /proc (Linux) and getrusage only. Its imports are checked by
// internal/archtest (rules.go).
package cpustat
