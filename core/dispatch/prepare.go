package dispatch

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/lavalab/lavalab/core/artifacts"
	"github.com/lavalab/lavalab/core/devdict"
	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/sandbox"
	"github.com/lavalab/lavalab/sdk"
)

// Defaults of LAVA's timeout rules (lava_common/constants.py and base.jinja2).
const (
	// DefaultActionTimeout is ACTION_TIMEOUT: an action with no timeout of
	// its own, in timeouts.actions or in timeouts.action.
	DefaultActionTimeout = job.DefaultTimeout
	// DefaultPowerOffTimeout bounds the final power off (base.jinja2's
	// power-off timeout), unless timeouts.actions.power-off says otherwise.
	DefaultPowerOffTimeout = 10 * time.Second
)

// jobError is an error with a LAVA error type.
type jobError struct {
	Type string
	Err  error
}

func (e *jobError) Error() string { return e.Err.Error() }
func (e *jobError) Unwrap() error { return e.Err }

func errorf(typ, format string, args ...any) error {
	return &jobError{Type: typ, Err: fmt.Errorf(format, args...)}
}

// errorType returns the LAVA error type of err, or def when it carries none.
func errorType(err error, def string) string {
	var je *jobError
	if errors.As(err, &je) && je.Type != "" {
		return je.Type
	}
	var se *sdk.Error
	if errors.As(err, &se) {
		if se.Type == "" {
			return sdk.ErrorConfiguration
		}
		return se.Type
	}
	return def
}

// stage is one job action with its LAVA timeout and retry count.
type stage struct {
	Index   int // position in the actions list
	Name    string
	Action  sdk.Action
	Timeout time.Duration
	Retry   int
	// TestStage is the overlay stage of a test action with definitions, else -1.
	TestStage int
	// Resources are the url artifacts of a deploy action, by role.
	Resources []resource
}

type resource struct {
	Role   string
	Res    artifacts.Resource
	Params sdk.Values // the role's mapping (type, header, install_overlay, image_arg, format)
}

// prepared is a parsed, checked job for one device.
type prepared struct {
	Def      *job.Definition
	Dict     *devdict.Dictionary
	Device   string
	Settings map[string]any
	// Admin are the admin's layers of Settings (device-type settings, then
	// the dictionary), without the driver's defaults: where the sandbox
	// takes command lines from.
	Admin      map[string]any
	Stages     []stage
	JobTimeout time.Duration
	HasTests   bool
}

// prepare parses the job and the dictionary, merges the settings and lays
// out the stages. Errors carry their LAVA error type.
func prepare(r Request) (*prepared, error) {
	if r.Driver == nil {
		return nil, errorf(sdk.ErrorConfiguration, "no driver for the device type")
	}
	def, rep := job.Parse(r.Definition)
	if !rep.OK() {
		return nil, errorf(sdk.ErrorJob, "invalid job definition: %v", rep.Err())
	}
	if def.IsMultinode() {
		return nil, errorf(sdk.ErrorJob, "multinode jobs are split by the server; run one role's sub-job")
	}
	dict, err := devdict.Parse(r.Dictionary)
	if err != nil {
		return nil, errorf(sdk.ErrorConfiguration, "device dictionary: %v", err)
	}
	desc := r.Driver.Describe()
	settings := devdict.Merge(map[string]any(sdk.SettingDefaults(desc.Settings)), r.Settings, dict.Values)
	if r.SettingsFinal {
		settings = devdict.Merge(map[string]any(sdk.SettingDefaults(desc.Settings)), r.Settings)
	}
	p := &prepared{Def: def, Dict: dict, Settings: settings, Admin: sandbox.AdminLayers(desc, r.Settings, dict.Values), Device: r.DeviceName}
	if p.Device == "" {
		p.Device = sdk.Values(settings).String("hostname", "device")
	}
	p.JobTimeout = def.Timeouts.Job
	if p.JobTimeout <= 0 {
		p.JobTimeout = DefaultActionTimeout
	}
	retryDefault := sdk.Values(settings).Int("failure_retry", 1)
	testStage := 0
	for i, a := range def.Actions {
		st := stage{
			Index: i,
			Name:  stageName(a),
			Action: sdk.Action{
				Kind: a.Kind, Method: a.Method, Level: strconv.Itoa(i + 1),
				Namespace: a.Namespace, Params: sdk.Values(a.Params),
			},
			TestStage: -1,
		}
		st.Timeout = actionTimeout(def.Timeouts, a, st.Name)
		st.Retry = a.FailureRetry
		if st.Retry <= 0 {
			st.Retry = max(retryDefault, 1)
		}
		if a.Kind == sdk.ActionTest && a.Params["definitions"] != nil {
			st.TestStage = testStage
			testStage++
			p.HasTests = true
		}
		if a.Kind == sdk.ActionDeploy && a.Method != "docker" { // issue 21: a container image, no url
			if st.Resources, err = resources(st.Action.Params); err != nil {
				return nil, errorf(sdk.ErrorJob, "actions[%d] (%s): %v", i, st.Name, err)
			}
		}
		p.Stages = append(p.Stages, st)
	}
	return p, nil
}

