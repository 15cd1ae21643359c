// Package wasm is the wazero host for WebAssembly device-type drivers: WASI
// preview1 command modules that read one JSON sdk.Request on stdin and write
// one JSON sdk.Response on stdout.
//
// A Host compiles each module once (with an on-disk compilation cache, so a
// restart does not compile again) and instantiates it afresh for every call,
// with no file system, no network, no environment variables, no arguments
// but argv[0], a memory cap, a deadline and a cap on the answer's size. The
// driver's stderr is kept (bounded) and returned as diagnostics for the job
// log. Whatever the module does — trap, loop forever, exhaust its memory,
// exit non-zero, answer garbage or too much — the call returns a
// *drivers.Error naming the driver and the fault, and the host goes on.
//
// Its imports are checked by internal/archtest (rules.go).
package wasm
