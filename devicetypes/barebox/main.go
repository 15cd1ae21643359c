package main

import (
	_ "embed"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/lavalab/lavalab/devicetypes/internal/drv"
	"github.com/lavalab/lavalab/devicetypes/internal/ubootboard"
	"github.com/lavalab/lavalab/sdk"
)

//go:embed settings.yaml
var settings []byte

const version = "1.0.0"

// Methods the driver plans for.
var (
	deployMethods = []string{"tftp", "nfs"}
	bootMethods   = []string{"barebox", "bootloader", "minimal"}
)

type driver struct{ drv.Info }

func newDriver() driver {
	return driver{drv.Info{
		Name: "barebox", Version: version, Settings: settings,
		Summary:       "Board booted by barebox over TFTP: boot net, or bootm from /mnt/tftp (LAVA's base-barebox)",
		DeployMethods: deployMethods, BootMethods: bootMethods,
	}.Parsed()}
}

func main() { sdk.Run(newDriver()) }

// Plan plans one job action.
func (d driver) Plan(req sdk.PlanRequest) (sdk.Plan, error) {
	specs, err := d.Specs()
	if err != nil {
		return sdk.Plan{}, err
	}
	s := drv.Effective(specs, req)
	a := req.Action
	switch a.Kind {
	case sdk.ActionDeploy:
		return drv.ServeDeploy(d.Name, a, deployMethods)
	case sdk.ActionBoot:
		switch a.Method {
		case "barebox":
			return d.boot(req, s, true)
		case "bootloader":
			if bl := a.Params.String("bootloader", ""); bl != "barebox" {
				return sdk.Plan{}, sdk.Errorf(sdk.ErrorJob, "boot method bootloader needs `bootloader: barebox` on device type %s (got %q)", d.Name, bl)
			}
			return d.boot(req, s, false)
		case "minimal":
			return ubootboard.Minimal(a.Params, s)
		}
		return sdk.Plan{}, drv.Unsupported(d.Name, a, bootMethods)
	case sdk.ActionTest:
		return drv.TestPlan(s), nil
	case sdk.ActionCommand:
		return drv.CommandPlan(a.Method, s)
	}
	return sdk.Plan{}, sdk.Errorf(sdk.ErrorBug, "unknown action kind %q", a.Kind)
}

// Lists returns the named command lists of the board, before LAVA's
// substitution: base-barebox's tftp, nfs and ramdisk.
func Lists(s sdk.Values) map[string][]string {
	bootm := func(r string) string {
		la, il := "", ""
		if v := s.String("load_addr", ""); v != "" {
			la = "-a " + v
		}
		if v := s.String("initrd_load_addr", ""); v != "" {
			il = "-L " + v
		}
		// The template's `{{ load_addr }} {{ initrd_load_addr }}` end the
		// line; YAML drops the trailing spaces an empty one leaves.
		return strings.TrimRight("bootm -v "+r+"-o /mnt/tftp/{DTB} /mnt/tftp/{KERNEL} "+la+" "+il, " ")
	}
	return map[string][]string{
		"tftp": {"boot net"},
		"nfs": {
			`global linux.bootargs.nfs="'root=/dev/nfs rw nfsroot={SERVER_IP}:{NFSROOTFS},tcp,hard ip=dhcp'"`,
			bootm(""),
		},
		"ramdisk": {bootm("-r /mnt/tftp/{RAMDISK} ")},
	}
}

// substitute is LAVA's substitution of the bootloader placeholders: a line
// naming a placeholder with no value is dropped.
func substitute(cmds []string, subs map[string]string) []string {
	keys := make([]string, 0, len(subs))
	for k := range subs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out []string
next:
	for _, line := range cmds {
		for _, k := range keys {
			if subs[k] == "" && strings.Contains(line, k) {
				continue next
			}
		}
		for _, k := range keys {
			if v := subs[k]; v != "" {
				line = strings.ReplaceAll(line, k, v)
			}
		}
		out = append(out, line)
	}
	return out
}

