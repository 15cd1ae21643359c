package pcboot

import (
	"strings"

	"github.com/lavalab/lavalab/sdk"
)

// IPXECommands returns the command list `name` of LAVA's x86.jinja2
// (ramdisk or nfs), unsubstituted: its placeholders stay.
func IPXECommands(name string, s sdk.Values) ([]string, error) {
	kargs, ipargs := KernelArgs(s)
	console := "set console console=" + s.String("console_device", "ttyS0") + "," + s.String("baud_rate", "115200") + "n8 lava_mac={LAVA_MAC}"
	var extra string
	switch name {
	case "ramdisk":
		extra = "set extraargs " + kargs + " " + ipargs
	case "nfs":
		extra = "set extraargs root=/dev/nfs rw " + NFSRootArgs(s) + " " + kargs + " " + ipargs
	default:
		return nil, sdk.Errorf(sdk.ErrorJob, "boot method ipxe has no command list %q (ramdisk, nfs, or give a list)", name)
	}
	return []string{
		"dhcp " + s.String("boot_interface", "net0"),
		console,
		extra,
		"kernel tftp://{SERVER_IP}/{KERNEL} ${extraargs} ${console}",
		"initrd tftp://{SERVER_IP}/{RAMDISK}",
		"boot",
	}, nil
}

// IPXEInterrupt is the interrupt step of LAVA's ipxe method: wait for
// ipxe_autoboot_prompt, send each control character of
// ipxe_interrupt_ctrl_list, wait for bootloader_prompt. LAVA sends no
// newline after them; ipxe_interrupt_newline adds one, because iPXE draws
// its first prompt over the erased countdown line, on text the interrupt
// prompt's match already consumed: the newline makes iPXE print a fresh
// prompt on a line of its own.
func IPXEInterrupt(s sdk.Values, errs []string) (sdk.InterruptStep, error) {
	var ctrl strings.Builder
	for _, c := range s.Strings("ipxe_interrupt_ctrl_list") {
		if len(c) != 1 || !(c[0] >= 'a' && c[0] <= 'z' || c[0] >= '@' && c[0] <= '_') {
			return sdk.InterruptStep{}, sdk.Errorf(sdk.ErrorConfiguration, "ipxe_interrupt_ctrl_list: %q is not one letter to send with Ctrl", c)
		}
		ctrl.WriteByte(c[0] & 0x1f)
	}
	if ctrl.Len() == 0 {
		return sdk.InterruptStep{}, sdk.Errorf(sdk.ErrorConfiguration, "ipxe_interrupt_ctrl_list is empty: nothing interrupts iPXE")
	}
	return sdk.InterruptStep{
		Prompt:           s.String("ipxe_autoboot_prompt", "Press Ctrl-B for the iPXE command line"),
		Char:             ctrl.String(),
		Newline:          s.Bool("ipxe_interrupt_newline", true),
		BootloaderPrompt: s.String("bootloader_prompt", "iPXE>"),
		Errors:           errs,
	}, nil
}

// IPXEPlan plans a boot with LAVA's ipxe method.
func IPXEPlan(req sdk.PlanRequest, s sdk.Values) (sdk.Plan, error) {
	if s.Bool("use_bootscript", false) {
		return sdk.Plan{}, sdk.Errorf(sdk.ErrorConfiguration, "use_bootscript (an iPXE script fetched over TFTP) is not supported: set it false")
	}
	name, cmds, err := commandList("ipxe", req.Action.Params)
	if err != nil {
		return sdk.Plan{}, err
	}
	if cmds == nil {
		if cmds, err = IPXECommands(name, s); err != nil {
			return sdk.Plan{}, err
		}
	}
	if name == "nfs" && req.Worker.Artifacts["nfsrootfs"].LocalPath == "" {
		return sdk.Plan{}, sdk.Errorf(sdk.ErrorJob, "boot commands nfs need an nfsrootfs in the deploy action")
	}
	j := JobFrom(req.Worker)
	j.LavaMAC = s.String("lava_mac_address", "00:90:05:af:00:7d")
	if !macRE.MatchString(j.LavaMAC) {
		return sdk.Plan{}, sdk.Errorf(sdk.ErrorConfiguration, "lava_mac_address %q is not a MAC address", j.LavaMAC)
	}
	if j.ServerIP == "" {
		return sdk.Plan{}, sdk.Errorf(sdk.ErrorInfrastructure, "the worker gave no server_ip for {SERVER_IP}")
	}
	if cmds, err = Substitute(cmds, j); err != nil {
		return sdk.Plan{}, err
	}
	errs := append(s.Strings("ipxe_error_messages"), s.Strings("ipxe_board_error_messages")...)
	intr, err := IPXEInterrupt(s, errs)
	if err != nil {
		return sdk.Plan{}, err
	}
	steps, err := bootSteps(req, s, intr, cmds, errs)
	if err != nil {
		return sdk.Plan{}, err
	}
	return sdk.Plan{Steps: steps}, nil
}
