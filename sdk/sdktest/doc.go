// Package sdktest is the test kit for device-type drivers: it builds a
// driver to WebAssembly, loads it through the lab's own wazero host
// (plugins/wasm, with a worker's limits and ABI negotiation) and runs its
// plans against a scripted fake console, so a driver's author tests with
// `go test` what a worker would do with the driver.
//
//	d := sdktest.BuildAndLoad(t, ".")            // GOOS=wasip1 GOARCH=wasm go build, then load
//	con := &sdktest.Console{
//		Power:     map[string]string{sdk.PowerReset: "U-Boot 2024.01\nHit any key to stop autoboot:  2 "},
//		Echo:      true,
//		Otherwise: "=> ",
//		Replies:   []sdktest.Reply{sdktest.Prefix("bootz ", "Starting kernel ...\nLinux version 6.1\nlogin: ")},
//	}
//	res := d.Run(t, con, d.Request(job, sdktest.Boot("u-boot", params)))
//	// res.Received: the lines the board got; res.Steps: every step, in order
//
// Console steps (connect, disconnect, expect, send, interrupt, commands,
// login, wait_shell) run through the lab's expect engine (core/expect)
// over an in-memory console, so patterns, partial lines and error
// patterns match as on a worker. Steps that would touch the worker host
// (power, serve, tool, flash, host, test_shell) are recorded, not run; a
// power step makes the fake board print its Power output. A step waiting
// for output the script never gives fails after Console.Timeout, and Run
// fails the test with the console's transcript and the lines no reply
// answered.
//
// The package lives in its own module (github.com/lavalab/lavalab/sdk/sdktest)
// because it imports the lab (plugins/wasm, core/expect) while the sdk
// module imports nothing of it: a driver imports the sdk only, and its
// tests import this kit.
package sdktest
