package main

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/lavalab/lavalab/devicetypes/internal/ubootboard"
	"github.com/lavalab/lavalab/sdk"
)

// unsetSerial is LAVA's placeholder for a serial number a dictionary does
// not give.
const unsetSerial = "0000000000"

// fastbootTool builds LAVA's fastboot command lines: fastboot -s SERIAL
// <command...> <fastboot_options...>.
type fastbootTool struct {
	run     runner
	serial  string
	options []string
}

func newFastboot(a sdk.Action, s sdk.Values) (fastbootTool, error) {
	serial := s.String("fastboot_serial_number", unsetSerial)
	if serial == "" || serial == unsetSerial {
		return fastbootTool{}, sdk.Errorf(sdk.ErrorConfiguration, "device fastboot serial number unset: the device dictionary gives no fastboot_serial_number")
	}
	r, err := newRunner(a, s, "")
	if err != nil {
		return fastbootTool{}, err
	}
	return fastbootTool{run: r, serial: serial, options: s.Strings("fastboot_options")}, nil
}

// step is `fastboot -s SERIAL cmd... options...`; files are the worker's
// files cmd names (bind-mounted into a container).
func (f fastbootTool) step(label string, cmd []string, files ...string) sdk.Step {
	argv := append([]string{"fastboot", "-s", f.serial}, cmd...)
	argv = append(argv, f.options...)
	return f.run.step(label, argv, files...)
}

// adb is `adb -s ADB_SERIAL cmd...`.
func adb(r runner, s sdk.Values, label string, cmd ...string) (sdk.Step, error) {
	serial := s.String("adb_serial_number", unsetSerial)
	if serial == "" || serial == unsetSerial {
		return sdk.Step{}, sdk.Errorf(sdk.ErrorConfiguration, "device adb serial number unset: the device dictionary gives no adb_serial_number")
	}
	return r.step(label, append([]string{"adb", "-s", serial}, cmd...)), nil
}

// enterFastboot puts the board into fastboot mode as LAVA does: through
// U-Boot when fastboot_deploy_uboot_commands are set (connect, power cycle,
// interrupt U-Boot, the commands), else by power when the dictionary has a
// hard_reset_command (connect, pre-power in a deploy, reset), else with
// `adb reboot-bootloader` (LAVA first asks adb and fastboot which mode the
// board is in; a plan cannot branch, so the adb step may fail when the
// board already is in fastboot: its failure is logged and ignored).
func enterFastboot(r runner, s sdk.Values, deploy bool) ([]sdk.Step, error) {
	if cmds := s.Strings("fastboot_deploy_uboot_commands"); len(cmds) > 0 {
		steps := []sdk.Step{connect()}
		steps = append(steps, powerCycle(s)...)
		prompt := s.String("bootloader_prompt", "=>")
		steps = append(steps,
			sdk.Step{Kind: sdk.StepInterrupt, Name: "bootloader-interrupt", Interrupt: &sdk.InterruptStep{
				Prompt: s.String("interrupt_prompt", "Hit any key to stop autoboot"), Char: s.String("interrupt_char", ""),
				Newline: true, BootloaderPrompt: prompt, Errors: ubootboard.ErrorMessages(s),
			}},
			sdk.Step{Kind: sdk.StepCommands, Name: "enter-fastboot-uboot", Commands: &sdk.CommandsStep{
				Commands: cmds, Prompt: prompt, CharDelayMS: s.Int("boot_character_delay", 0),
			}})
		return steps, nil
	}
	if has(s, "hard_reset_command") {
		steps := []sdk.Step{connect()}
		if deploy && has(s, "pre_power_command") {
			steps = append(steps, power(sdk.PowerPrePower, "pre-power-command"))
		}
		return append(steps, power(sdk.PowerReset, "reset-device")), nil
	}
	st, err := adb(r, s, "enter-fastboot-action", "reboot-bootloader")
	if err != nil {
		return nil, err
	}
	st.OnFailure = &sdk.Failure{Policy: sdk.FailIgnore}
	return []sdk.Step{st}, nil
}

