// Command submit is a load program for job submission: it POSTs a ~1 KB
// qemu job to /api/v1/jobs from many concurrent clients and prints jobs/s
// and the latency percentiles.
//
//	go run ./bench/submit -url http://127.0.0.1:8000 -token T -clients 32 -n 20000
//	go run ./bench/submit -spawn                     # SQLite in a temp dir
//	go run ./bench/submit -spawn -db postgres://...  # PostgreSQL
//
// With -spawn it builds lava-server, prepares a user, a worker, the qemu
// device type and a device with the admin command line, starts the server
// on a free loopback port, runs the load and stops the server. It talks to
// loopback addresses only and stops by itself (-n requests, -timeout).
//
// It is a main of its own: it runs the lava-server binary as a user's client
// would. Its imports are checked by internal/archtest (rules.go).
package main
