// Package version holds the build's version string, set at link time with
// -ldflags "-X github.com/lavalab/lavalab/core/version.Version=...". The
// server and its workers compare it literally (LAVA does the same). It
// imports nothing.
package version

// Version is the lab's version; "dev" in a plain `go build`.
var Version = "dev"

// LAVACompat is the LAVA release whose formats and APIs this lab speaks; the
// XML-RPC system.version() answers it so lavacli picks its newest arguments.
const LAVACompat = "2023.01"
