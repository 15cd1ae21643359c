package drv

import (
	"fmt"
	"reflect"
	"slices"
	"sort"

	"github.com/lavalab/lavalab/sdk"
)

// Info is what a driver says about itself in describe.
type Info struct {
	Name          string
	Version       string
	Summary       string
	DeployMethods []string
	BootMethods   []string
	// Settings is the embedded settings.yaml.
	Settings []byte

	// parsed holds Settings parsed by Parsed, so a plan call does not
	// parse them again (in WebAssembly that is milliseconds per call).
	parsed *parsedSettings
}

type parsedSettings struct {
	specs []sdk.SettingSpec
	err   error
}

// Parsed returns the info with its settings parsed once, now: drivers call
// it when they build themselves in main, before sdk.Run waits for the
// request, so the parsing is done while the host keeps the instance
// prewarmed instead of during the plan call.
func (i Info) Parsed() Info {
	specs, err := sdk.ParseSettings(i.Settings)
	i.parsed = &parsedSettings{specs: specs, err: err}
	return i
}

// parse returns the settings, parsed now unless Parsed did it.
func (i Info) parse() ([]sdk.SettingSpec, error) {
	if i.parsed != nil {
		return slices.Clone(i.parsed.specs), i.parsed.err
	}
	return sdk.ParseSettings(i.Settings)
}

// Describe answers describe from the info and its settings file. A settings
// file that does not parse leaves the settings out and says why in the
// summary; the golden tests make sure that never ships.
func (i Info) Describe() sdk.Description {
	d := sdk.Description{
		Name:          i.Name,
		Version:       i.Version,
		ABIVersion:    sdk.ABIVersion,
		ABIVersions:   sdk.ABIVersions(),
		DeviceTypes:   []string{i.Name},
		DeployMethods: i.DeployMethods,
		BootMethods:   i.BootMethods,
		Summary:       i.Summary,
	}
	specs, err := i.parse()
	if err != nil {
		d.Summary = "BROKEN settings.yaml: " + err.Error()
		return d
	}
	d.Settings = specs
	return d
}

// Specs parses the embedded settings, as a Bug error when it does not parse.
func (i Info) Specs() ([]sdk.SettingSpec, error) {
	specs, err := i.parse()
	if err != nil {
		return nil, sdk.Errorf(sdk.ErrorBug, "%s: embedded settings.yaml: %v", i.Name, err)
	}
	return specs, nil
}

// Effective returns the settings a plan reads: the driver's defaults, under
// the host's merged settings (device-type defaults < admin overrides <
// device dictionary), and the job context for any key the driver knows whose
// value is still its default. As in LAVA, where a device dictionary's
// `{% set %}` beats the job context, a value an admin or a dictionary set
// is not overridden by the context.
func Effective(specs []sdk.SettingSpec, req sdk.PlanRequest) sdk.Values {
	v := sdk.SettingDefaults(specs)
	for k, x := range req.Settings {
		v[k] = x
	}
	for k, x := range req.Context {
		i := slices.IndexFunc(specs, func(s sdk.SettingSpec) bool { return s.Key == k })
		if i < 0 {
			continue
		}
		if cur, ok := req.Settings[k]; !ok || same(cur, specs[i].Default) {
			v[k] = x
		}
	}
	return v
}

func same(a, b any) bool {
	switch a.(type) {
	case []any, map[string]any, sdk.Values:
		return reflect.DeepEqual(a, b)
	}
	return fmt.Sprint(a) == fmt.Sprint(b)
}

// Roles lists the artifact roles a deploy action's parameters name, in a
// fixed order.
func Roles(params sdk.Values) []string {
	var roles []string
	for _, r := range []string{"kernel", "ramdisk", "initrd", "dtb", "tee", "modules", "nfsrootfs", "preseed", "nbdroot"} {
		if params.Has(r) {
			roles = append(roles, r)
		}
	}
	return roles
}

