// Command lava-server is the lab's server: `lava-server serve` (the default)
// runs the REST API and, unless --no-scheduler, the scheduler in-process;
// the other subcommands are the admin command line (users, workers, device
// types, devices, tags, groups), working on the same store as the server.
//
// Commands print secrets (tokens) alone on stdout, so that
// TOKEN=$(lava-server user add bob) works; everything else goes to stderr.
// Exit codes: 0 success, 1 failure, 2 usage error.
//
// It is a thin main: the work is in core/ (api, auth, sched, storeopen).
package main
