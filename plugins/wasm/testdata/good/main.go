// Command good is a well-behaved test driver. Its version and device type are
// set at build time (-ldflags "-X main.version=... -X main.deviceType=...");
// every step name carries the version so a test can tell which version
// answered.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/lavalab/lavalab/sdk"
)

var (
	version    = "1.0.0"
	deviceType = "qemu-test"
	name       = "testdrv"
)

type driver struct{}

func (driver) Describe() sdk.Description {
	return sdk.Description{
		Name:        name,
		Version:     version,
		DeviceTypes: []string{deviceType},
		BootMethods: []string{"u-boot"},
		Settings:    []sdk.SettingSpec{{Key: "console_device", Type: sdk.SettingString, Default: "ttyS0", Help: "console"}},
		Summary:     "test driver",
	}
}

func (driver) Plan(req sdk.PlanRequest) (sdk.Plan, error) {
	fmt.Fprintf(os.Stderr, "planning job %s action %s\n", req.JobID, req.Action.Kind)
	if req.Action.Kind == "fail" {
		return sdk.Plan{}, sdk.Errorf(sdk.ErrorJob, "action %q is not supported", req.Action.Method)
	}
	return sdk.Plan{Steps: []sdk.Step{
		{Kind: sdk.StepPower, Name: "power-on@" + version, Power: &sdk.PowerStep{Op: sdk.PowerOn}},
		{Kind: sdk.StepConnect, Name: "connect@" + version, Connect: &sdk.ConnectStep{Tool: &sdk.ToolStep{Name: "sh", Args: []string{"-c", "echo " + req.Device.Hostname}}}},
		{Kind: sdk.StepExpect, Name: "expect@" + version, Expect: &sdk.ExpectStep{Patterns: []sdk.Pattern{{Regex: req.Settings.String("console_device", "ttyS0")}}}},
	}}, nil
}

// warmUp runs encoding/json over the request and answer types once, before
// the request arrives. A fresh Go runtime builds its reflection caches on
// first use (several milliseconds in WebAssembly); the host starts
// instances ahead of calls, so this work is off the call's latency.
func warmUp() {
	var req sdk.Request
	_ = json.Unmarshal([]byte(`{"abi_version":2,"op":"plan","plan":{"job_id":"1","action":{"kind":"boot","method":"u-boot","params":{"a":[1,"x",true]}},"context":{"k":"v"},"settings":{"k":"v"},"device":{"hostname":"h","device_type":"d"},"worker":{"server_ip":"x","artifacts":{"kernel":{"tftp_path":"x","uboot_header":true}}}}}`), &req)
	all := sdk.Step{Power: &sdk.PowerStep{}, Connect: &sdk.ConnectStep{Serial: &sdk.SerialPort{}, Tool: &sdk.ToolStep{}}, Expect: &sdk.ExpectStep{Patterns: []sdk.Pattern{{}}},
		Send: &sdk.SendStep{}, Interrupt: &sdk.InterruptStep{}, Commands: &sdk.CommandsStep{}, Serve: &sdk.ServeStep{}, Tool: &sdk.ToolStep{}, Flash: &sdk.FlashStep{},
		Login: &sdk.LoginStep{}, Shell: &sdk.ShellStep{}, TestShell: &sdk.TestShellStep{}, Host: &sdk.HostStep{}, OnFailure: &sdk.Failure{}}
	_, _ = json.Marshal(sdk.Response{Plan: &sdk.Plan{Steps: []sdk.Step{all}}, Describe: &sdk.Description{Settings: []sdk.SettingSpec{{}}}, Error: &sdk.Error{}})
}

func main() {
	warmUp()
	sdk.Run(driver{})
}