// stageName is LAVA's name of the top-level action of a job action.
func stageName(a job.Action) string {
	switch a.Kind {
	case sdk.ActionDeploy:
		if n, ok := lavaDeployNames17[a.Method]; ok {
			return n
		}
		return a.Method + "-deploy"
	case sdk.ActionBoot:
		if n, ok := lavaBootNames17[a.Method]; ok {
			return n
		}
		if a.Method == "u-boot" {
			return "uboot-action"
		}
		return a.Method + "-boot"
	case sdk.ActionTest:
		if a.Params["monitors"] != nil { // issue 18
			return monitorStageName
		}
		if a.Params["interactive"] != nil {
			return "lava-test-interactive-retry"
		}
		return "lava-test-retry"
	case sdk.ActionCommand:
		return "command"
	}
	return a.Kind
}

// actionTimeout applies LAVA's rules for a top-level action: its own
// `timeout`, else timeouts.actions.<name>, else timeouts.action, else
// ACTION_TIMEOUT.
func actionTimeout(t job.Timeouts, a job.Action, name string) time.Duration {
	if a.Timeout > 0 {
		return a.Timeout
	}
	if d, ok := t.Actions[name]; ok && d > 0 {
		return d
	}
	if t.Action > 0 {
		return t.Action
	}
	return DefaultActionTimeout
}

// stepTimeout bounds one step: timeouts.actions.<step name> from the job
// wins over the driver's timeout; for the steps that wait on the console,
// timeouts.connections.<step name> (else timeouts.connection) caps it. 0 means
// the stage's deadline alone.
func stepTimeout(t job.Timeouts, s sdk.Step) time.Duration {
	d := time.Duration(s.TimeoutMS) * time.Millisecond
	if x, ok := t.Actions[s.Name]; ok && x > 0 {
		d = x
	}
	switch s.Kind {
	case sdk.StepExpect, sdk.StepShell, sdk.StepLogin, sdk.StepInterrupt:
		c := t.Connection
		if x, ok := t.Connections[s.Name]; ok && x > 0 {
			c = x
		}
		if c > 0 && (d == 0 || c < d) {
			d = c
		}
	}
	return d
}

// commandTimeout bounds each wait of a bootloader commands step (the prompt
// after a command, the final message after the last): LAVA's connection
// timeout, timeouts.connections.<step name> (bootloader-commands), else
// timeouts.connection. 0 means the step's deadline alone.
func commandTimeout(t job.Timeouts, s sdk.Step) time.Duration {
	if x, ok := t.Connections[s.Name]; ok && x > 0 {
		return x
	}
	return max(t.Connection, 0)
}

// artifactRoles are the keys of a deploy action that hold url resources.
var artifactRoles = []string{"kernel", "ramdisk", "initrd", "dtb", "tee", "modules", "nfsrootfs", "preseed", "rootfs", "image", "dtbo", "nbdroot"}

// resources lists the url resources of a deploy action: the known roles in
// a fixed order, then the images of a tmpfs/images deploy by name.
func resources(params sdk.Values) ([]resource, error) {
	var out []resource
	add := func(role string, m sdk.Values) error {
		u := m.String("url", "")
		if u == "" {
			return fmt.Errorf("%s: no url", role)
		}
		res := artifacts.Resource{
			URL: u, Compression: m.String("compression", ""),
			SHA256: m.String("sha256sum", ""), MD5: m.String("md5sum", ""), SHA512: m.String("sha512sum", ""),
		}
		if res.Compression == "none" {
			res.Compression = ""
		}
		if m.String("archive", "") == "tar" || role == "nfsrootfs" {
			res.Archive = "tar"
		}
		if h := m.Map("headers"); h != nil {
			res.Headers = map[string]string{}
			for k := range h {
				res.Headers[k] = h.String(k, "")
			}
		}
		out = append(out, resource{Role: role, Res: res, Params: m})
		return nil
	}
	for _, role := range artifactRoles {
		m := params.Map(role)
		if m == nil {
			continue
		}
		if err := add(role, m); err != nil {
			return nil, err
		}
	}
	if imgs := params.Map("images"); imgs != nil {
		for _, name := range slices.Sorted(maps.Keys(imgs)) {
			// LAVA's qemu jobs name their images by role (images.kernel,
			// images.initrd): that is fine unless the deploy also gives the
			// role at its top level.
			if slices.Contains(artifactRoles, name) && params.Map(name) != nil {
				return nil, fmt.Errorf("images.%s: %s is also given at the top of the deploy action; give it once", name, name)
			}
			if err := add(name, imgs.Map(name)); err != nil {
				return nil, fmt.Errorf("images.%w", err)
			}
		}
	}
	return out, nil
}
