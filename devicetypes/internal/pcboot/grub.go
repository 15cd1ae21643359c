package pcboot

import (
	"github.com/lavalab/lavalab/sdk"
)

// grubNetCommands is LAVA's {{ net_commands }} of base-grub.jinja2. With
// efi_grub: the static address commands when static_ip is set, else
// net_ls_addr when the firmware's PXE configured the network
// (pxe_net_configured), else net_bootp; `insmod efinet` first when efinet.
// Without efi_grub: net_bootp [net_interface].
func grubNetCommands(s sdk.Values, efi bool) []string {
	bootp := "net_bootp"
	if i := s.String("net_interface", ""); i != "" {
		bootp += " " + i
	}
	if !efi {
		return []string{bootp}
	}
	var cmds []string
	switch {
	case s.String("static_ip", "") != "":
		cmds = []string{
			"net_add_addr lava efinet0 " + s.String("static_ip", ""),
			"net_add_route lava 0.0.0.0 gw " + s.String("static_gateway", ""),
			"net_add_dns " + s.String("static_dns", ""),
		}
	case s.Bool("pxe_net_configured", true):
		cmds = []string{"net_ls_addr"}
	default:
		cmds = []string{bootp}
	}
	if s.Bool("efinet", false) {
		cmds = append([]string{"insmod efinet"}, cmds...)
	}
	return cmds
}

// GrubCommands returns the command list `name` of LAVA's base-grub.jinja2
// (ramdisk or nfs), unsubstituted; efi is its efi_grub variable and hasDTB
// its has_dtb.
func GrubCommands(name string, s sdk.Values, efi, hasDTB bool) ([]string, error) {
	kargs, ipargs := KernelArgs(s)
	console := ""
	if dev := s.String("console_device", "ttyS0"); dev != "" {
		console = "console=" + dev + "," + s.String("baud_rate", "115200")
	}
	var dtb []string
	if hasDTB {
		dtb = []string{"clear", "devicetree (tftp,{SERVER_IP})/{DTB}"}
	}
	cmds := grubNetCommands(s, efi)
	switch name {
	case "ramdisk":
		cmds = append(cmds, "clear", "insmod linux", "clear", "insmod tftp", "clear",
			"linux (tftp,{SERVER_IP})/{KERNEL} "+console+" "+ipargs+" "+kargs,
			"clear", "initrd (tftp,{SERVER_IP})/{RAMDISK}")
		cmds = append(cmds, dtb...)
		return append(cmds, "clear", "boot"), nil
	case "nfs":
		cmds = append(cmds, "linux (tftp,{SERVER_IP})/{KERNEL} "+console+" root=/dev/nfs rw "+NFSRootArgs(s)+" "+ipargs+" "+kargs,
			"initrd (tftp,{SERVER_IP})/{RAMDISK}")
		cmds = append(cmds, dtb...)
		return append(cmds, "boot"), nil
	}
	return nil, sdk.Errorf(sdk.ErrorJob, "boot method grub has no command list %q (ramdisk, nfs, or give a list)", name)
}

// GrubPlan plans a boot with LAVA's grub or grub-efi method: reset, wait
// for GRUB's menu and press `c` (grub_autoboot_prompt,
// grub_interrupt_character), then the commands at the grub> prompt.
// grub-efi differs by LAVA's defaults: efi_grub's network commands, the
// newline after the interrupt character, and two more error messages.
// LAVA's grub-efi also walks a UEFI menu to start GRUB first
// (menu_options); these boards start GRUB from their firmware's own boot
// order, so there is no menu to walk.
func GrubPlan(req sdk.PlanRequest, s sdk.Values) (sdk.Plan, error) {
	efi := req.Action.Method == "grub-efi"
	name, cmds, err := commandList(req.Action.Method, req.Action.Params)
	if err != nil {
		return sdk.Plan{}, err
	}
	j := JobFrom(req.Worker)
	if cmds == nil {
		if name == "nfs" && j.NFSRootFS == "" {
			return sdk.Plan{}, sdk.Errorf(sdk.ErrorJob, "boot commands nfs need an nfsrootfs in the deploy action")
		}
		if cmds, err = GrubCommands(name, s, efi || s.Bool("efi_grub", false), j.DTB != "" || s.Bool("has_dtb", false)); err != nil {
			return sdk.Plan{}, err
		}
	}
	if j.ServerIP == "" {
		return sdk.Plan{}, sdk.Errorf(sdk.ErrorInfrastructure, "the worker gave no server_ip for {SERVER_IP}")
	}
	if cmds, err = Substitute(cmds, j); err != nil {
		return sdk.Plan{}, err
	}
	list := "grub_error_messages"
	if efi {
		list = "grub_efi_error_messages"
	}
	errs := append(s.Strings(list), s.Strings("grub_board_error_messages")...)
	char := s.String("grub_interrupt_character", "c")
	intr := sdk.InterruptStep{
		Prompt:           s.String("grub_autoboot_prompt", "for a command-line"),
		Char:             char,
		Newline:          s.Bool("grub_interrupt_newline", efi),
		BootloaderPrompt: s.String("bootloader_prompt", "grub>"),
		Errors:           errs,
	}
	if !s.Bool("grub_needs_interrupt", true) {
		return sdk.Plan{}, sdk.Errorf(sdk.ErrorConfiguration, "grub_needs_interrupt false (wait for grub> without interrupting) is not supported")
	}
	steps, err := bootSteps(req, s, intr, cmds, errs)
	if err != nil {
		return sdk.Plan{}, err
	}
	return sdk.Plan{Steps: steps}, nil
}
