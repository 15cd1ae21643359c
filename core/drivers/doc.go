// Package drivers is the core's view of a device-type driver: the Driver
// interface the driver hosts implement (plugins/wasm for WebAssembly
// modules, plugins/native for go-plugin binaries), the kinds of drivers, and
// Error, the one error type every host returns when a driver misbehaves,
// naming the driver and the fault.
//
// The dispatcher, the sandbox and the registry see only Driver; they do not
// care which kind a driver is. The core owns this interface and the plugins
// implement it, so nothing in core/ imports plugins/ (the import rules are
// in internal/archtest/rules.go).
package drivers
