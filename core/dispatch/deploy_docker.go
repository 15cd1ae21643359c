package dispatch

// Issue 21: `deploy: to: docker` (LAVA's docker device type, where a
// container is the device under test). The driver's plan pulls the image
// (or checks a local one); the dispatcher records the image as the "image"
// artifact, which the boot's plan (`boot: method: docker`) runs.

import (
	"fmt"
	"strings"

	"github.com/lavalab/lavalab/sdk"
)

// DockerImage reads a deploy to docker's `image`: a name, or a mapping
// {name, local}. A name is an image reference: it may not start with '-'
// (the engine would read an option) nor hold white space.
func DockerImage(params sdk.Values) (name string, local bool, err error) {
	switch v := params["image"].(type) {
	case string:
		name = v
	case map[string]any:
		m := sdk.Values(v)
		name, local = m.String("name", ""), m.Bool("local", false)
	case sdk.Values:
		name, local = v.String("name", ""), v.Bool("local", false)
	case nil:
		return "", false, fmt.Errorf("deploy to docker needs an `image` (a name, or {name: ..., local: true})")
	default:
		return "", false, fmt.Errorf("deploy to docker: `image` is a %T; want a name or {name: ..., local: true}", v)
	}
	if name == "" {
		return "", false, fmt.Errorf("deploy to docker: `image` has no name")
	}
	if strings.HasPrefix(name, "-") || strings.ContainsAny(name, " \t\r\n") {
		return "", false, fmt.Errorf("deploy to docker: %q is not an image name", name)
	}
	return name, local, nil
}

// deployDocker records the deploy's image for the boot's plan.
func (j *run) deployDocker(st *stage) error {
	name, local, err := DockerImage(st.Action.Params)
	if err != nil {
		return errorf(sdk.ErrorJob, "%v", err)
	}
	j.worker.Artifacts["image"] = sdk.Artifact{Image: name, LocalImage: local}
	j.log.info("deploy to docker: image %s%s", name, map[bool]string{true: " (local)"}[local])
	return nil
}
