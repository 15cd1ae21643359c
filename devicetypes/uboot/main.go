package main

import (
	_ "embed"
	"slices"

	"github.com/lavalab/lavalab/devicetypes/internal/ubootboard"
	"github.com/lavalab/lavalab/sdk"
	"github.com/lavalab/lavalab/sdk/uboot"
)

//go:embed settings.yaml
var settings []byte

// version is the driver's version, reported by describe.
const version = "1.0.0"

func driver() ubootboard.Board {
	b := ubootboard.New("uboot", version, "Generic board booted by U-Boot over TFTP, driven only by its settings (LAVA's base-uboot)", settings)
	b.Adjust = adjust
	return b
}

// adjust reads the settings as LAVA's base-uboot.jinja2 does: its
// defaults are LAVA's, so a variable set to an empty value is printed
// empty, not defaulted (issue 16).
func adjust(t *uboot.Template, s sdk.Values) {
	for _, k := range []string{"base_ip_args", "uboot_initrd_high", "uboot_fdt_high"} {
		if v, ok := s[k].(string); ok && v == "" {
			t.Empty = append(t.Empty, k)
		}
	}
	if t.Empty != nil && slices.Contains(t.Empty, "base_ip_args") {
		t.IPArgs = ""
	}
	// uboot_tftp_commands defaults to LAVA's four load commands, which the
	// layout follows with the dtb load; a list set empty loads nothing.
	switch tftp := s.Strings("uboot_tftp_commands"); {
	case slices.Equal(tftp, lavaTFTPCommands):
		t.TFTPCommands = nil
	case tftp != nil && len(tftp) == 0:
		t.TFTPCommands = []string{}
	}
}

// lavaTFTPCommands is base-uboot.jinja2's uboot_tftp_commands default
// before the dtb load (the settings.yaml default).
var lavaTFTPCommands = []string{"tftp {KERNEL_ADDR} {KERNEL}", "tftp {RAMDISK_ADDR} {RAMDISK}", "tftp {TEE_ADDR} {TEE}", "setenv initrd_size ${filesize}"}

func main() { sdk.Run(driver()) }
