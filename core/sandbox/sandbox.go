package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/lavalab/lavalab/core/drivers"
	"github.com/lavalab/lavalab/core/hosttools"
	"github.com/lavalab/lavalab/sdk"
)

// Sandbox is what the sandbox decides a plan's steps by: the driver (its
// kind), the admin's layers of the settings (AdminLayers), the device and
// the worker's allow list. The dispatcher checks every plan with it; the
// driver test kit (sdk/sdktest) does too, so a driver's tests see what a
// worker would refuse.
type Sandbox struct {
	Driver drivers.Driver
	// Admin are the settings command lines and consoles come from: the
	// device dictionary over the admin's device-type settings, never the
	// driver's defaults (AdminLayers).
	Admin              map[string]any
	Device, DeviceType string
	// Tools is the worker's allow list; nil allows no tool.
	Tools *hosttools.Policy
}

// Tool is a host tool resolved by the allow list.
type Tool struct {
	Name, Path string
	Args       []string
}

// Action is what the host does for a step that touches the host.
type Action struct {
	// Shell are command lines run with sh -c, in order: the dictionary's
	// (or a native driver's under the sh tool).
	Shell []string
	// Tool is a tool (or flash) step's program.
	Tool *Tool
	// Console is a resolved console: serial, tcp, telnet or a dictionary
	// command; ConsoleTool a console that is a host tool's terminal.
	Console     *sdk.ConnectStep
	ConsoleTool *Tool
}

// refusal is a step the sandbox does not run.
type refusal struct{ reason string }

func (r *refusal) Error() string { return r.reason }

func refuse(format string, args ...any) error { return &refusal{reason: fmt.Sprintf(format, args...)} }

// checkPlan admits every step of a plan before any runs. A refused step is
// a Configuration error naming the driver, its SHA-256 and the step.
func (sb *Sandbox) Check(plan sdk.Plan) error {
	for i, s := range plan.Steps {
		if _, err := sb.Admit(s); err != nil {
			var r *refusal
			if errors.As(err, &r) {
				desc := sb.Driver.Describe()
				return sdk.Errorf(sdk.ErrorConfiguration, "driver %s/%s (%s, sha256 %s) step %d %q (%s) refused, nothing of the plan was run: %s",
					desc.Name, desc.Version, drivers.KindOf(sb.Driver), sb.Driver.SHA256(), i, s.Label(), s.Kind, r.reason)
			}
			return err
		}
	}
	return nil
}

func (sb *Sandbox) native() bool { return drivers.KindOf(sb.Driver) == drivers.KindNative }

// admin returns the admin's layers of the settings: the device-type
// settings and the device dictionary, without the driver's defaults.
func (sb *Sandbox) admin() sdk.Values { return sdk.Values(sb.Admin) }

// tool resolves a tool step against the worker's allow list.
func (sb *Sandbox) tool(t sdk.ToolStep) (*Tool, error) {
	if err := t.Validate(); err != nil {
		return nil, refuse("%v", err)
	}
	path, err := sb.Tools.Resolve(t.Name, sb.Device, sb.DeviceType)
	if err != nil {
		var denied *hosttools.DeniedError
		if errors.As(err, &denied) {
			return nil, refuse("%v", err)
		}
		return nil, sdk.Errorf(sdk.ErrorInfrastructure, "%v", err)
	}
	return &Tool{Name: t.Name, Path: path, Args: t.Args}, nil
}

// nativeShell admits a native driver's command lines: they run under the
// sh tool, so the worker must allow sh for the device.
func (sb *Sandbox) nativeShell(field string, lines []string) (Action, error) {
	if !sb.Tools.Allowed("sh", sb.Device, sb.DeviceType) {
		return Action{}, refuse("%s: a native driver's command line runs under the host tool \"sh\", which this worker does not allow for device %s (device type %s): its admin allows it with `lava-worker --allow-tool sh@%s`",
			field, sb.Device, sb.DeviceType, sb.DeviceType)
	}
	return Action{Shell: lines}, nil
}

// admit decides what the host does for step s, or refuses it.
func (sb *Sandbox) Admit(s sdk.Step) (Action, error) {
	switch s.Kind {
	case sdk.StepPower:
		return sb.admitPower(*s.Power)
	case sdk.StepConnect:
		return sb.admitConnect(*s.Connect)
	case sdk.StepHost:
		return sb.admitHost(*s.Host)
	case sdk.StepTool:
		t, err := sb.tool(*s.Tool)
		return Action{Tool: t}, err
	case sdk.StepFlash:
		t, err := sb.tool(sdk.ToolStep{Name: s.Flash.Command[0], Args: s.Flash.Command[1:]})
		return Action{Tool: t}, err
	case sdk.StepMassStorage: // issue 18
		return sb.admitMassStorage(*s.MassStorage)
	case sdk.StepMenu: // issue 17
		return sb.admitMenu(*s.Menu)
	}
	return Action{}, nil
}

