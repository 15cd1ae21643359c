// Package goldentest is the test kit of this repository's drivers: it calls a
// driver in-process through sdk.Handle (the same bytes the WASM host
// exchanges), compares answers with golden files (go test -update rewrites
// them), checks settings.yaml against a real YAML reader, and reads the
// device dictionaries and the boot lists LAVA renders for them from the
// repository's testdata/lava (checked against LAVA 2023.01's templates from
// Debian by this package's own test).
//
// Tests only: it is never linked into a driver.
package goldentest
