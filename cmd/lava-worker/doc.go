// Command lava-worker runs on a lab host: it long-polls lava-server for
// jobs over HTTP(S), runs each through the dispatcher with the device
// type's driver, sends the logs live through an on-disk spool, and reports
// each job's end. The program is core/worker (worker.Main with
// worker.NewDispatchRunner); this main only sets up the signals.
//
// Usage: lava-worker --url URL --name NAME [--token-file FILE] [--work-dir DIR]
// [--drivers-dir DIR] [--native-drivers FILE] [--ca-cert FILE] [--exit-on-version-mismatch] [--auto-upgrade]
package main
