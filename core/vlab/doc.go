// Package vlab knows the virtual lab's arm64 board: the images `make
// vlab-images` (scripts/vlab/images.sh) builds into a cache folder, and the
// QEMU command line that runs them (qemu-system-aarch64 -M virt, cortex-a57,
// Debian's U-Boot as firmware, its environment in pflash unit 1, a
// virtio-net card on QEMU's user network). It also holds the facts a test
// or a dispatcher needs to drive the board: U-Boot's prompts and addresses
// and the initramfs shell prompt.
//
// The package starts no process itself: callers run the command line (the
// dispatcher through a device dictionary and scripts/vlab/board.sh, the
// tests through core/console). It imports the standard library only and must
// not import anything else of the project.
package vlab
