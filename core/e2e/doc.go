// Package e2e holds the end-to-end tests of the whole lab (issue 6): the
// real lava-server and lava-worker binaries of `make build` (bin/), two
// virtual U-Boot boards (QEMU, scripts/vlab/board.sh, the images of `make
// vlab-images`) on that worker, jobs submitted through the REST API
// (/api/v1), and checks of the jobs' logs, results and states and of the
// boards' power. `make test-e2e` runs them (LAVALAB_E2E=1); the benchmark
// BenchmarkRamdiskJob measures the stack's overhead over the board's own
// boot time.
//
// The package has no code outside its tests. The tests talk to the lab
// through processes, HTTP and the lava-server command line only: they must
// not import the server, worker, store or dispatcher packages (core/vlab
// for the image facts, core/testenv and pgx for a fresh PostgreSQL schema
// are the exceptions).
package e2e
