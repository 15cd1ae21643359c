// Package hosttools is a worker's allow list of host tools: the programs
// (QEMU, fastboot, uuu, pyocd, openocd, a shell for the `local` device
// type, ...) that a driver's tool steps may run on the worker, and for which
// devices or device types. Nothing is allowed unless the worker's admin
// listed it (deny by default). A tool is named by a bare program name; the
// admin may map it to a path, else it is looked up in the worker's PATH.
//
// It imports the sdk (tool name rules) and yaml.v3 only, never the
// dispatcher, the store or the driver hosts.
package hosttools
