// Command testsummary reads `go test -json` on its standard input and writes
// what a plain `go test` would (each package's ok, FAIL or "no test files"
// line, the output of failing tests, build errors), then a summary of the
// tests that were skipped and why, so that a passing run says what did not
// run. It exits 1 when a test, a package or a build failed, 0 otherwise.
//
// `make test` pipes go test's JSON through it:
//
//	go test -json ./... | go run ./scripts/testsummary
package main
