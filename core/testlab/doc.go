// Package testlab starts a real lab for end-to-end tests: lava-server and
// lava-worker processes built from this checkout (with the `local` driver),
// a worker and a `local` device whose "board" is a shell on this host, so a
// job really runs: scheduled, dispatched, its log streamed live by the
// worker, its results reported.
//
// It is test support only. It drives the binaries (go build, the admin
// commands, /api/v1 over HTTP), not the server's packages: what it checks is
// what a user of the binaries sees. Its imports are checked by
// internal/archtest (rules.go).
package testlab
