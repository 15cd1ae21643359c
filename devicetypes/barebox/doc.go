// Command barebox is the device-type driver of boards booted by barebox
// (LAVA's base-barebox): a WASM module built with GOOS=wasip1 GOARCH=wasm.
// It plans barebox's interrupt and its `boot net` or `bootm` commands over
// barebox's /mnt/tftp, and the bootloader and minimal boot methods. Its
// settings and their defaults are in settings.yaml, embedded at build time.
//
// There is no virtual barebox board: the tests compare the plans with the
// commands and parameters LAVA 2023.01's own template renders (issue 17).
package main
