package main

import (
	_ "embed"
	"fmt"
	"path"
	"regexp"
	"strings"

	"github.com/lavalab/lavalab/devicetypes/internal/drv"
	"github.com/lavalab/lavalab/devicetypes/internal/ubootboard"
	"github.com/lavalab/lavalab/sdk"
	"github.com/lavalab/lavalab/sdk/uboot"
)

//go:embed settings.yaml
var settings []byte

const version = "1.0.0"

// Methods the driver plans for.
var (
	deployMethods = []string{"tftp", "nfs"}
	bootMethods   = []string{"depthcharge", "minimal"}
)

// CmdlineName is the kernel command line file depthcharge loads, beside
// the kernel (LAVA's name).
const CmdlineName = "cmdline"

type driver struct{ drv.Info }

func newDriver() driver {
	return driver{drv.Info{
		Name: "depthcharge", Version: version, Settings: settings,
		Summary:       "Chromebook booted over TFTP by depthcharge's tftpboot, with a FIT image of kernel, dtb and ramdisk (LAVA's base-depthcharge)",
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
		return d.deploy(a, s)
	case sdk.ActionBoot:
		switch a.Method {
		case "depthcharge":
			return d.boot(req, s)
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

// deploy serves the files and, when the board boots a FIT image
// (mkimage_fit_arch), has the worker assemble it: LAVA's prepare-fit.
func (d driver) deploy(a sdk.Action, s sdk.Values) (sdk.Plan, error) {
	p, err := drv.ServeDeploy(d.Name, a, deployMethods)
	if err != nil {
		return p, err
	}
	if f := FIT(s); f != nil && a.Params.Has("kernel") {
		p.Steps = append(p.Steps, sdk.Step{Kind: sdk.StepFIT, Name: "prepare-fit", FIT: f})
	}
	return p, nil
}

// FIT is the FIT step of the settings, nil when the board boots a plain
// kernel. As in LAVA an arm64 kernel is compressed with lzma first.
func FIT(s sdk.Values) *sdk.FITStep {
	arch := s.String("mkimage_fit_arch", "")
	if arch == "" {
		return nil
	}
	f := &sdk.FITStep{Arch: arch, LoadAddr: s.String("fit_kernel_load_address", "0"), Compression: "none"}
	if arch == "arm64" {
		f.Compression = "lzma"
	}
	return f
}

// Cmdline returns the kernel command line of a named list (nfs, ramdisk,
// emmc) before substitution, as the template writes it: YAML drops the
// spaces an empty argument leaves at either end.
func Cmdline(list string, s sdk.Values) (string, bool) {
	kernelArgs := s.String("base_kernel_args", "") + " " + s.String("extra_kernel_args", "")
	console := "console=" + s.String("console_device", "ttyS0") + "," + s.String("baud_rate", "115200") + "n8"
	ip := uboot.IPArgs(s)
	var c string
	switch list {
	case "nfs":
		c = kernelArgs + " " + console + " root=/dev/nfs rw nfsroot={NFS_SERVER_IP}:{NFSROOTFS},tcp,hard" + s.String("extra_nfsroot_args", "") + " " + ip
	case "ramdisk":
		c = kernelArgs + " " + console + " root=/dev/ram0 " + ip
	case "emmc":
		c = console + " " + ip + " " + kernelArgs
	default:
		return "", false
	}
	return strings.TrimSpace(c), true
}

// ErrorMessages are depthcharge's error messages.
func ErrorMessages(s sdk.Values) []string {
	errs := s.Strings("depthcharge_error_messages")
	if m := s.String("depthcharge_extra_error_message", ""); m != "" {
		errs = append(errs, m)
	}
	return errs
}

func replace(s string, subs [][2]string) string {
	for _, kv := range subs {
		s = strings.ReplaceAll(s, kv[0], kv[1])
	}
	return s
}

// Boot returns the substituted commands and the command line of a boot
// action.
func Boot(req sdk.PlanRequest, s sdk.Values) (cmds []string, cmdline string, err error) {
	p := req.Action.Params
	w := req.Worker
	list := p.String("commands", "")
	if list == "" {
		return nil, "", sdk.Errorf(sdk.ErrorJob, "boot method depthcharge needs `commands` (nfs, ramdisk or emmc)")
	}
	cmdline, ok := Cmdline(list, s)
	if !ok {
		return nil, "", sdk.Errorf(sdk.ErrorJob, "depthcharge has no command list %q (nfs, ramdisk or emmc)", list)
	}
	k, ok := w.Artifacts["kernel"]
	if !ok || k.TFTPPath == "" {
		return nil, "", sdk.Errorf(sdk.ErrorJob, "boot method depthcharge needs a kernel in the deploy action")
	}
	if w.ServerIP == "" {
		return nil, "", sdk.Errorf(sdk.ErrorInfrastructure, "the worker gave no server_ip for {SERVER_IP}")
	}
	if nfs := w.Artifacts["nfsrootfs"].LocalPath; nfs != "" {
		ip := w.NFSServerIP
		if ip == "" {
			ip = w.ServerIP
		}
		cmdline = replace(cmdline, [][2]string{{"{NFSROOTFS}", nfs}, {"{NFS_SERVER_IP}", ip}})
	} else if list == "nfs" {
		return nil, "", sdk.Errorf(sdk.ErrorJob, "boot commands nfs need an nfsrootfs in the deploy action")
	}
	if x := p.String("extra_kernel_args", ""); x != "" {
		cmdline += " " + x
	}
	kernel := k.TFTPPath
	ramdisk := w.Artifacts["ramdisk"].TFTPPath
	if FIT(s) != nil {
		kernel = path.Join(path.Dir(k.TFTPPath), sdk.FITName)
		if f, ok := w.Artifacts["fit"]; ok && f.TFTPPath != "" {
			kernel = f.TFTPPath
		}
		ramdisk = "" // in the FIT image
	}
	for _, c := range s.Strings("depthcharge_tftp_commands") {
		cmds = append(cmds, replace(c, [][2]string{
			{"{SERVER_IP}", w.ServerIP},
			{"{CMDLINE}", path.Join(path.Dir(k.TFTPPath), CmdlineName)},
			{"{DEPTHCHARGE_KERNEL}", kernel},
			{"{DEPTHCHARGE_RAMDISK}", ramdisk},
		}))
	}
	if len(cmds) == 0 {
		return nil, "", sdk.Errorf(sdk.ErrorConfiguration, "depthcharge_tftp_commands is empty")
	}
	return cmds, cmdline, nil
}

func (d driver) boot(req sdk.PlanRequest, s sdk.Values) (sdk.Plan, error) {
	cmds, cmdline, err := Boot(req, s)
	if err != nil {
		return sdk.Plan{}, err
	}
	prompt := s.String("bootloader_prompt", "dpch:")
	start := s.String("start_message", "Starting netboot")
	for _, re := range []string{prompt, start} {
		if _, err := regexp.Compile(re); err != nil {
			return sdk.Plan{}, sdk.Errorf(sdk.ErrorConfiguration, "%q: %v", re, err)
		}
	}
	errs := ErrorMessages(s)
	var errPatterns []sdk.Pattern
	for _, e := range errs {
		errPatterns = append(errPatterns, sdk.Pattern{Regex: e, Fail: true})
	}
	steps := []sdk.Step{
		{Kind: sdk.StepFile, Name: "depthcharge-overlay", File: &sdk.FileStep{Beside: "kernel", Name: CmdlineName, Text: cmdline}},
		{Kind: sdk.StepConnect, Name: "connect-device", Connect: &sdk.ConnectStep{Connection: sdk.DefaultConnection}},
	}
	steps = append(steps, ubootboard.PowerCycle(s)...)
	steps = append(steps,
		sdk.Step{Kind: sdk.StepExpect, Name: "depthcharge-start", Expect: &sdk.ExpectStep{Patterns: append([]sdk.Pattern{{Regex: start}}, errPatterns...)}},
		sdk.Step{Kind: sdk.StepExpect, Name: "bootloader-prompt", Expect: &sdk.ExpectStep{Patterns: append([]sdk.Pattern{{Regex: prompt}}, errPatterns...)}},
	)
	var final []string
	if m := s.String("depthcharge_final_message", "Starting kernel"); m != "" {
		final = []string{m}
	}
	steps = append(steps, sdk.Step{Kind: sdk.StepCommands, Name: "bootloader-commands", Commands: &sdk.CommandsStep{
		Commands: cmds, Prompt: prompt, CharDelayMS: s.Int("boot_character_delay", 0), Errors: errs, Final: final,
	}})
	tail, err := drv.BootTail(req.Action.Params, s, true)
	if err != nil {
		return sdk.Plan{}, err
	}
	return sdk.Plan{Steps: append(steps, tail...)}, nil
}

// String names the driver for logs.
func (d driver) String() string { return fmt.Sprintf("depthcharge board %s", d.Version) }
