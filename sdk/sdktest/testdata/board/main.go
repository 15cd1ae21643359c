// Command board is the test driver of the sdktest tests: a small U-Boot
// board written against the sdk alone.
package main

import (
	"github.com/lavalab/lavalab/sdk"
)

type driver struct{}

func (driver) Describe() sdk.Description {
	return sdk.Description{Name: "kitboard", Version: "0.1.0", DeviceTypes: []string{"kitboard"},
		Settings: []sdk.SettingSpec{
			{Key: "bootloader_prompt", Type: sdk.SettingString, Default: "=>", Help: "U-Boot prompt."},
			{Key: "kernel_addr", Type: sdk.SettingString, Default: "0x40000000", Help: "Kernel load address."},
		},
		DeployMethods: []string{"tftp"}, BootMethods: []string{"u-boot", "fail", "panic"}}
}

func (driver) Plan(req sdk.PlanRequest) (sdk.Plan, error) {
	s, a := req.Settings, req.Action
	switch a.Kind {
	case sdk.ActionDeploy:
		return sdk.Plan{Steps: []sdk.Step{{Kind: sdk.StepServe, Name: "tftp-deploy", Serve: &sdk.ServeStep{Roles: []string{"kernel"}, TFTP: true}}}}, nil
	case sdk.ActionTest:
		return sdk.Plan{Steps: []sdk.Step{{Kind: sdk.StepTestShell, Name: "lava-test-shell", TestShell: &sdk.TestShellStep{}}}}, nil
	}
	switch a.Method {
	case "fail":
		return sdk.Plan{}, sdk.Errorf(sdk.ErrorJob, "boot method fail always fails")
	case "panic":
		panic("the panic method panics")
	}
	prompt := s.String("bootloader_prompt", "=>")
	addr := s.String("kernel_addr", "")
	return sdk.Plan{Steps: []sdk.Step{
		{Kind: sdk.StepConnect, Name: "connect-device", Connect: &sdk.ConnectStep{Connection: sdk.DefaultConnection}},
		{Kind: sdk.StepPower, Name: "reset-device", Power: &sdk.PowerStep{Op: sdk.PowerReset}},
		{Kind: sdk.StepInterrupt, Name: "bootloader-interrupt", Interrupt: &sdk.InterruptStep{
			Prompt: "Hit any key to stop autoboot", Newline: true, BootloaderPrompt: prompt, Errors: []string{"TIMEOUT"}}},
		{Kind: sdk.StepCommands, Name: "bootloader-commands", Commands: &sdk.CommandsStep{
			Commands: []string{"dhcp", "tftp " + addr + " " + req.Worker.Artifacts["kernel"].TFTPPath, "booti " + addr + " - ${fdtcontroladdr}"},
			Prompt:   prompt, Errors: []string{"TIMEOUT"}, Final: []string{"Starting kernel"}}},
		{Kind: sdk.StepExpect, Name: "kernel-start", Expect: &sdk.ExpectStep{Patterns: []sdk.Pattern{
			{Regex: "Linux version [0-9]"}, {Regex: "Kernel panic - not syncing", Fail: true, Message: "kernel panic"}}}},
		{Kind: sdk.StepLogin, Name: "auto-login-action", Login: &sdk.LoginStep{LoginPrompt: "login:", Username: "root"}},
		{Kind: sdk.StepShell, Name: "expect-shell-connection", Shell: &sdk.ShellStep{Prompts: a.Params.Strings("prompts")}},
	}}, nil
}

func main() { sdk.Run(driver{}) }
