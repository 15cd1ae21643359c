// Package goldentest is the test kit of this repository's drivers: it calls a
// driver in-process through sdk.Handle (the same bytes the WASM host
// exchanges), compares answers with golden files (go test -update rewrites
// them), checks settings.yaml against a real YAML reader, and reads LAVA's
// rendered device configurations from the shared corpus.
//
// Tests only: it is never linked into a driver.
package goldentest
