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
	return pcboot.New("qemu-ipxe-x86_64", version,
		"Virtual x86_64 PC: QEMU pc with SeaBIOS and the iPXE network ROM, booted over TFTP with LAVA's ipxe method (x86.jinja2)",
		settings, "ipxe")
}

func main() { sdk.Run(driver()) }
