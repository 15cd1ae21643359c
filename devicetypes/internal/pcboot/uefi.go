package pcboot

// Issue 17: LAVA's uefi-menu and uefi (UEFI shell) boot methods.

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/lavalab/lavalab/devicetypes/internal/drv"
	"github.com/lavalab/lavalab/devicetypes/internal/ubootboard"
	"github.com/lavalab/lavalab/sdk"
)

// Defaults of the uefi-menu parameters: LAVA's base.jinja2 (the ARM BDS
// menu of its juno-uefi and mustang-uefi device types).
const (
	DefaultMenuInterruptPrompt = "The default boot selection will start in"
	DefaultMenuInterruptString = " "
	DefaultMenuItemClass       = "0-9"
	DefaultMenuSeparator       = " "
	DefaultMenuLabelClass      = `a-zA-Z0-9\s\:`
	DefaultMenuPrompt          = "Start:"
)

// Defaults of the uefi (shell) parameters: LAVA's vexpress.jinja2.
const (
	DefaultShellPrompt          = "Shell>"
	DefaultShellInterruptPrompt = "any other key to continue"
	DefaultShellInterruptString = " "
	DefaultShellMenuBootMessage = "UEFI Interactive Shell"
)

// MenuBlocks reads a LAVA uefi-menu command list: a list of
// {select: {items, fallback, escape, enter, wait}}.
func MenuBlocks(list any) ([]sdk.MenuBlock, error) {
	l, ok := list.([]any)
	if !ok {
		return nil, fmt.Errorf("a menu command list is a list of {select: ...}, got %T", list)
	}
	var out []sdk.MenuBlock
	for i, x := range l {
		m, _ := x.(map[string]any)
		sel, ok := m["select"].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("menu entry %d: no select: %v", i+1, x)
		}
		var b sdk.MenuBlock
		for k, v := range sel {
			switch k {
			case "items":
				items, ok := v.([]any)
				if !ok {
					return nil, fmt.Errorf("menu entry %d: items is not a list", i+1)
				}
				for _, it := range items {
					b.Items = append(b.Items, fmt.Sprint(it))
				}
			case "fallback":
				b.Fallback = fmt.Sprint(v)
			case "wait":
				b.Wait = fmt.Sprint(v)
			case "escape":
				b.Escape = true
			case "enter":
				e := ""
				if v != nil {
					e = fmt.Sprint(v)
				}
				b.Enter = &e
			case "prompt":
				// LAVA accepts and ignores it.
			default:
				return nil, fmt.Errorf("menu entry %d: unknown key %q (items, fallback, escape, enter, wait)", i+1, k)
			}
		}
		if len(b.Items) == 0 && !b.Escape && b.Enter == nil {
			return nil, fmt.Errorf("menu entry %d selects nothing: %v", i+1, sel)
		}
		out = append(out, b)
	}
	return out, nil
}

// substituteBlocks fills LAVA's placeholders into the items and the enter
// texts (LAVA's uefi-commands action), TEST_MENU_NAME with "LAVA <name>
// test image".
func substituteBlocks(blocks []sdk.MenuBlock, name string, j Job) ([]sdk.MenuBlock, error) {
	sub := func(s string) (string, error) {
		s = strings.ReplaceAll(s, "TEST_MENU_NAME", "LAVA "+name+" test image")
		out, err := Substitute([]string{s}, j)
		if err != nil {
			return "", err
		}
		return out[0], nil
	}
	out := make([]sdk.MenuBlock, len(blocks))
	for i, b := range blocks {
		b.Items = slices.Clone(b.Items)
		for k, it := range b.Items {
			v, err := sub(it)
			if err != nil {
				return nil, err
			}
			b.Items[k] = v
		}
		if b.Enter != nil {
			v, err := sub(*b.Enter)
			if err != nil {
				return nil, err
			}
			b.Enter = &v
		}
		out[i] = b
	}
	return out, nil
}

// namedList returns the menu command list `name` of a setting holding
// LAVA's named lists ({name: [...]}).
func namedList(s sdk.Values, key, method, name string) ([]sdk.MenuBlock, error) {
	lists := s.Map(key)
	l, ok := lists[name]
	if !ok {
		names := make([]string, 0, len(lists))
		for k := range lists {
			names = append(names, k)
		}
		sort.Strings(names)
		return nil, sdk.Errorf(sdk.ErrorJob, "boot method %s has no command list %q (this device has %v)", method, name, names)
	}
	blocks, err := MenuBlocks(l)
	if err != nil {
		return nil, sdk.Errorf(sdk.ErrorConfiguration, "%s %s: %v", key, name, err)
	}
	return blocks, nil
}

