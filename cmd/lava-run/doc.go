// Command lava-run runs one LAVA job on one board with no server: the job
// definition, the device dictionary and the device type's driver (a .wasm
// file from the drivers directory) are all it needs. It prints the job's log
// live (coloured by level, like lavacli), a results table at the end, and
// exits 0 only for a Complete job. With --plan-only it prints the plans the
// driver makes for the job's actions, as JSON, and runs nothing.
//
// It is what a driver author uses on a bench, and what the worker does
// in-process (core/dispatch).
package main
