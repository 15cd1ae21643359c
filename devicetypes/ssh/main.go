package main

import (
	_ "embed"
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
	deployMethods = []string{"ssh"}
	bootMethods   = []string{"ssh"}
)

type driver struct{ drv.Info }

func newDriver() driver {
	return driver{drv.Info{
		Name: "ssh", Version: version, Settings: settings,
		Summary:       "A device reached over SSH from the worker (LAVA's ssh device type): the test shell runs in an ssh session",
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
	switch a.Kind {
	case sdk.ActionDeploy:
		if a.Method != "ssh" {
			return sdk.Plan{}, drv.Unsupported(d.Name, a, deployMethods)
		}
		// The device runs its own OS: nothing to put on it but the test
		// overlay, which the test shell sends over the session.
		return drv.Empty(), nil
	case sdk.ActionBoot:
		if a.Method != "ssh" {
			return sdk.Plan{}, drv.Unsupported(d.Name, a, bootMethods)
		}
		return boot(a.Params, s)
	case sdk.ActionTest:
		return drv.TestPlan(s), nil
	case sdk.ActionCommand:
		return drv.CommandPlan(a.Method, s)
	}
	return sdk.Plan{}, sdk.Errorf(sdk.ErrorBug, "unknown action kind %q", a.Kind)
}

// localCommandOptions are ssh options that run a command on the worker:
// refused, whoever set them (the ssh tool is allowed to reach a device,
// not to run programs on the worker).
var localCommandOptions = []string{"proxycommand", "localcommand", "permitlocalcommand", "knownhostscommand", "match"}

// Args returns ssh's arguments: LAVA's ConnectSsh command without the
// program name: ssh_options, then -o UserKnownHostsFile=/dev/null -o
// StrictHostKeyChecking=no, -i ssh_identity_file when set, -p ssh_port,
// and ssh_user@ssh_host.
func Args(s sdk.Values) ([]string, error) {
	host := s.String("ssh_host", "")
	if host == "" {
		return nil, sdk.Errorf(sdk.ErrorConfiguration, "ssh: the device dictionary gives no ssh_host")
	}
	if strings.HasPrefix(host, "-") || strings.ContainsAny(host, " @\t\n") {
		return nil, sdk.Errorf(sdk.ErrorConfiguration, "ssh: ssh_host %q is not a host name or address", host)
	}
	user := s.String("ssh_user", "root")
	if user == "" || strings.HasPrefix(user, "-") || strings.ContainsAny(user, " @\t\n") {
		return nil, sdk.Errorf(sdk.ErrorConfiguration, "ssh: ssh_user %q is not a user name", user)
	}
	port := s.String("ssh_port", "22")
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return nil, sdk.Errorf(sdk.ErrorConfiguration, "ssh: ssh_port %q is not a port number", port)
	}
	opts := s.Strings("ssh_options")
	for _, o := range opts {
		key := strings.ToLower(strings.TrimLeft(o, "-o "))
		if key == "" {
			continue
		}
		for _, bad := range localCommandOptions {
			if strings.HasPrefix(key, bad) {
				return nil, sdk.Errorf(sdk.ErrorConfiguration, "ssh: ssh_options %q would run a command on the worker: refused", o)
			}
		}
		if o == "-F" || strings.HasPrefix(o, "-F") {
			return nil, sdk.Errorf(sdk.ErrorConfiguration, "ssh: ssh_options %q names another ssh configuration file: refused", o)
		}
	}
	args := append(opts, "-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no")
	if id := s.String("ssh_identity_file", ""); id != "" {
		args = append(args, "-i", id)
	}
	return append(args, "-p", port, user+"@"+host), nil
}

// boot opens the ssh session as the console, logs in when the job asks
// (auto_login: a login prompt on the session) and waits for the prompts.
func boot(p, s sdk.Values) (sdk.Plan, error) {
	args, err := Args(s)
	if err != nil {
		return sdk.Plan{}, err
	}
	if len(p.Strings("prompts")) == 0 {
		return sdk.Plan{}, sdk.Errorf(sdk.ErrorJob, "boot method ssh needs `prompts`: the shell prompt of the session")
	}
	tail, err := drv.BootTail(p, s, false)
	if err != nil {
		return sdk.Plan{}, err
	}
	steps := []sdk.Step{{Kind: sdk.StepConnect, Name: "ssh-connection", Connect: &sdk.ConnectStep{Tool: &sdk.ToolStep{Name: "ssh", Args: args}}}}
	return sdk.Plan{Steps: append(steps, tail...)}, nil
}
