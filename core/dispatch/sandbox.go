package dispatch

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/lavalab/lavalab/core/hosttools"
	"github.com/lavalab/lavalab/plugins"
	"github.com/lavalab/lavalab/sdk"
)

// The driver sandbox: what a plan may make the worker's host do.
//
// A WASM driver is untrusted. It never names a program: a power step names
// an operation and the host runs the device dictionary's command for it; a
// connect step names a console of the dictionary or a host tool; a host step
// names one of the dictionary's user commands; a tool step names a tool that
// the worker's admin allowed for the device (hosttools). An ABI 1 step that
// carries a command line runs only when the line is exactly the dictionary's
// own. Anything else refuses the whole plan before any step runs.
//
// A native driver is trusted admin-installed code, but its host access
// goes through the same allow list: its tool steps need the tool allowed,
// and its command lines (ABI 1 fields) run under the `sh` tool, so they need
// `sh` allowed for the device.
//
// Only the admin's layers count as the dictionary here: the device
// dictionary and the admin's device-type settings, never the driver's own
// setting defaults (a driver could otherwise put a command line there).

// toolRun is a host tool resolved by the allow list.
type toolRun struct {
	name, path string
	args       []string
}

func (t *toolRun) String() string {
	return strings.TrimSpace(t.name + " " + shellJoin(t.args))
}

// hostAction is what the host does for a step that touches the host.
type hostAction struct {
	// shell are command lines run with sh -c, in order: the dictionary's
	// (or a native driver's under the sh tool).
	shell []string
	// tool is a tool step's program.
	tool *toolRun
	// console is a resolved console: serial, tcp, telnet or a dictionary
	// command; consoleTool a console that is a host tool's terminal.
	console     *sdk.ConnectStep
	consoleTool *toolRun
}

// refusal is a step the sandbox does not run.
type refusal struct{ reason string }

func (r *refusal) Error() string { return r.reason }

func refuse(format string, args ...any) error { return &refusal{reason: fmt.Sprintf(format, args...)} }

// checkPlan admits every step of a plan before any runs. A refused step is
// a Configuration error naming the driver, its SHA-256 and the step.
func (j *run) checkPlan(plan sdk.Plan) error {
	for i, s := range plan.Steps {
		if _, err := j.admit(s); err != nil {
			var r *refusal
			if errors.As(err, &r) {
				desc := j.r.Driver.Describe()
				return errorf(sdk.ErrorConfiguration, "driver %s/%s (%s, sha256 %s) step %d %q (%s) refused, nothing of the plan was run: %s",
					desc.Name, desc.Version, plugins.KindOf(j.r.Driver), j.r.Driver.SHA256(), i, stepName(s), s.Kind, r.reason)
			}
			return err
		}
	}
	return nil
}

func (j *run) native() bool { return plugins.KindOf(j.r.Driver) == plugins.KindNative }

func (j *run) deviceType() string { return j.p.Def.DeviceType }

// admin returns the admin's layers of the settings: the device-type
// settings and the device dictionary, without the driver's defaults.
func (j *run) admin() sdk.Values { return sdk.Values(j.p.Admin) }

// tool resolves a tool step against the worker's allow list.
func (j *run) tool(t sdk.ToolStep) (*toolRun, error) {
	if err := t.Validate(); err != nil {
		return nil, refuse("%v", err)
	}
	path, err := j.d.o.Tools.Resolve(t.Name, j.p.Device, j.deviceType())
	if err != nil {
		var denied *hosttools.DeniedError
		if errors.As(err, &denied) {
			return nil, refuse("%v", err)
		}
		return nil, errorf(sdk.ErrorInfrastructure, "%v", err)
	}
	return &toolRun{name: t.Name, path: path, args: t.Args}, nil
}

// nativeShell admits a native driver's command lines: they run under the
// sh tool, so the worker must allow sh for the device.
func (j *run) nativeShell(field string, lines []string) (hostAction, error) {
	if !j.d.o.Tools.Allowed("sh", j.p.Device, j.deviceType()) {
		return hostAction{}, refuse("%s: a native driver's command line runs under the host tool \"sh\", which this worker does not allow for device %s (device type %s): its admin allows it with `lava-worker --allow-tool sh@%s`",
			field, j.p.Device, j.deviceType(), j.deviceType())
	}
	return hostAction{shell: lines}, nil
}

// admit decides what the host does for step s, or refuses it.
func (j *run) admit(s sdk.Step) (hostAction, error) {
	switch s.Kind {
	case sdk.StepPower:
		return j.admitPower(*s.Power)
	case sdk.StepConnect:
		return j.admitConnect(*s.Connect)
	case sdk.StepHost:
		return j.admitHost(*s.Host)
	case sdk.StepTool:
		t, err := j.tool(*s.Tool)
		return hostAction{tool: t}, err
	case sdk.StepFlash:
		t, err := j.tool(sdk.ToolStep{Name: s.Flash.Command[0], Args: s.Flash.Command[1:]})
		return hostAction{tool: t}, err
	}
	return hostAction{}, nil
}

func (j *run) admitPower(p sdk.PowerStep) (hostAction, error) {
	key := sdk.PowerCommandKey(p.Op)
	if key == "" {
		return hostAction{}, refuse("unknown power operation %q", p.Op)
	}
	want := commandList(j.admin(), key)
	if len(p.Commands) == 0 {
		return hostAction{shell: want}, nil
	}
	if j.native() {
		return j.nativeShell("power.commands", p.Commands)
	}
	if slices.Equal(p.Commands, want) {
		return hostAction{shell: want}, nil
	}
	return hostAction{}, refuse("power.commands carries command lines %q that are not the device dictionary's %s: a WASM driver names the power operation only ({op: %s}) and the host runs the dictionary's command",
		p.Commands, key, p.Op)
}