// menuStep is the menu step of the uefi-menu parameters in s.
func menuStep(s sdk.Values, blocks []sdk.MenuBlock) (*sdk.MenuStep, error) {
	m := &sdk.MenuStep{
		Style:       s.String("menu_style", sdk.MenuNumbered),
		CharDelayMS: s.Int("boot_character_delay", 0),
		Blocks:      blocks,
		Errors:      wholeLines(s.Strings("uefi_menu_error_messages")),
	}
	switch ls := s.String("line_separator", "dos"); ls {
	case "dos":
		m.LineSeparator = "\r\n"
	case "unix":
		m.LineSeparator = "\n"
	default:
		return nil, sdk.Errorf(sdk.ErrorConfiguration, "line_separator %q: dos or unix", ls)
	}
	if m.Style == sdk.MenuNumbered {
		m.ItemMarkup = s.Strings("item_markup")
		if len(m.ItemMarkup) == 0 {
			m.ItemMarkup = []string{"[", "]"}
		}
		m.ItemClass = s.String("item_class", DefaultMenuItemClass)
		m.Separator = s.String("item_separator", DefaultMenuSeparator)
		m.LabelClass = s.String("label_class", DefaultMenuLabelClass)
	}
	if err := m.Validate(); err != nil {
		return nil, sdk.Errorf(sdk.ErrorConfiguration, "%v", err)
	}
	return m, nil
}

// UEFIMenuPlan plans LAVA's uefi-menu boot: reset, wait for
// interrupt_prompt and send interrupt_string until the menu's first prompt,
// walk the job's command list of the device's menu lists (select items by
// their text, type the enter texts, wait for each wait), then the kernel's
// boot_message, login and the shell.
func UEFIMenuPlan(req sdk.PlanRequest, s sdk.Values) (sdk.Plan, error) {
	name, ok := req.Action.Params["commands"].(string)
	if !ok || name == "" {
		return sdk.Plan{}, sdk.Errorf(sdk.ErrorJob, "boot method uefi-menu needs `commands`: the name of one of the device's menu lists (a uefi menu takes no list of its own)")
	}
	blocks, err := namedList(s, "uefi_menu_commands", "uefi-menu", name)
	if err != nil {
		return sdk.Plan{}, err
	}
	j := JobFrom(req.Worker)
	if blocks, err = substituteBlocks(blocks, name, j); err != nil {
		return sdk.Plan{}, err
	}
	m, err := menuStep(s, blocks)
	if err != nil {
		return sdk.Plan{}, err
	}
	intr := sdk.InterruptStep{
		Prompt:           s.String("interrupt_prompt", DefaultMenuInterruptPrompt),
		Char:             s.String("interrupt_string", DefaultMenuInterruptString),
		BootloaderPrompt: s.String("uefi_menu_bootloader_prompt", DefaultMenuPrompt),
		Errors:           m.Errors,
	}
	var steps []sdk.Step
	// LAVA: a list named for fastboot neither connects nor resets: the
	// board is already up on the connection of the fastboot deploy.
	if !strings.Contains(name, "fastboot") {
		steps = append(steps, sdk.Step{Kind: sdk.StepConnect, Name: "menu-connect", Connect: &sdk.ConnectStep{Connection: sdk.DefaultConnection}})
		steps = append(steps, ubootboard.PowerCycle(s)...)
	}
	steps = append(steps,
		sdk.Step{Kind: sdk.StepInterrupt, Name: "uefi-menu-interrupt", Interrupt: &intr},
		sdk.Step{Kind: sdk.StepMenu, Name: "uefi-menu-selector", Menu: m})
	// LAVA waits for boot_message when the device has one (base.jinja2:
	// "Loaded: LinuxImage"); without it, here the kernel's start message.
	start := s.String("boot_message", "")
	if start == "" {
		start = s.String("kernel_start_message", "Linux version [0-9]")
	}
	tail, err := bootTail(req, s, start, m.Errors)
	if err != nil {
		return sdk.Plan{}, err
	}
	return sdk.Plan{Steps: append(steps, tail...)}, nil
}

// bootTail waits for the kernel's start message (failing on a kernel panic
// and the board's errors), then logs in and waits for the shell.
func bootTail(req sdk.PlanRequest, s sdk.Values, start string, errs []string) ([]sdk.Step, error) {
	pats := []sdk.Pattern{{Regex: start}, {Regex: "Kernel panic - not syncing", Fail: true, Message: "kernel panic"}}
	for _, e := range errs {
		pats = append(pats, sdk.Pattern{Regex: e, Fail: true, Message: "bootloader error"})
	}
	steps := []sdk.Step{{Kind: sdk.StepExpect, Name: "kernel-start", Expect: &sdk.ExpectStep{Patterns: pats}}}
	tail, err := drv.BootTail(req.Action.Params, s, false)
	if err != nil {
		return nil, err
	}
	return append(steps, tail...), nil
}

