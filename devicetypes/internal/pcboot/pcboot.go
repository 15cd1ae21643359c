package pcboot

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/lavalab/lavalab/devicetypes/internal/drv"
	"github.com/lavalab/lavalab/devicetypes/internal/ubootboard"
	"github.com/lavalab/lavalab/sdk"
)

// Board is a PC or UEFI board driver: an sdk.Driver planning the boot
// methods of Info.BootMethods (ipxe, grub, grub-efi).
type Board struct {
	drv.Info
	// Defaults (issue 17) fill settings whose effective value is empty:
	// nested values (a uefi-menu board's menu lists) that settings.yaml
	// cannot hold.
	Defaults sdk.Values
}

// New returns a board with the tftp deploy and the given boot methods.
func New(name, version, summary string, settings []byte, bootMethods ...string) Board {
	return Board{Info: drv.Info{
		Name: name, Version: version, Summary: summary, Settings: settings,
		DeployMethods: []string{"tftp"}, BootMethods: bootMethods,
	}.Parsed()}
}

// Plan plans one job action.
func (b Board) Plan(req sdk.PlanRequest) (sdk.Plan, error) {
	specs, err := b.Specs()
	if err != nil {
		return sdk.Plan{}, err
	}
	s := drv.Effective(specs, req)
	for k, v := range b.Defaults { // issue 17
		if empty(s[k]) {
			s[k] = v
		}
	}
	if ip := s.String("tftp_server_ip", ""); ip != "" {
		req.Worker.ServerIP = ip
	}
	a := req.Action
	switch a.Kind {
	case sdk.ActionDeploy:
		return b.deploy(a)
	case sdk.ActionBoot:
		if !slices.Contains(b.BootMethods, a.Method) {
			return sdk.Plan{}, drv.Unsupported(b.Name, a, b.BootMethods)
		}
		switch a.Method {
		case "ipxe":
			return IPXEPlan(req, s)
		case "grub", "grub-efi":
			return GrubPlan(req, s)
		case "uefi-menu": // issue 17
			return UEFIMenuPlan(req, s)
		case "uefi":
			return UEFIShellPlan(req, s)
		}
		return sdk.Plan{}, sdk.Errorf(sdk.ErrorBug, "%s declares boot method %q but plans none", b.Name, a.Method)
	case sdk.ActionTest:
		return drv.TestPlan(s), nil
	case sdk.ActionCommand:
		return drv.CommandPlan(a.Method, s)
	}
	return sdk.Plan{}, sdk.Errorf(sdk.ErrorBug, "unknown action kind %q", a.Kind)
}

func (b Board) deploy(a sdk.Action) (sdk.Plan, error) {
	if a.Method != "tftp" {
		return sdk.Plan{}, drv.Unsupported(b.Name, a, b.DeployMethods)
	}
	roles := drv.Roles(a.Params)
	if len(roles) == 0 {
		return sdk.Plan{}, sdk.Errorf(sdk.ErrorJob, "deploy to tftp names no file (kernel, ramdisk, dtb, nfsrootfs, ...)")
	}
	return sdk.Plan{Steps: []sdk.Step{{
		Kind: sdk.StepServe, Name: "tftp-deploy",
		Serve: &sdk.ServeStep{Roles: roles, TFTP: true, NFS: slices.Contains(roles, "nfsrootfs")},
	}}}, nil
}

// String names the board for logs.
func (b Board) String() string { return fmt.Sprintf("pc board %s %s", b.Name, b.Version) }

// Job holds the values LAVA substitutes into a bootloader command list.
type Job struct {
	ServerIP, NFSServerIP string
	Kernel, Ramdisk, DTB  string
	NFSRootFS             string
	LavaMAC               string
}

// JobFrom reads the placeholder values from the worker's facts.
func JobFrom(w sdk.WorkerFacts) Job {
	j := Job{ServerIP: w.ServerIP, NFSServerIP: w.NFSServerIP}
	if j.NFSServerIP == "" {
		j.NFSServerIP = j.ServerIP
	}
	j.Kernel = w.Artifacts["kernel"].TFTPPath
	j.Ramdisk = w.Artifacts["ramdisk"].TFTPPath
	if j.Ramdisk == "" {
		j.Ramdisk = w.Artifacts["initrd"].TFTPPath
	}
	j.DTB = w.Artifacts["dtb"].TFTPPath
	j.NFSRootFS = w.Artifacts["nfsrootfs"].LocalPath
	return j
}

