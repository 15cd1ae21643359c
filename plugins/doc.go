// Package plugins holds what the driver hosts share: the Driver interface
// that both the WASM host (plugins/wasm) and the go-plugin host
// (plugins/native) implement, and Error, the one error type every host
// returns when a driver misbehaves, naming the driver and the fault.
//
// The dispatcher and the registry (plugins/registry) see only Driver; they do
// not care which kind a driver is.
//
// This package imports the sdk and the standard library only; it must not
// import core/ or cmd/.
package plugins
