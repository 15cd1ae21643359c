// Command lava-worker runs on a lab host: it long-polls lava-server for
// jobs over HTTP(S) (core/workerproto), runs each through the dispatcher
// (core/dispatch) with the device type's driver (plugins/registry: local
// --drivers-dir first, else the module the server pins by SHA-256; a native
// driver only from the worker's own --native-drivers list), sends
// the logs live through an on-disk spool, and reports each job's end.
//
// Usage: lava-worker --url URL --name NAME [--token-file FILE] [--work-dir DIR]
// [--drivers-dir DIR] [--native-drivers FILE] [--ca-cert FILE] [--exit-on-version-mismatch] [--auto-upgrade]
package main