// Substitute replaces LAVA's placeholders in each command, as LAVA's
// bootloader-overlay action does. A placeholder whose value the job does
// not have is an error naming it (LAVA would send the text "None").
func Substitute(cmds []string, j Job) ([]string, error) {
	subs := []struct{ key, val string }{
		{"{SERVER_IP}", j.ServerIP}, {"{NFS_SERVER_IP}", j.NFSServerIP},
		{"{KERNEL}", j.Kernel}, {"{RAMDISK}", j.Ramdisk}, {"{INITRD}", j.Ramdisk},
		{"{DTB}", j.DTB}, {"{NFSROOTFS}", j.NFSRootFS}, {"{LAVA_MAC}", j.LavaMAC},
	}
	out := make([]string, 0, len(cmds))
	for _, c := range cmds {
		for _, s := range subs {
			if !strings.Contains(c, s.key) {
				continue
			}
			if s.val == "" {
				return nil, sdk.Errorf(sdk.ErrorJob, "boot command %q needs %s, which this job does not deploy or the worker does not give", c, s.key)
			}
			c = strings.ReplaceAll(c, s.key, s.val)
		}
		out = append(out, c)
	}
	return out, nil
}

// KernelArgs returns LAVA's {{ base_kernel_args }} (extra_kernel_args
// replaces base_kernel_args) and {{ base_ip_args }} (ip=dhcp, or a static
// ip= from static_ip, static_gateway, static_netmask and static_dns).
func KernelArgs(s sdk.Values) (kernel, ip string) {
	kernel = s.String("base_kernel_args", "")
	if x := s.String("extra_kernel_args", ""); x != "" {
		kernel = x
	}
	ip = s.String("base_ip_args", "")
	if ip == "" {
		if addr := s.String("static_ip", ""); addr != "" {
			ip = "ip=" + addr + "::" + s.String("static_gateway", "") + ":" + s.String("static_netmask", "") + ":::off:" + s.String("static_dns", "") + ":"
		} else {
			ip = "ip=dhcp"
		}
	}
	return kernel, ip
}

// NFSRootArgs is LAVA's {{ base_nfsroot_args }}.
func NFSRootArgs(s sdk.Values) string {
	return "nfsroot={NFS_SERVER_IP}:{NFSROOTFS},tcp,hard" + s.String("extra_nfsroot_args", "")
}

// commandList returns the job's own command list, or the name of a
// template list, from the boot action's `commands`.
func commandList(method string, p sdk.Values) (name string, list []string, err error) {
	switch c := p["commands"].(type) {
	case string:
		return c, nil, nil
	case []any:
		return "", p.Strings("commands"), nil
	case nil:
		return "", nil, sdk.Errorf(sdk.ErrorJob, "boot method %s needs `commands` (ramdisk, nfs or a list)", method)
	default:
		return "", nil, sdk.Errorf(sdk.ErrorJob, "boot `commands` must be a name or a list, got %T", c)
	}
}

// bootSteps returns the steps of an interactive bootloader boot: connect,
// power cycle, interrupt, the commands, then wait for the kernel (failing
// on the bootloader's errors), log in and wait for the shell.
func bootSteps(req sdk.PlanRequest, s sdk.Values, intr sdk.InterruptStep, cmds []string, errs []string) ([]sdk.Step, error) {
	errs = wholeLines(errs)
	intr.Errors = errs
	steps := []sdk.Step{{Kind: sdk.StepConnect, Name: "connect-device", Connect: &sdk.ConnectStep{Connection: sdk.DefaultConnection}}}
	steps = append(steps, ubootboard.PowerCycle(s)...)
	steps = append(steps,
		sdk.Step{Kind: sdk.StepInterrupt, Name: "bootloader-interrupt", Interrupt: &intr},
		sdk.Step{Kind: sdk.StepCommands, Name: "bootloader-commands", Commands: &sdk.CommandsStep{
			Commands: cmds, Prompt: intr.BootloaderPrompt, CharDelayMS: s.Int("boot_character_delay", 0), Errors: errs,
		}})
	// LAVA's auto-login action waits for the kernel start message; the
	// bootloader's errors fail that wait too, so a failed `boot` ends
	// the job at once with the bootloader's own words.
	start := s.String("boot_message", "")
	if start == "" {
		start = s.String("kernel_start_message", "Linux version [0-9]")
	}
	pats := []sdk.Pattern{{Regex: start}, {Regex: "Kernel panic - not syncing", Fail: true, Message: "kernel panic"}}
	for _, e := range errs {
		pats = append(pats, sdk.Pattern{Regex: e, Fail: true, Message: "bootloader error"})
	}
	steps = append(steps, sdk.Step{Kind: sdk.StepExpect, Name: "kernel-start", Expect: &sdk.ExpectStep{Patterns: pats}})
	tail, err := drv.BootTail(req.Action.Params, s, false)
	if err != nil {
		return nil, err
	}
	return append(steps, tail...), nil
}

// wholeLines extends each error pattern to the end of its line (the
// match waits for the line's end, which iPXE and GRUB always print), so that
// the job's error quotes the bootloader's whole message ("Could not boot:
// Exec format error (http://ipxe.org/2e008081)"), not just the words the
// pattern names.
func wholeLines(errs []string) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = "(?:" + e + ")[^\n]*\n"
	}
	return out
}

// empty reports whether a setting's value is unset, "" or an empty collection.
func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	case sdk.Values:
		return len(x) == 0
	}
	return false
}

var macRE = regexp.MustCompile(`^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$`)
