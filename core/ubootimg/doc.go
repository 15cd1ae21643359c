// Package ubootimg writes and reads U-Boot legacy image headers (the 64-byte
// header that `mkimage -A <arch> -T <type> -C <comp> -d <file> <out>` puts
// in front of a payload), as LAVA does for `add_header: u-boot` ramdisks.
//
// Writing streams the payload once: the data CRC32 and size are computed
// while the data is copied, and the header is written last (the destination
// is an io.WriteSeeker). Parse and Verify read a header back and check both
// CRCs; they never panic on bad input and are fuzzed.
//
// The dispatcher imports it, not the reverse. Its imports are checked by
// internal/archtest (rules.go).
package ubootimg
