// Command mcu is the driver of the `mcu` device type (issue 18): a
// microcontroller board that a host tool flashes, or the virtual Cortex-M
// board (QEMU's mps2-an385). It is a WASM module built with GOOS=wasip1
// GOARCH=wasm; its settings and defaults are in settings.yaml, embedded at
// build time.
//
// Boot methods plan LAVA's command lines as typed host tool steps (a tool
// name and its arguments, no shell; the worker runs a tool only where its
// admin allowed it): pyocd, jlink, openocd, dfu (dfu-util), gdb
// (gdb-multiarch against the board's gdb server) and qemu (the virtual
// board's firmware by -kernel); cmsis-dap and musca copy the image to the
// board's USB mass storage (a mass_storage step the worker runs). Deploy
// tmpfs needs nothing of the board; musca and mps copy to its mass storage.
// A test action with monitors watches the UART (a monitor step).
//
// It imports the sdk module and devicetypes/internal packages only.
package main
