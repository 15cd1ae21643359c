package vlab

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
)

// Facts of the board, as its U-Boot and initramfs print and use them.
const (
	// InterruptPrompt is what U-Boot prints while it counts down to autoboot.
	InterruptPrompt = "Hit any key to stop autoboot"
	// UBootPrompt is U-Boot's command prompt (a regular expression).
	UBootPrompt = "=> "
	// ShellPrompt is the initramfs shell's prompt (a regular expression).
	ShellPrompt = `vlab:[^\n]*# `
	// KernelAddr, RamdiskAddr are U-Boot's kernel_addr_r and ramdisk_addr_r.
	KernelAddr  = "0x40400000"
	RamdiskAddr = "0x44000000"
	// GuestIP is the board's address on QEMU's user network; HostIP is
	// QEMU's gateway, where its built-in TFTP server answers.
	GuestIP = "10.0.2.15"
	HostIP  = "10.0.2.2"
	// KernelTFTP, InitramfsTFTP and UInitrdTFTP are the images' paths
	// relative to Images.TFTPRoot.
	KernelTFTP    = "arm64/Image"
	InitramfsTFTP = "arm64/initramfs.cpio.gz"
	UInitrdTFTP   = "arm64/uInitrd"
	// BootArgs is a kernel command line that gives the shell on the console.
	BootArgs = "console=ttyAMA0,115200 rdinit=/init"
)

// CacheDir is where `make vlab-images` builds the images:
// $LAVALAB_VLAB_CACHE, else <user cache dir>/lavalab/vlab.
func CacheDir() (string, error) {
	if d := os.Getenv("LAVALAB_VLAB_CACHE"); d != "" {
		return d, nil
	}
	base, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("vlab: cache folder: %w", err)
	}
	return filepath.Join(base, "lavalab", "vlab"), nil
}

// Images are the files of a built cache folder.
type Images struct {
	// Dir is the cache folder.
	Dir string
	// UBoot is U-Boot for -bios; EnvImage the 64 MiB pflash image holding
	// its environment.
	UBoot, EnvImage string
	// TFTPRoot holds KernelTFTP, InitramfsTFTP and UInitrdTFTP.
	TFTPRoot string
}

// Open returns the images of the cache folder dir, or an error naming the
// first file that is missing.
func Open(dir string) (Images, error) {
	im := Images{
		Dir:      dir,
		UBoot:    filepath.Join(dir, "u-boot.bin"),
		EnvImage: filepath.Join(dir, "uboot-env.img"),
		TFTPRoot: filepath.Join(dir, "tftp"),
	}
	if _, err := os.Stat(filepath.Join(dir, "stamp")); err != nil {
		return Images{}, fmt.Errorf("vlab: %s is not a built image cache (run make vlab-images): %w", dir, err)
	}
	for _, f := range []string{im.UBoot, im.EnvImage, im.File(KernelTFTP), im.File(InitramfsTFTP), im.File(UInitrdTFTP)} {
		if _, err := os.Stat(f); err != nil {
			return Images{}, fmt.Errorf("vlab: image missing (run make vlab-images): %w", err)
		}
	}
	return im, nil
}

// File returns the path of a TFTP-relative image name.
func (im Images) File(tftpPath string) string {
	return filepath.Join(im.TFTPRoot, filepath.FromSlash(tftpPath))
}

// Build runs scripts/vlab/images.sh of the repository at repoRoot for the
// cache folder dir (which installs missing host packages when run as root)
// and opens the result. A complete cache makes it return at once.
func Build(ctx context.Context, repoRoot, dir string) (Images, error) {
	script := filepath.Join(repoRoot, "scripts", "vlab", "images.sh")
	cmd := exec.CommandContext(ctx, "bash", script, "--cache", dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return Images{}, fmt.Errorf("vlab: %s: %w\n%s", script, err, out)
	}
	return Open(dir)
}

// Board is one QEMU run of the arm64 board.
type Board struct {
	Images Images
	// MemoryMB is the guest RAM (512 when 0).
	MemoryMB int
	// NoEnv boots U-Boot with its built-in environment (no env flash).
	NoEnv bool
	// Serial is the -chardev definition of the console, with id=ser0
	// ("socket,id=ser0,host=127.0.0.1,port=18110,server=on,wait=on" or
	// "stdio,id=ser0,signal=off").
	Serial string
	// Netdev is the -netdev definition of the network card, with id=n0;
	// "" is QEMU's user network, restricted to its own services, with its
	// TFTP server serving Images.TFTPRoot.
	Netdev string
}

// ErrNoSerial is returned by Args when Board.Serial is empty.
var ErrNoSerial = errors.New("vlab: Board.Serial (the console's -chardev) is empty")

// Args returns the qemu-system-aarch64 arguments (without the program).
func (b Board) Args() ([]string, error) {
	if b.Serial == "" {
		return nil, ErrNoSerial
	}
	mem := b.MemoryMB
	if mem == 0 {
		mem = 512
	}
	netdev := b.Netdev
	if netdev == "" {
		netdev = "user,id=n0,restrict=on,tftp=" + b.Images.TFTPRoot
	}
	args := []string{"-M", "virt", "-cpu", "cortex-a57", "-m", strconv.Itoa(mem), "-smp", "1", "-bios", b.Images.UBoot}
	if !b.NoEnv {
		args = append(args, "-drive", "if=pflash,format=raw,unit=1,readonly=on,file="+b.Images.EnvImage)
	}
	// romfile= : U-Boot drives virtio-net itself; no option ROM (ipxe-qemu) is needed.
	return append(args, "-display", "none", "-monitor", "none",
		"-netdev", netdev, "-device", "virtio-net-pci,netdev=n0,romfile=",
		"-chardev", b.Serial, "-serial", "chardev:ser0"), nil
}
