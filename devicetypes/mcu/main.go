package main

import (
	_ "embed"
	"slices"

	"github.com/lavalab/lavalab/devicetypes/internal/drv"
	"github.com/lavalab/lavalab/sdk"
)

//go:embed settings.yaml
var settings []byte

const version = "1.0.0"

var (
	deployMethods = []string{"tmpfs", "musca", "mps"}
	bootMethods   = []string{"qemu", "gdb", "pyocd", "jlink", "openocd", "dfu", "cmsis-dap", "musca"}
)

type driver struct{ drv.Info }

func newDriver() driver {
	return driver{drv.Info{
		Name: "mcu", Version: version, Settings: settings,
		Summary:       "Microcontroller board flashed by a host tool (LAVA's pyocd, jlink, openocd, dfu, gdb, cmsis-dap, musca), or the virtual Cortex-M board (QEMU mps2-an385); tests are monitors on the UART",
		DeployMethods: deployMethods, BootMethods: bootMethods,
	}.Parsed()}
}

func main() { sdk.Run(newDriver()) }

func (d driver) Plan(req sdk.PlanRequest) (sdk.Plan, error) {
	specs, err := d.Specs()
	if err != nil {
		return sdk.Plan{}, err
	}
	s := drv.Effective(specs, req)
	a := req.Action
	switch a.Kind {
	case sdk.ActionDeploy:
		switch a.Method {
		case "tmpfs":
			return drv.Empty(), nil
		case "musca":
			return deployMusca(req, s)
		case "mps":
			return deployMPS(req, s)
		}
		return sdk.Plan{}, drv.Unsupported(d.Name, a, deployMethods)
	case sdk.ActionBoot:
		if !slices.Contains(bootMethods, a.Method) {
			return sdk.Plan{}, drv.Unsupported(d.Name, a, bootMethods)
		}
		return boot(req, s)
	case sdk.ActionTest:
		if ms := sdk.MonitorsOf(a.Params); ms != nil {
			return sdk.Plan{Steps: []sdk.Step{{Kind: sdk.StepMonitor, Name: "lava-test-monitor", Monitor: &sdk.MonitorStep{Monitors: ms}}}}, nil
		}
		return drv.TestPlan(s), nil
	case sdk.ActionCommand:
		return drv.CommandPlan(a.Method, s)
	}
	return sdk.Plan{}, sdk.Errorf(sdk.ErrorBug, "unknown action kind %q", a.Kind)
}
