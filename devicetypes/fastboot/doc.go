// Command fastboot is the device-type driver of Android and i.MX boards that
// are flashed from the worker (issue 19): LAVA's deploy `to: fastboot`,
// `to: uuu`, `to: recovery` and `to: downloads`, and boot methods fastboot,
// uuu and recovery. Every host program (fastboot, adb, uuu, bcu, a container
// engine for the `docker:` option) is a typed tool step the worker's admin
// allows; the power and recovery switching commands are the device
// dictionary's own, named by operation. A WASM module built with
// GOOS=wasip1 GOARCH=wasm; settings in settings.yaml.
package main
