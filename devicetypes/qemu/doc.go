// Command qemu is the driver of LAVA's qemu device type: a virtual machine
// run by QEMU on the worker. It is a WASM module built with GOOS=wasip1
// GOARCH=wasm; its settings and defaults are in settings.yaml, embedded at
// build time.
//
// Deploy (tmpfs, nfs) needs nothing of the board: the worker downloads the
// images. Boot (qemu, qemu-nfs) connects to the console of a QEMU process
// whose command line is the one LAVA builds: qemu-system-<arch>, the device
// type's options, extra_options, then each image's image_arg with its file.
//
// It imports the sdk module and devicetypes/internal packages only.
package main
