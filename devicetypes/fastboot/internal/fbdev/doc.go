// Package fbdev is a protocol-level fastboot test device, not a board: a
// fastboot target over TCP (the transport of `fastboot -s tcp:HOST:PORT`:
// the "FB01" handshake, then packets of an 8-byte big-endian length and the
// bytes) written for the tests of the fastboot driver. It answers getvar,
// download, flash:PART (of the partitions it is given; any other is
// refused), erase, reboot, reboot-bootloader, boot and continue, records
// what it received so a test checks the flashed bytes, and has a console
// (a TCP port a job's connection_tcp reads): after boot, reboot or continue
// it "starts its OS", a local shell in a pty on that console, so a job's
// test shell runs.
package fbdev
