// Command local is the driver of the `local` device type: a shell on the
// worker host in a pty. Nothing is deployed or powered; boot starts the
// shell, sets its prompt and waits for it; test runs the LAVA test shell in
// it. A demo or a test of the lab needs no board. It is a WASM module built
// with GOOS=wasip1 GOARCH=wasm; settings.yaml is embedded at build time.
//
// It imports the sdk module and devicetypes/internal packages only.
package main