// flashOrder is LAVA's flash order: flash_cmds_order's names that the job
// gives images for, then the job's other images (in name order: LAVA takes
// them from a set).
func flashOrder(names []string, order []string) []string {
	var out []string
	for _, n := range order {
		if slices.Contains(names, n) && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	var rest []string
	for _, n := range names {
		if !slices.Contains(order, n) {
			rest = append(rest, n)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}

// deployFastboot plans deploy `to: fastboot`: the worker has downloaded (and
// decompressed) every image; the board goes into fastboot mode, then each
// image is flashed to the partition of its name in flash order, with the
// image's `reboot` after it.
func deployFastboot(req sdk.PlanRequest, s sdk.Values) ([]sdk.Step, error) {
	a := req.Action
	names, err := images(a)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if a.Params.Map("images").Map(n).Bool("apply-overlay", false) {
			// The host logs a driver's stderr lines.
			fmt.Fprintf(os.Stderr, "images.%s: apply-overlay: the image is flashed as it is; the test shell sends the overlay over the board's shell\n", n)
		}
	}
	fb, err := newFastboot(a, s)
	if err != nil {
		return nil, err
	}
	steps := fb.run.prepare()
	enter, err := enterFastboot(fb.run, s, true)
	if err != nil {
		return nil, err
	}
	steps = append(steps, enter...)
	noFlashBoot := slices.Contains(s.Strings("fastboot_sequence"), "no-flash-boot")
	for _, n := range flashOrder(names, s.Strings("flash_cmds_order")) {
		if noFlashBoot && n == "boot" {
			continue // the boot image is booted with `fastboot boot`, not flashed
		}
		path, err := imagePath(req, n)
		if err != nil {
			return nil, err
		}
		steps = append(steps, fb.step("fastboot-flash-action", []string{"flash", n, path}, path))
		switch rb := a.Params.Map("images").Map(n).String("reboot", ""); rb {
		case "":
		case "fastboot-reboot":
			steps = append(steps, fb.step("fastboot-reboot", []string{"reboot"}))
		case "fastboot-reboot-bootloader":
			steps = append(steps, fb.step("fastboot-reboot-bootloader", []string{"reboot-bootloader"}))
		case "fastboot-reboot-fastboot":
			steps = append(steps, fb.step("fastboot-reboot-fastboot", []string{"reboot", "fastboot"}))
		case "hard-reset":
			steps = append(steps, power(sdk.PowerReset, "pdu-reboot"))
		default:
			return nil, sdk.Errorf(sdk.ErrorJob, "images.%s: reboot %q is not one of fastboot-reboot, fastboot-reboot-bootloader, fastboot-reboot-fastboot, hard-reset", n, rb)
		}
	}
	return steps, nil
}

// splitArgs splits a command of a boot action's `commands` into words as
// Python's shlex.split does for the common cases: blanks separate words,
// single and double quotes group, a backslash escapes outside single quotes.
func splitArgs(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inWord := false
	var quote rune
	esc := false
	for _, r := range s {
		switch {
		case esc:
			cur.WriteRune(r)
			esc = false
		case quote == '\'':
			if r == '\'' {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\\':
			esc, inWord = true, true
		case quote == '"':
			if r == '"' {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				out = append(out, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 || esc {
		return nil, sdk.Errorf(sdk.ErrorJob, "command %q: unterminated quote or escape", s)
	}
	if inWord {
		out = append(out, cur.String())
	}
	return out, nil
}

// bootFastboot plans boot `method: fastboot`: the job's fastboot commands,
// the board into fastboot mode, the dictionary's fastboot_sequence (boot the
// boot image with `fastboot boot`, or `fastboot reboot` into the flashed
// OS), then the console prompt (boards with power control) or adb's shell.
func bootFastboot(req sdk.PlanRequest, s sdk.Values) ([]sdk.Step, error) {
	a := req.Action
	fb, err := newFastboot(a, s)
	if err != nil {
		return nil, err
	}
	steps := fb.run.prepare()
	for _, c := range a.Params.Strings("commands") {
		words, err := splitArgs(c)
		if err != nil {
			return nil, err
		}
		if len(words) == 0 {
			continue
		}
		steps = append(steps, fb.step("fastboot-boot-commands", words))
	}
	enter, err := enterFastboot(fb.run, s, false)
	if err != nil {
		return nil, err
	}
	steps = append(steps, enter...)
	hardReset := has(s, "hard_reset_command")
	tailDone := false
	for _, seq := range s.Strings("fastboot_sequence") {
		switch seq {
		case "boot", "no-flash-boot":
			path, err := imagePath(req, "boot")
			if err != nil {
				return nil, sdk.Errorf(sdk.ErrorJob, "fastboot_sequence %s boots the boot image: %v", seq, err)
			}
			steps = append(steps, fb.step("boot-fastboot", []string{"boot", path}, path))
		case "reboot":
			steps = append(steps, fb.step("fastboot-reboot", []string{"reboot"}))
		case "auto-login", "shell-session":
			if !tailDone {
				tail, err := promptsTail(a, s)
				if err != nil {
					return nil, err
				}
				steps = append(steps, tail...)
				tailDone = true
			}
		case "overlay-unpack", "export-env":
			// The test shell sends the overlay and the environment itself.
		default:
			return nil, sdk.Errorf(sdk.ErrorConfiguration, "fastboot_sequence: unknown boot sequence %q (boot, no-flash-boot, reboot, auto-login, overlay-unpack, shell-session, export-env)", seq)
		}
	}
	if hardReset {
		if fb.run.engine == "" && has(s, "pre_os_command") {
			steps = append(steps, power(sdk.PowerPreOS, "pre-os-command"))
		}
	} else if fb.run.engine == "" {
		// LAVA's ConnectAdb: the test shell is adb's shell on the board.
		st, err := adb(fb.run, s, "connect-adb", "shell")
		if err != nil {
			return nil, err
		}
		steps = append(steps, sdk.Step{Kind: sdk.StepConnect, Name: "connect-adb", Connect: &sdk.ConnectStep{Tool: st.Tool}})
	}
	if !tailDone {
		tail, err := promptsTail(a, s)
		if err != nil {
			return nil, err
		}
		steps = append(steps, tail...)
	}
	return steps, nil
}