func (j *run) admitConnect(c sdk.ConnectStep) (hostAction, error) {
	switch {
	case c.Connection != "":
		con, err := resolveConnection(j.admin(), c.Connection, j.p.Device)
		if err != nil {
			return hostAction{}, err
		}
		return hostAction{console: &con}, nil
	case c.Tool != nil:
		t, err := j.tool(*c.Tool)
		return hostAction{consoleTool: t}, err
	case c.Command != "":
		if j.native() {
			a, err := j.nativeShell("connect.command", nil)
			a.console = &sdk.ConnectStep{Command: c.Command}
			return a, err
		}
		if want := j.admin().String("connection_command", ""); want != "" && c.Command == want {
			return hostAction{console: &sdk.ConnectStep{Command: want}}, nil
		}
		return hostAction{}, refuse("connect.command carries a command line that is not the device dictionary's connection_command: a WASM driver names a console of the dictionary ({connection: %s}) or an allowed host tool", sdk.DefaultConnection)
	case c.Shell != "":
		if j.native() {
			a, err := j.nativeShell("connect.shell", nil)
			a.console = &sdk.ConnectStep{Shell: c.Shell}
			return a, err
		}
		return hostAction{}, refuse("connect.shell names a program: a WASM driver starts a host shell as a tool step ({tool: {name: sh}}) that the worker's admin allows")
	default: // serial, tcp, telnet
		if j.native() {
			return hostAction{console: &c}, nil
		}
		return hostAction{}, refuse("connect names a serial port or a network address itself: a WASM driver names a console of the device dictionary ({connection: %s}; the dictionary's connection_serial, connection_telnet or connection_tcp)", sdk.DefaultConnection)
	}
}

func (j *run) admitHost(h sdk.HostStep) (hostAction, error) {
	users := j.admin().Map("user_commands")
	if h.UserCommand != "" {
		do := users.Map(h.UserCommand).String("do", "")
		if do == "" {
			return hostAction{}, errorf(sdk.ErrorJob, "command %q is not one of device %s's user_commands %v", h.UserCommand, j.p.Device, sortedKeys(users))
		}
		return hostAction{shell: []string{do}}, nil
	}
	if j.native() {
		return j.nativeShell("host.command", []string{h.Command})
	}
	for _, name := range sortedKeys(users) {
		if users.Map(name).String("do", "") == h.Command {
			return hostAction{shell: []string{h.Command}}, nil
		}
	}
	return hostAction{}, refuse("host.command carries a command line that is not one of the device dictionary's user_commands: a WASM driver names the user command ({user_command: NAME})")
}

// commandList is the dictionary's command or list of commands under key,
// nil when unset or empty.
func commandList(v sdk.Values, key string) []string {
	var out []string
	for _, c := range v.Strings(key) {
		if strings.TrimSpace(c) != "" {
			out = append(out, c)
		}
	}
	return out
}

func sortedKeys(v sdk.Values) []string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// resolveConnection returns the console the device dictionary gives under
// name: for sdk.DefaultConnection its connection_command, connection_serial
// (with baud_rate), connection_telnet or connection_tcp, else the primary
// entry of LAVA's connection_list (the one connection_tags marks primary,
// else the first) in connection_commands; for another name that entry of
// connection_commands.
func resolveConnection(v sdk.Values, name, device string) (sdk.ConnectStep, error) {
	cmds := v.Map("connection_commands")
	if name != sdk.DefaultConnection {
		if c := cmds.String(name, ""); c != "" {
			return sdk.ConnectStep{Command: c}, nil
		}
		return sdk.ConnectStep{}, errorf(sdk.ErrorConfiguration, "device %s has no console %q: its dictionary's connection_commands are %v", device, name, sortedKeys(cmds))
	}
	if c := v.String("connection_command", ""); strings.TrimSpace(c) != "" {
		return sdk.ConnectStep{Command: c}, nil
	}
	if dev := v.String("connection_serial", ""); dev != "" {
		return sdk.ConnectStep{Serial: &sdk.SerialPort{
			Device: dev, Baud: v.Int("baud_rate", 115200),
			Parity: v.String("console_parity", ""), DataBits: v.Int("console_databits", 0), StopBits: v.Int("console_stopbits", 0),
		}}, nil
	}
	if a := v.String("connection_telnet", ""); a != "" {
		return sdk.ConnectStep{Telnet: a}, nil
	}
	if a := v.String("connection_tcp", ""); a != "" {
		return sdk.ConnectStep{TCP: a}, nil
	}
	if list := v.Strings("connection_list"); len(list) > 0 {
		primary := list[0]
		tags := v.Map("connection_tags")
		for _, n := range list {
			if slices.Contains(tags.Strings(n), "primary") {
				primary = n
				break
			}
		}
		if c := cmds.String(primary, ""); c != "" {
			return sdk.ConnectStep{Command: c}, nil
		}
		return sdk.ConnectStep{}, errorf(sdk.ErrorConfiguration, "device %s: connection_list names %q, which connection_commands does not give", device, primary)
	}
	return sdk.ConnectStep{}, errorf(sdk.ErrorConfiguration, "device %s has no console: its dictionary sets none of connection_command, connection_serial, connection_telnet, connection_tcp, connection_list", device)
}
