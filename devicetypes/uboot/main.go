package main

import (
	_ "embed"
	"slices"
	"strings"

	"github.com/lavalab/lavalab/devicetypes/internal/ubootboard"
	"github.com/lavalab/lavalab/sdk"
	"github.com/lavalab/lavalab/sdk/uboot"
)

//go:embed settings.yaml
var settings []byte

// version is the driver's version, reported by describe.
const version = "1.0.0"

// board is the generic U-Boot board: ubootboard.Board reading its prompts
// as LAVA's base-uboot.jinja2 renders them.
type board struct{ ubootboard.Board }

func driver() board {
	b := ubootboard.New("uboot", version, "Generic board booted by U-Boot over TFTP, driven only by its settings (LAVA's base-uboot)", settings)
	b.Adjust = adjust
	return board{b}
}

// Plan plans as the U-Boot board does, with the prompts and interrupt
// character LAVA's device configuration ends up with (issue 16):
// base-uboot.jinja2 writes bootloader_prompt and interrupt_prompt as plain
// YAML scalars (trailing spaces and a " #..." comment are lost:
// "=> " is "=>", "Highbank #" is "Highbank") and interrupt_char in double
// quotes (a newline folds to a space).
func (b board) Plan(req sdk.PlanRequest) (sdk.Plan, error) {
	if req.Action.Kind == sdk.ActionBoot && req.Settings != nil {
		s := make(sdk.Values, len(req.Settings))
		for k, v := range req.Settings {
			s[k] = v
		}
		for _, k := range []string{"bootloader_prompt", "interrupt_prompt"} {
			if v, ok := s[k].(string); ok {
				s[k] = yamlPlain(v)
			}
		}
		if v, ok := s["interrupt_char"].(string); ok && strings.Contains(v, "\n") {
			s["interrupt_char"] = yamlFold(v)
		}
		req.Settings = s
	}
	return b.Board.Plan(req)
}

// yamlPlain is what YAML reads back from v written as a plain scalar.
func yamlPlain(v string) string {
	if i := strings.Index(v, " #"); i >= 0 {
		v = v[:i]
	}
	return strings.TrimSpace(v)
}

// yamlFold is what YAML reads back from v written in double quotes: each
// line break between lines folds to a space.
func yamlFold(v string) string {
	lines := strings.Split(v, "\n")
	for i := range lines {
		if i > 0 {
			lines[i] = strings.TrimLeft(lines[i], " \t")
		}
		if i < len(lines)-1 {
			lines[i] = strings.TrimRight(lines[i], " \t")
		}
	}
	return strings.Join(lines, " ")
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