// BootTail returns the steps after the bootloader handed over to the kernel:
// wait for the kernel start message (when kernelStart), log in when the job
// asks (auto_login), then wait for one of the job's prompts. Without prompts
// the boot ends there.
func BootTail(params, s sdk.Values, kernelStart bool) ([]sdk.Step, error) {
	start := s.String("boot_message", "")
	if start == "" {
		start = s.String("kernel_start_message", "Linux version [0-9]")
	}
	var steps []sdk.Step
	if kernelStart {
		steps = append(steps, sdk.Step{
			Kind: sdk.StepExpect, Name: "kernel-start",
			Expect: &sdk.ExpectStep{Patterns: []sdk.Pattern{
				{Regex: start},
				{Regex: "Kernel panic - not syncing", Fail: true, Message: "kernel panic"},
			}},
		})
	}
	if al := params.Map("auto_login"); al != nil {
		login := &sdk.LoginStep{
			LoginPrompt:    al.String("login_prompt", ""),
			Username:       al.String("username", ""),
			PasswordPrompt: al.String("password_prompt", ""),
			Password:       al.String("password", ""),
			LoginCommands:  al.Strings("login_commands"),
		}
		if login.LoginPrompt == "" || login.Username == "" {
			return nil, sdk.Errorf(sdk.ErrorJob, "auto_login needs login_prompt and username")
		}
		if (login.PasswordPrompt == "") != (login.Password == "") {
			return nil, sdk.Errorf(sdk.ErrorJob, "auto_login needs both password_prompt and password, or neither")
		}
		steps = append(steps, sdk.Step{Kind: sdk.StepLogin, Name: "auto-login-action", Login: login})
	}
	if prompts := params.Strings("prompts"); len(prompts) > 0 {
		steps = append(steps, sdk.Step{Kind: sdk.StepShell, Name: "expect-shell-connection", Shell: &sdk.ShellStep{Prompts: prompts}})
	}
	return steps, nil
}

// TestPlan is the plan of a test action: the LAVA test shell.
func TestPlan(s sdk.Values) sdk.Plan {
	return sdk.Plan{Steps: []sdk.Step{{
		Kind: sdk.StepTestShell, Name: "lava-test-shell",
		TestShell: &sdk.TestShellStep{CharDelayMS: s.Int("test_character_delay", 0)},
	}}}
}

// CommandPlan is the plan of a command action: run the named entry of the
// device's user_commands (its `do` command) on the worker.
func CommandPlan(name string, s sdk.Values) (sdk.Plan, error) {
	users := s.Map("user_commands")
	cmd := users.Map(name)
	do := cmd.String("do", "")
	if do == "" {
		names := make([]string, 0, len(users))
		for k := range users {
			names = append(names, k)
		}
		sort.Strings(names)
		return sdk.Plan{}, sdk.Errorf(sdk.ErrorJob, "command %q is not one of this device's user_commands %v", name, names)
	}
	// The host runs the dictionary's own `do` command: the step names it.
	return sdk.Plan{Steps: []sdk.Step{{Kind: sdk.StepHost, Name: "user-command-" + name, Host: &sdk.HostStep{UserCommand: name}}}}, nil
}

// Empty is a plan with no steps (a deploy that needs nothing of the board).
func Empty() sdk.Plan { return sdk.Plan{Steps: []sdk.Step{}} }

// Unsupported is the error for an action method the driver does not plan.
func Unsupported(driver string, a sdk.Action, have []string) error {
	return sdk.Errorf(sdk.ErrorJob, "device type %s has no %s method %q (it supports %v)", driver, a.Kind, a.Method, have)
}

// ServeDeploy (issue 17) plans a deploy that only serves the job's files:
// over TFTP, and the nfsrootfs over NFS when the action has one. methods
// are the deploy methods the driver accepts.
func ServeDeploy(driver string, a sdk.Action, methods []string) (sdk.Plan, error) {
	if !slices.Contains(methods, a.Method) {
		return sdk.Plan{}, Unsupported(driver, a, methods)
	}
	roles := Roles(a.Params)
	if len(roles) == 0 {
		return sdk.Plan{}, sdk.Errorf(sdk.ErrorJob, "deploy to %s names no file (kernel, ramdisk, dtb, tee, nfsrootfs, ...)", a.Method)
	}
	return sdk.Plan{Steps: []sdk.Step{{
		Kind: sdk.StepServe, Name: a.Method + "-deploy",
		Serve: &sdk.ServeStep{Roles: roles, TFTP: true, NFS: slices.Contains(roles, "nfsrootfs"), NBD: slices.Contains(roles, "nbdroot")},
	}}}, nil
}
