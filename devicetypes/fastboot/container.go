package main

import (
	"github.com/lavalab/lavalab/sdk"
)

// runner turns a host tool's argument vector into a tool step: the tool
// itself, or with LAVA's `docker:` option the container engine running it
// inside the named image.
type runner struct {
	// engine is the container engine CLI (docker, podman); "" runs the
	// tools on the worker.
	engine string
	image  string
	// local is the docker option's `local: true`: the image must already
	// be on the worker (no pull).
	local bool
	// runOptions come after `run` (uuu: -t --privileged --volume=/dev:/dev --net=host).
	runOptions []string
	// devices are passed through with --device (the board's USB devices).
	devices []string
}

// newRunner reads the action's `docker:` option ({image, local}); image
// overrides it when the action gives none (uuu_docker_image).
func newRunner(a sdk.Action, s sdk.Values, image string) (runner, error) {
	r := runner{}
	if d := a.Params.Map("docker"); d != nil {
		image = d.String("image", "")
		if image == "" {
			return r, sdk.Errorf(sdk.ErrorJob, "%s %s: the docker option needs an `image`", a.Kind, a.Method)
		}
		r.local = d.Bool("local", false)
	} else if a.Params.Has("docker") {
		return r, sdk.Errorf(sdk.ErrorJob, "%s %s: docker must be a mapping with an `image`", a.Kind, a.Method)
	}
	if image == "" {
		return r, nil
	}
	r.engine = s.String("container_engine", "docker")
	if !sdk.ValidToolName(r.engine) {
		return r, sdk.Errorf(sdk.ErrorConfiguration, "container_engine %q is not a host tool name (docker or podman)", r.engine)
	}
	r.image = image
	r.devices = s.Strings("docker_device_nodes")
	return r, nil
}

// prepare is the step that makes sure the image is there before the first
// tool runs, as LAVA validates a docker option: pull it, or with `local:
// true` check that the worker has it.
func (r runner) prepare() []sdk.Step {
	if r.engine == "" {
		return nil
	}
	if r.local {
		return []sdk.Step{tool(r.engine, "docker-image-inspect", "image", "inspect", "--format=Image "+r.image+" exists locally", r.image)}
	}
	return []sdk.Step{tool(r.engine, "docker-pull", "pull", r.image)}
}

// step runs argv (argv[0] is the tool) on the worker or in the container;
// files are the worker's files the arguments name, bind-mounted at the
// same paths in the container.
func (r runner) step(label string, argv []string, files ...string) sdk.Step {
	if r.engine == "" {
		return tool(argv[0], label, argv[1:]...)
	}
	return tool(r.engine, label, r.containerArgs(argv, files)...)
}

// containerArgs is `ENGINE run [runOptions] --rm --init --device=...
// --mount=type=bind,... IMAGE argv...`, LAVA's DockerRun command line.
func (r runner) containerArgs(argv, files []string) []string {
	args := []string{"run"}
	args = append(args, r.runOptions...)
	args = append(args, "--rm", "--init")
	for _, d := range r.devices {
		args = append(args, "--device="+d)
	}
	seen := map[string]bool{}
	for _, f := range files {
		if f == "" || seen[f] {
			continue
		}
		seen[f] = true
		args = append(args, "--mount=type=bind,source="+f+",destination="+f)
	}
	args = append(args, r.image)
	return append(args, argv...)
}