// UEFIShellPlan plans LAVA's uefi boot (the UEFI shell): reset; when the
// device has a shell_menu, interrupt the firmware's menu and walk that
// list to start the shell, waiting for menu_boot_message; then wait for
// shell_interrupt_prompt, send shell_interrupt_string, and at the
// bootloader_prompt (Shell>) send the commands (each ended by "\r", LAVA's
// UEFI line separator), then the kernel, login and the shell.
func UEFIShellPlan(req sdk.PlanRequest, s sdk.Values) (sdk.Plan, error) {
	name, cmds, err := commandList("uefi", req.Action.Params)
	if err != nil {
		return sdk.Plan{}, err
	}
	if cmds == nil {
		lists := s.Map("uefi_shell_commands")
		l, ok := lists[name]
		if !ok {
			names := make([]string, 0, len(lists))
			for k := range lists {
				names = append(names, k)
			}
			sort.Strings(names)
			return sdk.Plan{}, sdk.Errorf(sdk.ErrorJob, "boot method uefi has no command list %q (this device has %v)", name, names)
		}
		cmds = sdk.Values{"l": l}.Strings("l")
		if len(cmds) == 0 {
			return sdk.Plan{}, sdk.Errorf(sdk.ErrorConfiguration, "uefi_shell_commands %s: not a list of commands", name)
		}
	}
	j := JobFrom(req.Worker)
	if j.ServerIP == "" {
		return sdk.Plan{}, sdk.Errorf(sdk.ErrorInfrastructure, "the worker gave no server_ip for {SERVER_IP}")
	}
	if s.Bool("uefi_shell_backslash_paths", false) {
		// Not LAVA's: the UEFI shell takes only "\" in a program's path.
		for _, p := range []*string{&j.Kernel, &j.Ramdisk, &j.DTB} {
			*p = strings.ReplaceAll(*p, "/", `\`)
		}
	}
	if cmds, err = Substitute(cmds, j); err != nil {
		return sdk.Plan{}, err
	}
	for i, c := range cmds {
		cmds[i] = c + "\r"
	}
	errs := wholeLines(s.Strings("uefi_shell_error_messages"))
	prompt := s.String("uefi_shell_prompt", DefaultShellPrompt)
	steps := []sdk.Step{{Kind: sdk.StepConnect, Name: "menu-connect", Connect: &sdk.ConnectStep{Connection: sdk.DefaultConnection}}}
	steps = append(steps, ubootboard.PowerCycle(s)...)
	menu := req.Action.Params.String("shell_menu", s.String("shell_menu", ""))
	if menu != "" {
		blocks, err := namedList(s, "uefi_shell_menu_commands", "uefi", menu)
		if err != nil {
			return sdk.Plan{}, err
		}
		m, err := menuStep(s, blocks)
		if err != nil {
			return sdk.Plan{}, err
		}
		steps = append(steps,
			sdk.Step{Kind: sdk.StepInterrupt, Name: "uefi-shell-menu-interrupt", Interrupt: &sdk.InterruptStep{
				Prompt:           s.String("interrupt_prompt", DefaultMenuInterruptPrompt),
				Char:             s.String("interrupt_string", DefaultMenuInterruptString),
				BootloaderPrompt: s.String("menu_prompt", DefaultMenuPrompt),
				Errors:           errs,
			}},
			sdk.Step{Kind: sdk.StepMenu, Name: "uefi-shell-menu-selector", Menu: m},
			sdk.Step{Kind: sdk.StepExpect, Name: "uefi-shell-menu-boot-message", Expect: &sdk.ExpectStep{
				Patterns: []sdk.Pattern{{Regex: s.String("menu_boot_message", DefaultShellMenuBootMessage)}}}})
	}
	steps = append(steps,
		sdk.Step{Kind: sdk.StepInterrupt, Name: "uefi-shell-interrupt", Interrupt: &sdk.InterruptStep{
			Prompt:           s.String("shell_interrupt_prompt", DefaultShellInterruptPrompt),
			Char:             s.String("shell_interrupt_string", DefaultShellInterruptString),
			BootloaderPrompt: prompt,
			Errors:           errs,
		}},
		sdk.Step{Kind: sdk.StepCommands, Name: "bootloader-commands", Commands: &sdk.CommandsStep{
			Commands: cmds, Prompt: prompt, CharDelayMS: s.Int("boot_character_delay", 0), Errors: errs,
		}})
	start := s.String("boot_message", "")
	if start == "" {
		start = s.String("kernel_start_message", "Linux version")
	}
	tail, err := bootTail(req, s, start, errs)
	if err != nil {
		return sdk.Plan{}, err
	}
	return sdk.Plan{Steps: append(steps, tail...)}, nil
}
