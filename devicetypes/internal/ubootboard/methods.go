package ubootboard

// Issue 17: the bootloader and minimal boot methods of the U-Boot boards.

import (
	"github.com/lavalab/lavalab/devicetypes/internal/drv"
	"github.com/lavalab/lavalab/sdk"
)

// bootloader plans LAVA's `bootloader` boot method: power-cycle the board,
// stop U-Boot at its prompt and send the job's own commands (after LAVA's
// substitution), each waiting for the prompt again, and leave the board at
// the prompt: no kernel is waited for (an interactive test follows).
func (b Board) bootloader(req sdk.PlanRequest, s sdk.Values) (sdk.Plan, error) {
	p := req.Action.Params
	if bl := p.String("bootloader", ""); bl != "u-boot" {
		return sdk.Plan{}, sdk.Errorf(sdk.ErrorJob, "boot method bootloader needs `bootloader: u-boot` on device type %s (got %q)", b.Name, bl)
	}
	var cmds []string
	if p.Has("commands") {
		if _, ok := p["commands"].([]any); !ok {
			return sdk.Plan{}, sdk.Errorf(sdk.ErrorJob, "boot method bootloader: `commands` must be a list of U-Boot commands")
		}
		var err error
		if cmds, err = b.Commands(req, s); err != nil {
			return sdk.Plan{}, err
		}
	}
	steps, prompt, errs := toPrompt(s)
	if len(cmds) > 0 {
		// The last command's prompt too: the board is left at it.
		steps = append(steps,
			sdk.Step{Kind: sdk.StepCommands, Name: "bootloader-commands", Commands: &sdk.CommandsStep{
				Commands: cmds, Prompt: prompt, CharDelayMS: s.Int("boot_character_delay", 0), Errors: errs, Final: []string{prompt},
			}})
	}
	return sdk.Plan{Steps: steps}, nil
}

// Minimal plans LAVA's `minimal` boot method: open the console, run the
// pre-power and pre-OS commands when the job asks (pre_power_command,
// pre_os_command: true), power-cycle the board unless `reset: false`, then
// log in (auto_login) and wait for the job's prompts. Nothing is sent to a
// bootloader: the board boots what it has.
func Minimal(p, s sdk.Values) (sdk.Plan, error) {
	steps := []sdk.Step{{Kind: sdk.StepConnect, Name: "connect-device", Connect: &sdk.ConnectStep{Connection: sdk.DefaultConnection}}}
	if p.Bool("pre_power_command", false) {
		steps = append(steps, powerStep(sdk.PowerPrePower, "pre-power-command"))
	}
	if p.Bool("pre_os_command", false) {
		steps = append(steps, powerStep(sdk.PowerPreOS, "pre-os-command"))
	}
	if p.Bool("reset", true) {
		for _, st := range PowerCycle(s) {
			if st.Power.Op != sdk.PowerPrePower || !p.Bool("pre_power_command", false) {
				steps = append(steps, st)
			}
		}
	}
	tail, err := drv.BootTail(p, s, false)
	if err != nil {
		return sdk.Plan{}, err
	}
	return sdk.Plan{Steps: append(steps, tail...)}, nil
}
