package main

import (
	_ "embed"

	"github.com/lavalab/lavalab/devicetypes/internal/ubootboard"
	"github.com/lavalab/lavalab/sdk"
	"github.com/lavalab/lavalab/sdk/uboot"
)

//go:embed settings.yaml
var settings []byte

// version is the driver's version, reported by describe (a var so a
// build can set it: -ldflags "-X main.version=1.1.0").
var version = "1.0.0"

func driver() ubootboard.Board {
	b := ubootboard.New("soca9", version, "Altera/Intel Cyclone V SoC board booted by U-Boot over TFTP (bootz, arm uImages)", settings)
	b.Adjust = adjust
	return b
}

func main() { sdk.Run(driver()) }

// adjust is soca9.jinja2's kernel arguments: the board's own root arguments,
// then the job's or dictionary's extra_kernel_args after them (where the
// base template would replace them).
func adjust(t *uboot.Template, s sdk.Values) {
	base := s.String("base_kernel_args", "")
	if extra := s.String("extra_kernel_args", ""); extra != "" {
		t.KernelArgs = base + " " + extra
	} else {
		t.KernelArgs = base
	}
}
