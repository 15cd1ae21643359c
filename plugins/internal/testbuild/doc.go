// Package testbuild builds the test drivers of the plugins tests (Go main
// packages under testdata/) at test time, for wasip1/wasm or for the host,
// into a cache under os.TempDir keyed by a hash of the sources (the package,
// the sdk, the Go version and the flags), so repeated runs are fast.
//
// It is imported by tests only; it imports core/testenv and nothing else of
// the project.
package testbuild
