// Package plugin turns a Go main into a native (go-plugin, gRPC) device-type
// driver: call Serve(driver) from main, and build the binary for the worker's
// platform. The lab starts the binary as a child process, checks its SHA-256
// against the admin's pin, shakes hands (magic cookie, ABI version as the
// protocol version) and sends the same JSON requests a WASM driver reads on
// stdin, over one unary gRPC method.
//
// Native drivers are trusted code for boards that need host tools (USB
// flashing, vendor utilities). Prefer a WASM driver (sdk.Run) when the board
// needs none.
//
// The package also holds what both ends share: the handshake, the gRPC
// service description and the go-plugin glue (Handshake, ServiceDesc,
// GRPCDriver, PluginName). It imports the sdk and go-plugin/gRPC, and nothing
// of the lab (core/, plugins/).
package plugin
