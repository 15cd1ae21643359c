package main

import (
	_ "embed"

	"github.com/lavalab/lavalab/devicetypes/internal/pcboot"
	"github.com/lavalab/lavalab/sdk"
)

//go:embed settings.yaml
var settings []byte

// version is the driver's version, reported by describe.
const version = "1.0.0"

func driver() pcboot.Board {
	return pcboot.New("qemu-grub-x86_64", version,
		"Virtual x86_64 PC: QEMU with SeaBIOS network-booting GRUB, booted over TFTP with LAVA's grub method (base-grub.jinja2)",
		settings, "grub")
}

func main() { sdk.Run(driver()) }