func (sb *Sandbox) admitPower(p sdk.PowerStep) (Action, error) {
	key := sdk.PowerCommandKey(p.Op)
	if key == "" {
		return Action{}, refuse("unknown power operation %q", p.Op)
	}
	want := CommandList(sb.admin(), key)
	if len(p.Commands) == 0 {
		return Action{Shell: want}, nil
	}
	if sb.native() {
		return sb.nativeShell("power.commands", p.Commands)
	}
	if slices.Equal(p.Commands, want) {
		return Action{Shell: want}, nil
	}
	return Action{}, refuse("power.commands carries command lines %q that are not the device dictionary's %s: a WASM driver names the power operation only ({op: %s}) and the host runs the dictionary's command",
		p.Commands, key, p.Op)
}

func (sb *Sandbox) admitConnect(c sdk.ConnectStep) (Action, error) {
	switch {
	case c.Connection != "":
		con, err := ResolveConnection(sb.admin(), c.Connection, sb.Device)
		if err != nil {
			return Action{}, err
		}
		return Action{Console: &con}, nil
	case c.Tool != nil:
		t, err := sb.tool(*c.Tool)
		return Action{ConsoleTool: t}, err
	case c.Command != "":
		if sb.native() {
			a, err := sb.nativeShell("connect.command", nil)
			a.Console = &sdk.ConnectStep{Command: c.Command}
			return a, err
		}
		if want := sb.admin().String("connection_command", ""); want != "" && c.Command == want {
			return Action{Console: &sdk.ConnectStep{Command: want}}, nil
		}
		return Action{}, refuse("connect.command carries a command line that is not the device dictionary's connection_command: a WASM driver names a console of the dictionary ({connection: %s}) or an allowed host tool", sdk.DefaultConnection)
	case c.Shell != "":
		if sb.native() {
			a, err := sb.nativeShell("connect.shell", nil)
			a.Console = &sdk.ConnectStep{Shell: c.Shell}
			return a, err
		}
		return Action{}, refuse("connect.shell names a program: a WASM driver starts a host shell as a tool step ({tool: {name: sh}}) that the worker's admin allows")
	default: // serial, tcp, telnet
		if sb.native() {
			return Action{Console: &c}, nil
		}
		return Action{}, refuse("connect names a serial port or a network address itself: a WASM driver names a console of the device dictionary ({connection: %s}; the dictionary's connection_serial, connection_telnet or connection_tcp)", sdk.DefaultConnection)
	}
}

func (sb *Sandbox) admitHost(h sdk.HostStep) (Action, error) {
	users := sb.admin().Map("user_commands")
	if h.UserCommand != "" {
		do := users.Map(h.UserCommand).String("do", "")
		if do == "" {
			return Action{}, sdk.Errorf(sdk.ErrorJob, "command %q is not one of device %s's user_commands %v", h.UserCommand, sb.Device, sortedKeys(users))
		}
		return Action{Shell: []string{do}}, nil
	}
	if sb.native() {
		return sb.nativeShell("host.command", []string{h.Command})
	}
	for _, name := range sortedKeys(users) {
		if users.Map(name).String("do", "") == h.Command {
			return Action{Shell: []string{h.Command}}, nil
		}
	}
	return Action{}, refuse("host.command carries a command line that is not one of the device dictionary's user_commands: a WASM driver names the user command ({user_command: NAME})")
}

// commandList is the dictionary's command or list of commands under key,
// nil when unset or empty.
func CommandList(v sdk.Values, key string) []string {
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
func ResolveConnection(v sdk.Values, name, device string) (sdk.ConnectStep, error) {
	cmds := v.Map("connection_commands")
	if name != sdk.DefaultConnection {
		if c := cmds.String(name, ""); c != "" {
			return sdk.ConnectStep{Command: c}, nil
		}
		return sdk.ConnectStep{}, sdk.Errorf(sdk.ErrorConfiguration, "device %s has no console %q: its dictionary's connection_commands are %v", device, name, sortedKeys(cmds))
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
		return sdk.ConnectStep{}, sdk.Errorf(sdk.ErrorConfiguration, "device %s: connection_list names %q, which connection_commands does not give", device, primary)
	}
	return sdk.ConnectStep{}, sdk.Errorf(sdk.ErrorConfiguration, "device %s has no console: its dictionary sets none of connection_command, connection_serial, connection_telnet, connection_tcp, connection_list", device)
}

// AdminLayers returns the settings the sandbox takes command lines and
// consoles from: the device dictionary over the device-type settings, less
// any device-type value equal to the driver's own default for the key. The
// scheduler records a job's device-type settings merged over the driver's
// defaults, so a value equal to the default may be the driver's: a driver
// could otherwise put a command line in its settings.yaml and have it run.
func AdminLayers(desc sdk.Description, typeSettings, dict map[string]any) map[string]any {
	defaults := sdk.SettingDefaults(desc.Settings)
	out := map[string]any{}
	for k, v := range typeSettings {
		if d, ok := defaults[k]; ok && reflect.DeepEqual(normalise(d), normalise(v)) {
			continue
		}
		out[k] = v
	}
	maps.Copy(out, dict)
	return out
}

// normalise gives a value the shape JSON gives it, so a default and the
// same value that went through the store compare equal.
func normalise(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return v
	}
	var out any
	if json.Unmarshal(b, &out) != nil {
		return v
	}
	return out
}
