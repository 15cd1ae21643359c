// Command depthcharge is the device-type driver of Chromebooks booted over
// the network by depthcharge's dev build (LAVA's base-depthcharge): a WASM
// module built with GOOS=wasip1 GOARCH=wasm. Its deploy asks the worker
// for a FIT image of the kernel, dtb and ramdisk (mkimage, a fit step) when
// mkimage_fit_arch is set; its boot has the worker write the kernel command
// line file beside the kernel (a file step), waits for depthcharge and
// sends its `tftpboot` command. Settings and defaults are in settings.yaml.
//
// There is no virtual Chromebook: the tests compare the plans with what
// LAVA 2023.01's own template renders (issue 17).
package main