// Commands returns the substituted commands of a boot action: a named list
// of the board or the job's own list.
func Commands(req sdk.PlanRequest, s sdk.Values, required bool) ([]string, error) {
	p := req.Action.Params
	var cmds []string
	name := ""
	switch c := p["commands"].(type) {
	case string:
		name = c
		l, ok := Lists(s)[c]
		if !ok {
			return nil, sdk.Errorf(sdk.ErrorJob, "barebox has no command list %q (tftp, nfs, ramdisk, or a list of commands)", c)
		}
		cmds = l
	case []any:
		cmds = p.Strings("commands")
	case nil:
		if required {
			return nil, sdk.Errorf(sdk.ErrorJob, "boot method barebox needs `commands` (tftp, nfs, ramdisk or a list)")
		}
		return nil, nil
	default:
		return nil, sdk.Errorf(sdk.ErrorJob, "boot `commands` must be a name or a list, got %T", c)
	}
	w := req.Worker
	if w.ServerIP == "" {
		return nil, sdk.Errorf(sdk.ErrorInfrastructure, "the worker gave no server_ip for {SERVER_IP}")
	}
	if name == "nfs" && w.Artifacts["nfsrootfs"].LocalPath == "" {
		return nil, sdk.Errorf(sdk.ErrorJob, "boot commands nfs need an nfsrootfs in the deploy action")
	}
	ramdisk := w.Artifacts["ramdisk"].TFTPPath
	if ramdisk == "" {
		ramdisk = w.Artifacts["initrd"].TFTPPath
	}
	subs := map[string]string{
		"{SERVER_IP}": w.ServerIP,
		"{KERNEL}":    w.Artifacts["kernel"].TFTPPath,
		"{RAMDISK}":   ramdisk,
		"{INITRD}":    ramdisk,
		"{DTB}":       w.Artifacts["dtb"].TFTPPath,
		"{TEE}":       w.Artifacts["tee"].TFTPPath,
	}
	if nfs := w.Artifacts["nfsrootfs"].LocalPath; nfs != "" {
		subs["{NFSROOTFS}"] = nfs
		subs["{NFS_SERVER_IP}"] = w.NFSServerIP
		if w.NFSServerIP == "" {
			subs["{NFS_SERVER_IP}"] = w.ServerIP
		}
	}
	out := substitute(cmds, subs)
	if len(out) == 0 {
		return nil, sdk.Errorf(sdk.ErrorJob, "barebox commands %v: every line names a file that was not deployed (kernel, ramdisk, dtb)", cmds)
	}
	return out, nil
}

// boot plans the barebox method (full: to the kernel and the shell) or the
// bootloader method (stop at barebox's prompt after the job's commands).
func (d driver) boot(req sdk.PlanRequest, s sdk.Values, full bool) (sdk.Plan, error) {
	cmds, err := Commands(req, s, full)
	if err != nil {
		return sdk.Plan{}, err
	}
	prompt := strings.TrimSpace(s.String("bootloader_prompt", "barebox"))
	if _, err := regexp.Compile(prompt); err != nil {
		return sdk.Plan{}, sdk.Errorf(sdk.ErrorConfiguration, "bootloader_prompt %q: %v", prompt, err)
	}
	errs := s.Strings("barebox_error_messages")
	steps := []sdk.Step{{Kind: sdk.StepConnect, Name: "connect-device", Connect: &sdk.ConnectStep{Connection: sdk.DefaultConnection}}}
	steps = append(steps, ubootboard.PowerCycle(s)...)
	steps = append(steps, sdk.Step{Kind: sdk.StepInterrupt, Name: "bootloader-interrupt", Interrupt: &sdk.InterruptStep{
		Prompt:           s.String("interrupt_prompt", "stop autoboot"),
		Char:             s.String("barebox_interrupt_character", " "),
		Newline:          true,
		BootloaderPrompt: prompt,
		Errors:           errs,
	}})
	final := []string{prompt}
	if full {
		final = nil
		if m := s.String("barebox_final_message", "Starting kernel"); m != "" {
			final = []string{m}
		}
	}
	if len(cmds) > 0 {
		steps = append(steps, sdk.Step{Kind: sdk.StepCommands, Name: "bootloader-commands", Commands: &sdk.CommandsStep{
			Commands: cmds, Prompt: prompt, CharDelayMS: s.Int("boot_character_delay", 0), Errors: errs, Final: final,
		}})
	}
	if !full {
		return sdk.Plan{Steps: steps}, nil
	}
	tail, err := drv.BootTail(req.Action.Params, s, true)
	if err != nil {
		return sdk.Plan{}, err
	}
	return sdk.Plan{Steps: append(steps, tail...)}, nil
}

// String names the driver for logs.
func (d driver) String() string { return fmt.Sprintf("barebox board %s", d.Version) }
