// Command lava-server is the lab's server: `lava-server serve` (the default)
// runs the REST API and, unless --no-scheduler, the scheduler in-process;
// the other subcommands are the admin command line (users, workers, device
// types and their settings, devices, tags, groups, drivers), working on the
// same store as the server. The server opens the driver registry
// (plugins/registry) over the store's driver tables and its watched drivers
// directory, gives it to the API and the scheduler, and keeps it in step
// with the store (drivers.go).
//
// Commands print secrets (tokens) alone on stdout, so that
// TOKEN=$(lava-server user add bob) works; everything else goes to stderr.
// Exit codes: 0 success, 1 failure, 2 usage error.
//
// It is a thin main: the work is in core/ (api, auth, sched, storeopen).
package main
