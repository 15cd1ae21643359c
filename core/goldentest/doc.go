// Package goldentest is the test kit of this repository's drivers
// (devicetypes/): it calls a driver in-process through sdk.Handle (the same
// bytes the WASM host exchanges), compares answers with golden files (go
// test -update rewrites them), checks settings.yaml against a real YAML
// reader, and reads the device dictionaries and the boot lists LAVA renders
// for them from the repository's testdata/lava (checked against LAVA
// 2023.01's templates from Debian by this package's own test).
//
// It lives in core/, not under devicetypes/, because it parses the
// dictionaries with the server's own parser (core/devdict) and finds its
// data and LAVA's packages through core/testenv: a driver's tests then check
// the values the server would hand the driver, not a second reader's idea of
// them, while the drivers themselves import the sdk only.
//
// Tests only: it is never linked into a driver or a binary.
package goldentest
