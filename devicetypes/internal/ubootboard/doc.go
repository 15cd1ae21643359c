// Package ubootboard is the driver of a board booted by U-Boot over TFTP:
// deploy serves the job's files, boot connects the console, resets the
// board, interrupts U-Boot, sends the command list LAVA would send (built by
// sdk/uboot from the settings), then waits for the kernel, logs in and waits
// for the shell. The imx8mn-evk, juno-r2, soca9 and uboot drivers are this
// board with their own name, settings.yaml and, where LAVA's template has
// one, a hook.
//
// It is compiled into WASM drivers: it imports the sdk module, the
// repository's devicetypes/internal/drv and the standard library only.
package ubootboard
