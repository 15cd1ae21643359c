package ubootboard

import (
	"fmt"
	"net"
	"strings"

	"github.com/lavalab/lavalab/devicetypes/internal/drv"
	"github.com/lavalab/lavalab/sdk"
	"github.com/lavalab/lavalab/sdk/uboot"
)

// Board is a U-Boot board driver: an sdk.Driver.
type Board struct {
	drv.Info
	// Layout is the LAVA template whose command order the board follows.
	Layout uboot.Layout
	// NoTEEDefault leaves the tee address empty unless a setting gives one
	// (LAVA's vexpress/juno templates emit no tee address).
	NoTEEDefault bool
	// Adjust lets a board change the template read from the settings, as
	// its LAVA template does (soca9 prefixes the kernel arguments, juno adds
	// the sky2 MAC address).
	Adjust func(t *uboot.Template, s sdk.Values)
}

// Methods every U-Boot board plans for.
var (
	DeployMethods = []string{"tftp", "nfs", "nbd"}
	BootMethods   = []string{"u-boot", "bootloader", "minimal"}
)

// New returns a board with the standard methods.
func New(name, version, summary string, settings []byte) Board {
	return Board{Info: drv.Info{
		Name: name, Version: version, Summary: summary, Settings: settings,
		DeployMethods: DeployMethods, BootMethods: BootMethods,
	}.Parsed(), Layout: uboot.LayoutBase}
}

// Plan plans one job action.
func (b Board) Plan(req sdk.PlanRequest) (sdk.Plan, error) {
	specs, err := b.Specs()
	if err != nil {
		return sdk.Plan{}, err
	}
	s := drv.Effective(specs, req)
	a := req.Action
	switch a.Kind {
	case sdk.ActionDeploy:
		return b.deploy(a)
	case sdk.ActionBoot:
		switch a.Method {
		case "u-boot":
			return b.boot(req, s)
		case "bootloader":
			return b.bootloader(req, s)
		case "minimal":
			return Minimal(req.Action.Params, s)
		}
		return sdk.Plan{}, drv.Unsupported(b.Name, a, BootMethods)
	case sdk.ActionTest:
		return drv.TestPlan(s), nil
	case sdk.ActionCommand:
		return drv.CommandPlan(a.Method, s)
	}
	return sdk.Plan{}, sdk.Errorf(sdk.ErrorBug, "unknown action kind %q", a.Kind)
}

func (b Board) deploy(a sdk.Action) (sdk.Plan, error) {
	if a.Method == "nbd" {
		// LAVA's nbd deploy: a kernel, an initrd and the nbdroot image
		// (issue 17).
		for _, r := range []string{"kernel", "initrd", "nbdroot"} {
			if !a.Params.Has(r) {
				return sdk.Plan{}, sdk.Errorf(sdk.ErrorJob, "deploy to nbd needs a kernel, an initrd and an nbdroot (no %s)", r)
			}
		}
		for _, r := range []string{"ramdisk", "nfsrootfs"} {
			if a.Params.Has(r) {
				return sdk.Plan{}, sdk.Errorf(sdk.ErrorJob, "deploy to nbd takes no %s (an initrd and an nbdroot)", r)
			}
		}
	}
	return drv.ServeDeploy(b.Name, a, DeployMethods)
}

// Template returns the board's command template for the settings.
func (b Board) Template(s sdk.Values) uboot.Template {
	t := uboot.TemplateFromSettings(b.Layout, s)
	if b.Adjust != nil {
		b.Adjust(&t, s)
	}
	return t
}

// Job returns the placeholder values of the job from the worker's facts.
func Job(w sdk.WorkerFacts, s sdk.Values) uboot.Job {
	j := uboot.Job{
		ServerIP:    w.ServerIP,
		NFSServerIP: w.NFSServerIP,
		NoHeader:    s.String("add_header", "u-boot") != "u-boot",
	}
	if k, ok := w.Artifacts["kernel"]; ok {
		j.Kernel, j.KernelType = k.TFTPPath, k.Type
	}
	if r, ok := w.Artifacts["ramdisk"]; ok {
		j.Ramdisk, j.RamdiskRaw = r.TFTPPath, !r.UBootHeader
	} else if r, ok := w.Artifacts["initrd"]; ok {
		j.Ramdisk, j.RamdiskRaw = r.TFTPPath, true
	}
	j.DTB = w.Artifacts["dtb"].TFTPPath
	j.TEE = w.Artifacts["tee"].TFTPPath
	j.NFSRootFS = w.Artifacts["nfsrootfs"].LocalPath
	if u, ok := strings.CutPrefix(w.Artifacts["nbdroot"].URL, "nbd://"); ok {
		if host, port, err := net.SplitHostPort(u); err == nil {
			j.NBDServerIP, j.NBDServerPort = host, port
		}
	}
	return j
}

