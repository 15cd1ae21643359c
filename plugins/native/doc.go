// Package native is the go-plugin host for native device-type drivers:
// trusted, admin-installed executables (built with sdk/plugin.Serve) for
// boards that need host tools. A Driver starts the binary as a child process
// after checking its SHA-256 against the admin's pin (go-plugin
// SecureConfig), shakes hands (magic cookie, the ABI version as protocol
// version, gRPC only) and sends the same JSON requests a WASM driver reads on
// stdin over one unary gRPC method.
//
// A plugin that panics, exits or is killed mid-call is a *drivers.Error of
// fault "crashed"; the host survives and starts a fresh process on the next
// call (it never reattaches to a process by PID). The plugin's stderr goes
// to the writer the caller gives (the job or server log).
//
// Its imports are checked by internal/archtest (rules.go).
package native
