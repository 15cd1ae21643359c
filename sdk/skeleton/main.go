// Command myboard is a skeleton WASM device-type driver to copy: a U-Boot
// board booted over TFTP (booti). Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -o myboard.wasm .
//
// and test it with `go test` (main_test.go runs it through the sdktest
// kit). See ../README.md, "From nothing to a loaded driver".
package main

import (
	_ "embed"
	"fmt"
	"maps"

	"github.com/lavalab/lavalab/sdk"
)

//go:embed settings.yaml
var settings []byte

// version is the driver's version, reported by describe (a var so a
// build can set it: -ldflags "-X main.version=1.1.0").
var version = "0.1.0"

type driver struct{}

func (driver) Describe() sdk.Description {
	specs, _ := sdk.ParseSettings(settings) // main_test.go makes sure it parses
	return sdk.Description{
		Name: "myboard", Version: version, DeviceTypes: []string{"myboard"},
		Summary:  "My board, booted by U-Boot over TFTP",
		Settings: specs, DeployMethods: []string{"tftp"}, BootMethods: []string{"u-boot"},
	}
}

func (d driver) Plan(req sdk.PlanRequest) (sdk.Plan, error) {
	specs, err := sdk.ParseSettings(settings)
	if err != nil {
		return sdk.Plan{}, sdk.Errorf(sdk.ErrorBug, "settings.yaml: %v", err)
	}
	// The host sends the merged settings; the defaults are a safety net.
	s := sdk.SettingDefaults(specs)
	maps.Copy(s, req.Settings)
	a := req.Action
	switch {
	case a.Kind == sdk.ActionDeploy && a.Method == "tftp":
		return sdk.Plan{Steps: []sdk.Step{{Kind: sdk.StepServe, Name: "tftp-deploy",
			Serve: &sdk.ServeStep{Roles: []string{"kernel", "ramdisk", "dtb"}, TFTP: true}}}}, nil
	case a.Kind == sdk.ActionBoot && a.Method == "u-boot":
		return boot(req, s)
	case a.Kind == sdk.ActionTest:
		return sdk.Plan{Steps: []sdk.Step{{Kind: sdk.StepTestShell, Name: "lava-test-shell", TestShell: &sdk.TestShellStep{}}}}, nil
	}
	return sdk.Plan{}, sdk.Errorf(sdk.ErrorJob, "myboard has no %s method %q", a.Kind, a.Method)
}

// boot connects to the board's console, resets it, stops U-Boot, loads the
// kernel, ramdisk and dtb over TFTP and boots them, then waits for the
// kernel, logs in when the job asks and waits for the job's prompt.
func boot(req sdk.PlanRequest, s sdk.Values) (sdk.Plan, error) {
	w := req.Worker
	kernel, ok := w.Artifacts["kernel"]
	if !ok {
		return sdk.Plan{}, sdk.Errorf(sdk.ErrorJob, "boot needs a deployed kernel")
	}
	if w.ServerIP == "" {
		return sdk.Plan{}, sdk.Errorf(sdk.ErrorInfrastructure, "the worker gave no server_ip")
	}
	k, r, d := s.String("booti_kernel_addr", ""), s.String("booti_ramdisk_addr", ""), s.String("booti_dtb_addr", "")
	cmds := []string{"setenv autoload no", "dhcp", "setenv serverip " + w.ServerIP, "tftp " + k + " " + kernel.TFTPPath}
	rd := "-"
	if ramdisk, ok := w.Artifacts["ramdisk"]; ok {
		cmds = append(cmds, "tftp "+r+" "+ramdisk.TFTPPath, "setenv initrd_size ${filesize}")
		rd = r
	}
	if dtb, ok := w.Artifacts["dtb"]; ok {
		cmds = append(cmds, "tftp "+d+" "+dtb.TFTPPath)
	}
	cmds = append(cmds,
		fmt.Sprintf("setenv bootargs 'console=%s,%d root=/dev/ram0 ip=dhcp'", s.String("console_device", "ttyS0"), s.Int("baud_rate", 115200)),
		"booti "+k+" "+rd+" "+d)

	prompt := s.String("bootloader_prompt", "=>")
	steps := []sdk.Step{
		// The device dictionary's console and power commands: the driver
		// names them, the host runs the admin's own.
		{Kind: sdk.StepConnect, Name: "connect-device", Connect: &sdk.ConnectStep{Connection: sdk.DefaultConnection}},
		{Kind: sdk.StepPower, Name: "reset-device", Power: &sdk.PowerStep{Op: sdk.PowerReset}},
		{Kind: sdk.StepInterrupt, Name: "bootloader-interrupt", Interrupt: &sdk.InterruptStep{
			Prompt: s.String("interrupt_prompt", ""), Newline: true, BootloaderPrompt: prompt}},
		{Kind: sdk.StepCommands, Name: "bootloader-commands", Commands: &sdk.CommandsStep{
			Commands: cmds, Prompt: prompt, Final: []string{s.String("uboot_final_message", "Starting kernel")},
			Errors: []string{"TIMEOUT", "Retry count exceeded", "File not found", "Bad Linux ARM64 Image magic!"}}},
		{Kind: sdk.StepExpect, Name: "kernel-start", Expect: &sdk.ExpectStep{Patterns: []sdk.Pattern{
			{Regex: s.String("kernel_start_message", "Linux version [0-9]")},
			{Regex: "Kernel panic - not syncing", Fail: true, Message: "kernel panic"}}}},
	}
	p := req.Action.Params
	if al := p.Map("auto_login"); al != nil {
		steps = append(steps, sdk.Step{Kind: sdk.StepLogin, Name: "auto-login-action", Login: &sdk.LoginStep{
			LoginPrompt: al.String("login_prompt", ""), Username: al.String("username", ""),
			PasswordPrompt: al.String("password_prompt", ""), Password: al.String("password", "")}})
	}
	if prompts := p.Strings("prompts"); len(prompts) > 0 {
		steps = append(steps, sdk.Step{Kind: sdk.StepShell, Name: "expect-shell-connection", Shell: &sdk.ShellStep{Prompts: prompts}})
	}
	return sdk.Plan{Steps: steps}, nil
}

func main() { sdk.Run(driver{}) }