// Commands returns the substituted U-Boot commands of a boot action.
func (b Board) Commands(req sdk.PlanRequest, s sdk.Values) ([]string, error) {
	p := req.Action.Params
	var name string
	var list []string
	switch c := p["commands"].(type) {
	case string:
		name = c
	case []any:
		list = p.Strings("commands")
	case nil:
		return nil, sdk.Errorf(sdk.ErrorJob, "boot method u-boot needs `commands` (ramdisk, nfs, usb, sata or a list)")
	default:
		return nil, sdk.Errorf(sdk.ErrorJob, "boot `commands` must be a name or a list, got %T", c)
	}
	j := Job(req.Worker, s)
	if j.Kernel != "" && j.KernelType == "" && list == nil {
		return nil, sdk.Errorf(sdk.ErrorJob, "the deployed kernel has no type (image, zimage or uimage): cannot choose booti, bootz or bootm")
	}
	if name == uboot.ListNFS && j.NFSRootFS == "" {
		return nil, sdk.Errorf(sdk.ErrorJob, "boot commands nfs need an nfsrootfs in the deploy action")
	}
	if name == uboot.ListNBD && j.NBDServerIP == "" {
		return nil, sdk.Errorf(sdk.ErrorJob, "boot commands nbd need a deploy to nbd (the worker's NBD export of the nbdroot)")
	}
	if j.ServerIP == "" {
		return nil, sdk.Errorf(sdk.ErrorInfrastructure, "the worker gave no server_ip for {SERVER_IP}")
	}
	cmds, err := uboot.Build(b.Template(s), name, list, j, uboot.AddressesFromSettings(s, b.NoTEEDefault))
	if err != nil {
		return nil, sdk.Errorf(sdk.ErrorConfiguration, "%s: %v", b.Name, err)
	}
	return cmds, nil
}

// toPrompt is how every U-Boot method starts: open the console the device
// dictionary gives (connection_command, ...: a driver never names a
// program), power-cycle the board and stop U-Boot at its prompt. It
// returns the steps, the prompt and the error messages of the board.
func toPrompt(s sdk.Values) (steps []sdk.Step, prompt string, errs []string) {
	steps = []sdk.Step{{Kind: sdk.StepConnect, Name: "connect-device", Connect: &sdk.ConnectStep{Connection: sdk.DefaultConnection}}}
	steps = append(steps, PowerCycle(s)...)
	prompt = s.String("bootloader_prompt", "=>")
	errs = ErrorMessages(s)
	if s.Bool("uboot_needs_interrupt", true) {
		steps = append(steps, sdk.Step{Kind: sdk.StepInterrupt, Name: "bootloader-interrupt", Interrupt: &sdk.InterruptStep{
			Prompt:           s.String("interrupt_prompt", "Hit any key to stop autoboot"),
			Char:             s.String("interrupt_char", ""),
			Newline:          s.Bool("uboot_interrupt_newline", true),
			BootloaderPrompt: prompt,
			Errors:           errs,
		}})
	} else {
		steps = append(steps, sdk.Step{Kind: sdk.StepExpect, Name: "bootloader-prompt", Expect: &sdk.ExpectStep{Patterns: []sdk.Pattern{{Regex: prompt}}}})
	}
	return steps, prompt, errs
}

func (b Board) boot(req sdk.PlanRequest, s sdk.Values) (sdk.Plan, error) {
	cmds, err := b.Commands(req, s)
	if err != nil {
		return sdk.Plan{}, err
	}
	steps, prompt, errs := toPrompt(s)
	var final []string
	if m := s.String("uboot_final_message", "Starting kernel"); m != "" {
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

// PowerCycle resets the board: hard_reset_command when set, else
// power_off_command then pre_power_command and power_on_command. Each may be
// one command or a list (LAVA dictionaries allow both). A board with none of
// them (its connection starts it) gets no power step. The steps name the
// operation only: the host runs the device dictionary's own commands.
func PowerCycle(s sdk.Values) []sdk.Step {
	if nonEmpty(s.Strings("hard_reset_command")) {
		return []sdk.Step{powerStep(sdk.PowerReset, "reset-device")}
	}
	var steps []sdk.Step
	if nonEmpty(s.Strings("power_off_command")) {
		steps = append(steps, powerStep(sdk.PowerOff, "power-off"))
	}
	if nonEmpty(s.Strings("pre_power_command")) {
		steps = append(steps, powerStep(sdk.PowerPrePower, "pre-power-command"))
	}
	if nonEmpty(s.Strings("power_on_command")) {
		steps = append(steps, powerStep(sdk.PowerOn, "power-on"))
	}
	return steps
}

func nonEmpty(c []string) bool { return len(c) > 0 && !(len(c) == 1 && c[0] == "") }

func powerStep(op, name string) sdk.Step {
	return sdk.Step{Kind: sdk.StepPower, Name: name, Power: &sdk.PowerStep{Op: op}}
}

// ErrorMessages are U-Boot's error messages (uboot_error_messages plus
// uboot_extra_error_message).
func ErrorMessages(s sdk.Values) []string {
	errs := s.Strings("uboot_error_messages")
	if m := s.String("uboot_extra_error_message", ""); m != "" {
		errs = append(errs, m)
	}
	return errs
}

// String names the board for logs.
func (b Board) String() string { return fmt.Sprintf("u-boot board %s %s", b.Name, b.Version) }
