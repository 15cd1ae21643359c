// Command soca9 is the Cyclone V SoC (SoCA9) device-type driver: a WASM module built with
// GOOS=wasip1 GOARCH=wasm that answers the lab's describe and plan requests.
// Its settings and their defaults are in settings.yaml, embedded at build time.
//
// It imports the sdk module and devicetypes/internal packages only.
package main
