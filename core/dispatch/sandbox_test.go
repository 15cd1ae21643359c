package dispatch

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/drivers"
	"github.com/lavalab/lavalab/core/hosttools"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/plugins/wasm"
	"github.com/lavalab/lavalab/sdk"
)

// hostile drivers, built once per test binary: the raw-ABI attacker of
// testdata/hostile speaking ABI 1 only, and the same speaking 1 and 2.
var hostile struct {
	mu   sync.Mutex
	host *wasm.Host
	drv  map[string]drivers.Driver
	mark string // the path the driver's own power_off_command default touches
}

func loadHostile(t *testing.T, abis string) drivers.Driver {
	t.Helper()
	hostile.mu.Lock()
	defer hostile.mu.Unlock()
	if d, ok := hostile.drv[abis]; ok {
		return d
	}
	ctx := context.Background()
	if hostile.host == nil {
		h, err := wasm.NewHost(ctx, wasm.Options{Timeout: 2 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		dir, err := os.MkdirTemp("", "hostile-mark-")
		if err != nil {
			t.Fatal(err)
		}
		hostile.host, hostile.drv, hostile.mark = h, map[string]drivers.Driver{}, filepath.Join(dir, "default-power-off")
	}
	out := filepath.Join(t.TempDir(), "hostile.wasm")
	cmd := exec.Command(testenv.NeedTool(t, "go"), "build", "-ldflags", "-X main.abis="+abis+" -X main.defaultMark="+hostile.mark, "-o", out, "./testdata/hostile")
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the hostile driver: %v\n%s", err, b)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	d, err := hostile.host.Load(ctx, "hostile.wasm", b)
	if err != nil {
		t.Fatalf("loading the hostile driver: %v", err)
	}
	hostile.drv[abis] = d
	return d
}

const minimalBootJob = "job_name: sandbox\ndevice_type: local\nvisibility: public\ntimeouts:\n  job:\n    minutes: 1\nactions:\n- boot:\n    method: minimal\n"

// hostileDict is a local device whose dictionary's power commands and user
// command touch files of their own (the admin's commands), and whose
// `attack` setting picks the hostile driver's boot plan.
func hostileDict(dir, attack, mark string) []byte {
	return []byte("extends: local\nsettings:\n" +
		"  attack: " + attack + "\n  mark: " + mark + "\n" +
		"  power_on_command: touch " + filepath.Join(dir, "admin-power-on") + "\n" +
		"  user_commands:\n    hello:\n      do: touch " + filepath.Join(dir, "admin-user-command") + "\n")
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// A WASM driver that puts a command line (or a serial port, an address, a
// program path, a tool the admin did not allow) in any step runs nothing on
// the host: the job ends Incomplete (Configuration) naming the driver, its
// SHA-256 and the step. The admin's own commands, named by the driver, run.
func TestSandboxRefusesHostileSteps(t *testing.T) {
	for _, abis := range []string{"1", "1,2"} {
		drv := loadHostile(t, abis)
		for _, tc := range []struct {
			attack string
			tools  []hosttools.Rule
			// refused: the job fails with this in its error; "" = Complete.
			refused string
			// ran: files the run must have made (relative to the test dir).
			ran []string
		}{
			{attack: "power-command", refused: "power.commands carries command lines"},
			{attack: "host-command", refused: "host.command carries a command line"},
			{attack: "flash", refused: `host tool "touch" is not allowed on this worker for device local-test (device type local)`},
			{attack: "connect-command", refused: "connect.command carries a command line"},
			{attack: "connect-shell", refused: "connect.shell names a program"},
			{attack: "connect-serial", refused: "names a serial port or a network address itself"},
			{attack: "connect-tcp", refused: "names a serial port or a network address itself"},
			{attack: "tool", refused: "lava-worker --allow-tool touch@local"},
			{attack: "tool", tools: []hosttools.Rule{{Name: "touch", DeviceTypes: []string{"qemu"}}}, refused: `allowed on this worker for device types qemu, not for device local-test`},
			{attack: "tool-path", refused: "not a bare program name"},
			// The refusal comes before any step: the admin's power-on
			// (first step) does not run either.
			{attack: "power-op+host-command", refused: "host.command carries a command line"},
			// What is allowed runs.
			{attack: "power-op", ran: []string{"admin-power-on"}},
			{attack: "power-dictionary-copy", ran: []string{"admin-power-on"}},
			{attack: "user-command", ran: []string{"admin-user-command"}},
			{attack: "tool", tools: []hosttools.Rule{{Name: "touch", DeviceTypes: []string{"local"}}}, ran: []string{"mark"}},
			{attack: "flash", tools: []hosttools.Rule{{Name: "touch", Devices: []string{"local-test"}}}, ran: []string{"mark"}},
		} {
			name := "abi" + abis + "/" + tc.attack
			if len(tc.tools) > 0 {
				name += "/allowed-" + strings.Join(tc.tools[0].DeviceTypes, ",") + strings.Join(tc.tools[0].Devices, ",")
			}
			t.Run(name, func(t *testing.T) {
				dir := t.TempDir()
				mark := filepath.Join(dir, "mark")
				d := newDispatcherTools(t, testTools(t, tc.tools...))
				rec := &recorder{}
				out := d.Run(context.Background(), Request{JobID: 7, Definition: []byte(minimalBootJob), DeviceName: "local-test",
					Dictionary: hostileDict(dir, tc.attack, mark), Driver: drv}, rec)
				if tc.refused != "" {
					if out.Health != model.JobIncomplete || out.ErrorType != sdk.ErrorConfiguration && !strings.Contains(tc.refused, "bare program") {
						t.Fatalf("job %s (%s): %s, want Incomplete (Configuration)\n%s", out.Health, out.ErrorType, out.Error, rec.text())
					}
					if !strings.Contains(out.Error, tc.refused) {
						t.Fatalf("error %q does not say %q", out.Error, tc.refused)
					}
					if tc.attack != "tool-path" && (!strings.Contains(out.Error, "hostile/6.6.6") || !strings.Contains(out.Error, drv.SHA256()) || !strings.Contains(out.Error, "refused")) {
						t.Fatalf("error %q does not name the driver, its SHA-256 and the step", out.Error)
					}
					for _, f := range []string{"mark", "admin-power-on", "admin-user-command"} {
						if exists(filepath.Join(dir, f)) {
							t.Fatalf("%s exists: the host ran a step of a refused plan", f)
						}
					}
				} else {
					wantComplete(t, out, rec)
					for _, f := range tc.ran {
						if !exists(filepath.Join(dir, f)) {
							t.Fatalf("%s was not made: the allowed step did not run\n%s", f, rec.text())
						}
					}
				}
				// finalize never runs the driver's own power_off_command default.
				if exists(hostile.mark) {
					t.Fatalf("the driver's power_off_command default ran at finalize")
				}
			})
		}
	}
}

// The host picks the highest ABI version both sides speak, says so in the
// job log, and asks for plans in it: a driver of ABI 1 keeps working on a
// host that also speaks 2.
func TestABINegotiationInTheJobLog(t *testing.T) {
	for abis, want := range map[string]int{"1": 1, "1,2": 2} {
		drv := loadHostile(t, abis)
		dir := t.TempDir()
		rec := &recorder{}
		out := newDispatcher(t).Run(context.Background(), Request{JobID: 8, Definition: []byte(minimalBootJob), DeviceName: "local-test",
			Dictionary: hostileDict(dir, "power-op", filepath.Join(dir, "mark")), Driver: drv}, rec)
		wantComplete(t, out, rec)
		line := "ABI version " + strconv.Itoa(want) + " (the driver speaks"
		if !rec.has(model.LevelInfo, line) {
			t.Errorf("ABI %s: the log does not say %q:\n%s", abis, line, rec.text())
		}
		if !rec.has(model.LevelDebug, "hostile: plan request in ABI version "+strconv.Itoa(want)) {
			t.Errorf("ABI %s: the driver was not asked in version %d:\n%s", abis, want, rec.text())
		}
	}
}

// A native driver is trusted code, but its host access goes through the same
// allow list: its command lines run under the sh tool, its flash and tool
// steps need their tool allowed.
type fakeNative struct{ steps []sdk.Step }

func (f fakeNative) Describe() sdk.Description {
	return sdk.Description{Name: "fake-native", Version: "1.0.0", ABIVersion: 2, ABIVersions: []int{2}, DeviceTypes: []string{"local"}}
}
func (f fakeNative) SHA256() string { return strings.Repeat("ab", 32) }
func (f fakeNative) Kind() string   { return drivers.KindNative }
func (f fakeNative) Close(context.Context) error {
	return nil
}
func (f fakeNative) Plan(_ context.Context, req sdk.PlanRequest) (sdk.Plan, []byte, error) {
	if req.Action.Kind != sdk.ActionBoot {
		return sdk.Plan{Steps: []sdk.Step{}}, nil, nil
	}
	return sdk.Plan{Steps: f.steps}, nil, nil
}

func TestSandboxNativeDriverUsesTheAllowList(t *testing.T) {
	for _, tc := range []struct {
		name    string
		step    func(mark string) sdk.Step
		tools   []hosttools.Rule
		refused string
	}{
		{"command line without sh", func(m string) sdk.Step {
			return sdk.Step{Kind: sdk.StepHost, Host: &sdk.HostStep{Command: "touch " + m}}
		}, nil, `runs under the host tool "sh", which this worker does not allow`},
		{"command line with sh", func(m string) sdk.Step {
			return sdk.Step{Kind: sdk.StepHost, Host: &sdk.HostStep{Command: "touch " + m}}
		}, []hosttools.Rule{{Name: "sh", Devices: []string{"local-test"}}}, ""},
		{"flash not allowed", func(m string) sdk.Step {
			return sdk.Step{Kind: sdk.StepFlash, Flash: &sdk.FlashStep{Command: []string{"touch", m}}}
		}, nil, `host tool "touch" is not allowed`},
		{"flash allowed", func(m string) sdk.Step {
			return sdk.Step{Kind: sdk.StepFlash, Flash: &sdk.FlashStep{Command: []string{"touch", m}}}
		}, []hosttools.Rule{{Name: "touch"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			mark := filepath.Join(dir, "mark")
			tools, err := hosttools.New(tc.tools...)
			if err != nil {
				t.Fatal(err)
			}
			rec := &recorder{}
			out := newDispatcherTools(t, tools).Run(context.Background(), Request{JobID: 9, Definition: []byte(minimalBootJob), DeviceName: "local-test",
				Dictionary: []byte("extends: local\n"), Driver: fakeNative{steps: []sdk.Step{tc.step(mark)}}}, rec)
			if tc.refused == "" {
				wantComplete(t, out, rec)
				if !exists(mark) {
					t.Fatalf("the allowed step did not run:\n%s", rec.text())
				}
				return
			}
			if out.Health != model.JobIncomplete || out.ErrorType != sdk.ErrorConfiguration || !strings.Contains(out.Error, tc.refused) || !strings.Contains(out.Error, "fake-native/1.0.0 (native") {
				t.Fatalf("job %s (%s): %q, want a refusal saying %q", out.Health, out.ErrorType, out.Error, tc.refused)
			}
			if exists(mark) {
				t.Fatal("a refused native step ran")
			}
		})
	}
}
