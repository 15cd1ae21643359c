// Command plugin is a native test driver (sdk/plugin.Serve). Its plan
// misbehaves on request: action kind "exit" exits mid-call, "crash" panics
// in a goroutine (which kills the process), "sleep" never answers. A boot
// plan has no step; any other action flashes.
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/lavalab/lavalab/sdk"
	"github.com/lavalab/lavalab/sdk/plugin"
)

var version = "1.0.0"

type driver struct{}

func (driver) Describe() sdk.Description {
	return sdk.Description{Name: "native-test", Version: version, DeviceTypes: []string{"native-board"},
		DeployMethods: []string{"flasher"}, BootMethods: []string{"minimal"}}
}

func (driver) Plan(req sdk.PlanRequest) (sdk.Plan, error) {
	fmt.Fprintf(os.Stderr, "native planning job %s\n", req.JobID)
	switch req.Action.Kind {
	case "exit":
		os.Exit(7)
	case "crash":
		done := make(chan struct{})
		go func() { panic("native boom") }()
		<-done
	case "sleep":
		time.Sleep(time.Hour)
	case "fail":
		return sdk.Plan{}, sdk.Errorf(sdk.ErrorInfrastructure, "no flasher attached")
	case sdk.ActionBoot:
		// Nothing to run on the host or the console: the end-to-end test
		// of a job on a worker (cmd/lava-worker) needs no board.
		return sdk.Plan{Steps: []sdk.Step{}}, nil
	}
	return sdk.Plan{Steps: []sdk.Step{
		{Kind: sdk.StepFlash, Name: "flash@" + version, Flash: &sdk.FlashStep{Command: []string{"uuu", "-b", "emmc", req.Device.Hostname}}},
	}}, nil
}

func main() { plugin.Serve(driver{}) }
