package main

import (
	_ "embed"
	"fmt"
	"strconv"
	"strings"

	"github.com/lavalab/lavalab/devicetypes/internal/drv"
	"github.com/lavalab/lavalab/sdk"
)

//go:embed settings.yaml
var settings []byte

const version = "1.0.0"

// Methods the driver plans for.
var (
	deployMethods = []string{"docker"}
	bootMethods   = []string{"docker"}
)

type driver struct{ drv.Info }

func newDriver() driver {
	return driver{drv.Info{
		Name: "docker", Version: version, Settings: settings,
		Summary:       "A container on the worker as the device under test (LAVA's docker device type): docker or podman run in a pty is the console",
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
	// The docker_* settings say what the container may reach on the
	// worker (privileged, devices, volumes): a job's context does not set
	// them, only the admin and the device dictionary.
	ctx := sdk.Values{}
	for k, v := range req.Context {
		if !strings.HasPrefix(k, "docker_") {
			ctx[k] = v
		}
	}
	req.Context = ctx
	s := drv.Effective(specs, req)
	a := req.Action
	switch a.Kind {
	case sdk.ActionDeploy:
		if a.Method != "docker" {
			return sdk.Plan{}, drv.Unsupported(d.Name, a, deployMethods)
		}
		return deploy(a.Params, s)
	case sdk.ActionBoot:
		if a.Method != "docker" {
			return sdk.Plan{}, drv.Unsupported(d.Name, a, bootMethods)
		}
		return boot(req, s)
	case sdk.ActionTest:
		return drv.TestPlan(s), nil
	case sdk.ActionCommand:
		return drv.CommandPlan(a.Method, s)
	}
	return sdk.Plan{}, sdk.Errorf(sdk.ErrorBug, "unknown action kind %q", a.Kind)
}

// engine returns the engine's tool name and its global options (the
// remote engine).
func engine(s sdk.Values) (string, []string, error) {
	name := s.String("docker_engine", "docker")
	if name != "docker" && name != "podman" {
		return "", nil, sdk.Errorf(sdk.ErrorConfiguration, "docker: docker_engine %q is neither docker nor podman", name)
	}
	var global []string
	if r := s.String("docker_remote", ""); r != "" {
		if strings.HasPrefix(r, "-") || strings.ContainsAny(r, " \t\r\n") {
			return "", nil, sdk.Errorf(sdk.ErrorConfiguration, "docker: docker_remote %q is not an address", r)
		}
		if name == "podman" {
			global = append(global, "--url="+r)
		} else {
			global = append(global, "--host="+r)
		}
	}
	return name, global, nil
}

// image reads a deploy's `image`: a name, or {name, local}.
func image(p sdk.Values) (string, bool, error) {
	var name string
	var local bool
	switch v := p["image"].(type) {
	case string:
		name = v
	case map[string]any:
		name, local = sdk.Values(v).String("name", ""), sdk.Values(v).Bool("local", false)
	}
	if name == "" {
		return "", false, sdk.Errorf(sdk.ErrorJob, "deploy to docker needs `image`: an image name, or {name: ..., local: true}")
	}
	if !validImage(name) {
		return "", false, sdk.Errorf(sdk.ErrorJob, "deploy to docker: %q is not an image name", name)
	}
	return name, local, nil
}

// validImage: an image reference, never an option of the engine.
func validImage(name string) bool {
	return name != "" && !strings.HasPrefix(name, "-") && !strings.ContainsAny(name, " \t\r\n")
}

// deploy pulls the image, or checks that a local one is there (LAVA's
// deploy-docker: `docker pull`, or `docker image inspect` with local: true).
func deploy(p, s sdk.Values) (sdk.Plan, error) {
	name, global, err := engine(s)
	if err != nil {
		return sdk.Plan{}, err
	}
	img, local, err := image(p)
	if err != nil {
		return sdk.Plan{}, err
	}
	args := append(global, "pull", img)
	step := "docker-pull"
	if local {
		args = append(global, "image", "inspect", "--format=Image "+img+" exists locally", img)
		step = "docker-image-inspect"
	}
	return sdk.Plan{Steps: []sdk.Step{{Kind: sdk.StepTool, Name: step, Tool: &sdk.ToolStep{Name: name, Args: args}}}}, nil
}

// RunArgs returns the engine's arguments of the boot: LAVA's boot-docker
// command line without the program name.
func RunArgs(req sdk.PlanRequest, s sdk.Values) (string, []string, error) {
	name, args, err := engine(s)
	if err != nil {
		return "", nil, err
	}
	a, ok := req.Worker.Artifacts["image"]
	if !ok || a.Image == "" {
		return "", nil, sdk.Errorf(sdk.ErrorJob, "boot method docker needs a `deploy: to: docker` before it (no image deployed)")
	}
	if !validImage(a.Image) {
		return "", nil, sdk.Errorf(sdk.ErrorJob, "boot method docker: %q is not an image name", a.Image)
	}
	cmd := strings.Fields(req.Action.Params.String("command", ""))
	if len(cmd) == 0 {
		return "", nil, sdk.Errorf(sdk.ErrorJob, "boot method docker needs `command`: the program the container runs as its console (e.g. sh or bash)")
	}
	// --init (not in LAVA's line): an init process is the container's
	// PID 1 and hands the console's hangup to the command, so closing the
	// console ends the container and --rm removes it; a shell as PID 1
	// ignores the hangup and the container would outlive the job.
	args = append(args, "run", "--rm", "--init", "--interactive", "--tty", "--hostname", "lava",
		"--name", fmt.Sprintf("lava-%s-%s", req.JobID, req.Action.Level))
	if c := s.String("docker_cpus", "0"); !isZero(c) {
		args = append(args, "--cpus="+c)
	}
	if m := s.String("docker_memory", "0"); !isZero(m) {
		args = append(args, "--memory="+m)
	}
	if s.Bool("docker_privileged", false) {
		args = append(args, "--privileged")
	}
	for _, o := range []struct{ key, flag string }{
		{"docker_capabilities", "--cap-add"}, {"docker_devices", "--device"},
		{"docker_networks", "--network"}, {"docker_volumes", "--volume"},
	} {
		for _, v := range s.Strings(o.key) {
			if v == "" || strings.HasPrefix(v, "-") {
				return "", nil, sdk.Errorf(sdk.ErrorConfiguration, "docker: %s entry %q is not a value of %s", o.key, v, o.flag)
			}
			args = append(args, o.flag+"="+v)
		}
	}
	args = append(args, s.Strings("docker_extra_arguments")...)
	args = append(args, a.Image)
	return name, append(args, cmd...), nil
}

// isZero: a cpus or memory value that means no limit (LAVA's 0.0 and 0).
func isZero(v string) bool {
	v = strings.TrimSpace(v)
	f, err := strconv.ParseFloat(v, 64)
	return v == "" || err == nil && f == 0
}

// boot runs the container with a pty as the console, logs in when the job
// asks and waits for the job's prompts.
func boot(req sdk.PlanRequest, s sdk.Values) (sdk.Plan, error) {
	name, args, err := RunArgs(req, s)
	if err != nil {
		return sdk.Plan{}, err
	}
	tail, err := drv.BootTail(req.Action.Params, s, false)
	if err != nil {
		return sdk.Plan{}, err
	}
	steps := []sdk.Step{{Kind: sdk.StepConnect, Name: "boot-docker", Connect: &sdk.ConnectStep{Tool: &sdk.ToolStep{Name: name, Args: args}}}}
	return sdk.Plan{Steps: append(steps, tail...)}, nil
}
