// Package sdk is the contract between the lab and a device-type driver: the
// ABI types a driver exchanges with the host (describe and plan), helpers that
// build bootloader command sequences (see the uboot sub-package), and the
// entry point that turns a Go main into a WASM driver (Run).
//
// A driver *describes* the steps of a job on a board; the lab *executes*
// them. A driver never touches a serial port, a file or the network: it gets
// one JSON request on stdin and writes one JSON answer on stdout.
//
// The ABI is versioned by ABIVersion (2: no step carries a command line;
// power, consoles and user commands are named, host tools are tool steps a
// worker runs only where its admin allowed them). A host and a driver agree
// on a version by describe (NegotiateABI). Adding an optional field is not a
// version change; changing the meaning of a field or removing one is.
//
// This module imports nothing of the lab (core/, plugins/) and its root
// package only the standard library, so a vendor's driver pulls in nothing
// else; internal/archtest (rules.go) checks it.
package sdk
