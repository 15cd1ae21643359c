package main

import (
	_ "embed"

	"github.com/lavalab/lavalab/devicetypes/internal/ubootboard"
	"github.com/lavalab/lavalab/sdk"
)

//go:embed settings.yaml
var settings []byte

// version is the driver's version, reported by describe.
const version = "1.0.0"

func driver() ubootboard.Board {
	b := ubootboard.New("uboot", version, "Generic board booted by U-Boot over TFTP, driven only by its settings (LAVA's base-uboot)", settings)
	return b
}

func main() { sdk.Run(driver()) }
