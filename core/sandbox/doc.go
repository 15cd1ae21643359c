// Package sandbox is the driver sandbox: what a plan may make the worker's
// host do, decided for every step of a plan before any runs.
//
// A WASM driver is untrusted. It never names a program: a power step names
// an operation and the host runs the device dictionary's command for it; a
// connect step names a console of the dictionary or a host tool; a host step
// names one of the dictionary's user commands; a tool step names a tool that
// the worker's admin allowed for the device (hosttools). An ABI 1 step that
// carries a command line runs only when the line is exactly the dictionary's
// own. Anything else refuses the whole plan before any step runs.
//
// A native driver is trusted admin-installed code, but its host access
// goes through the same allow list: its tool steps need the tool allowed,
// and its command lines (ABI 1 fields) run under the `sh` tool, so they need
// `sh` allowed for the device.
//
// Only the admin's layers count as the dictionary here: the device
// dictionary and the admin's device-type settings, never the driver's own
// setting defaults (a driver could otherwise put a command line there).
//
// The dispatcher checks every plan with it; the driver test kit
// (sdk/sdktest) does too, so a driver's tests see what a worker would
// refuse. It sees drivers through core/drivers; its imports are checked by
// internal/archtest (rules.go).
package sandbox
