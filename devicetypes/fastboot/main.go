package main

import (
	_ "embed"
	"slices"
	"sort"
	"strings"

	"github.com/lavalab/lavalab/devicetypes/internal/drv"
	"github.com/lavalab/lavalab/devicetypes/internal/ubootboard"
	"github.com/lavalab/lavalab/sdk"
)

//go:embed settings.yaml
var settings []byte

// version is the driver's version, reported by describe.
const version = "1.0.0"

// Methods the driver plans for.
var (
	deployMethods = []string{"fastboot", "uuu", "recovery", "downloads"}
	bootMethods   = []string{"fastboot", "uuu", "recovery"}
)

type driver struct{ drv.Info }

func newDriver() driver {
	return driver{drv.Info{
		Name: "fastboot", Version: version, Settings: settings,
		Summary:       "Android and i.MX boards flashed from the worker: fastboot, adb, uuu, bcu and recovery mode (LAVA's base-fastboot)",
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
	var steps []sdk.Step
	switch a.Kind {
	case sdk.ActionDeploy:
		switch a.Method {
		case "fastboot":
			steps, err = deployFastboot(req, s)
		case "uuu":
			steps, err = deployUUU(req)
		case "recovery":
			steps, err = deployRecovery(req)
		case "downloads":
			steps, err = deployDownloads(req, s)
		default:
			return sdk.Plan{}, drv.Unsupported(d.Name, a, deployMethods)
		}
	case sdk.ActionBoot:
		switch a.Method {
		case "fastboot":
			steps, err = bootFastboot(req, s)
		case "uuu":
			steps, err = bootUUU(req, s)
		case "recovery":
			steps, err = bootRecovery(req, s)
		default:
			return sdk.Plan{}, drv.Unsupported(d.Name, a, bootMethods)
		}
	case sdk.ActionTest:
		return drv.TestPlan(s), nil
	case sdk.ActionCommand:
		return drv.CommandPlan(a.Method, s)
	default:
		return sdk.Plan{}, sdk.Errorf(sdk.ErrorBug, "unknown action kind %q", a.Kind)
	}
	if err != nil {
		return sdk.Plan{}, err
	}
	if steps == nil {
		steps = []sdk.Step{}
	}
	return sdk.Plan{Steps: steps}, nil
}

// images returns the names of the action's `images` mapping, sorted, or an
// error naming the method when it has none.
func images(a sdk.Action) ([]string, error) {
	m := a.Params.Map("images")
	if len(m) == 0 {
		return nil, sdk.Errorf(sdk.ErrorJob, "deploy to %s needs `images` (a mapping of partition or image names to urls)", a.Method)
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names, nil
}

// imagePath is the worker's path of a deployed image.
func imagePath(req sdk.PlanRequest, name string) (string, error) {
	art, ok := req.Worker.Artifacts[name]
	if !ok || art.LocalPath == "" {
		return "", sdk.Errorf(sdk.ErrorJob, "no image %q was deployed (the deploy action's images name %v)", name, artifactNames(req.Worker))
	}
	return art.LocalPath, nil
}

func artifactNames(w sdk.WorkerFacts) []string {
	var out []string
	for k := range w.Artifacts {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// tool is a tool step.
func tool(name, label string, argv ...string) sdk.Step {
	return sdk.Step{Kind: sdk.StepTool, Name: label, Tool: &sdk.ToolStep{Name: name, Args: argv}}
}

// connect opens the board's console of the device dictionary.
func connect() sdk.Step {
	return sdk.Step{Kind: sdk.StepConnect, Name: "connect-device", Connect: &sdk.ConnectStep{Connection: sdk.DefaultConnection}}
}

func power(op, name string) sdk.Step {
	return sdk.Step{Kind: sdk.StepPower, Name: name, Power: &sdk.PowerStep{Op: op}}
}

// has reports whether the dictionary sets a command for key.
func has(s sdk.Values, key string) bool {
	return slices.ContainsFunc(s.Strings(key), func(c string) bool { return strings.TrimSpace(c) != "" })
}

// prompts returns the boot tail of a boot action: auto_login, then a wait
// for one of the prompts, when the job gives them.
func promptsTail(a sdk.Action, s sdk.Values) ([]sdk.Step, error) {
	return drv.BootTail(a.Params, s, false)
}

// powerCycle is the U-Boot boards' power cycle (hard reset, else off, pre
// power, on).
func powerCycle(s sdk.Values) []sdk.Step { return ubootboard.PowerCycle(s) }
