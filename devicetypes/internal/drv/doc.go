// Package drv holds what every device-type driver of this repository shares:
// describing a driver from its embedded settings.yaml, resolving the settings
// a plan reads (defaults, the host's merged settings, the job context), and
// the steps every board ends its boot with (kernel start, login, shell), the
// test shell and LAVA's user commands.
//
// It is compiled into WASM drivers: it imports the sdk module and the
// standard library only, never core/ or plugins/.
package drv
