package dispatch

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/sdk"
)

func TestTimeoutRules(t *testing.T) {
	def := []byte(`job_name: timeouts
device_type: local
visibility: public
timeouts:
  job: {minutes: 10}
  action: {minutes: 2}
  actions:
    minimal-boot: {seconds: 50}
    expect-shell-connection: {seconds: 7}
  connection: {seconds: 20}
  connections:
    auto-login-action: {seconds: 3}
actions:
- boot: {method: minimal, prompts: ['x']}
- boot: {method: minimal, prompts: ['x'], timeout: {seconds: 40}, failure_retry: 3}
- test:
    definitions: [{from: inline, name: t, path: t.yaml, repository: {metadata: {format: Lava-Test Test Definition 1.0, name: t}, run: {steps: ['true']}}}]
- command: {name: hello}
`)
	p, err := prepare(Request{Definition: def, Dictionary: []byte("extends: local\nsettings:\n  failure_retry: 2\n"), Driver: loadLocal(t)})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name    string
		timeout time.Duration
		retry   int
		stage   int
	}{
		{"minimal-boot", 50 * time.Second, 2, -1},  // timeouts.actions by name; failure_retry from the dictionary
		{"minimal-boot", 40 * time.Second, 3, -1},  // the action's own timeout and failure_retry win
		{"lava-test-retry", 2 * time.Minute, 2, 0}, // timeouts.action
		{"command", 2 * time.Minute, 2, -1},
	}
	if len(p.Stages) != len(want) {
		t.Fatalf("%d stages", len(p.Stages))
	}
	for i, w := range want {
		s := p.Stages[i]
		if s.Name != w.name || s.Timeout != w.timeout || s.Retry != w.retry || s.TestStage != w.stage {
			t.Errorf("stage %d: %s %s retry %d test stage %d, want %+v", i, s.Name, s.Timeout, s.Retry, s.TestStage, w)
		}
	}
	if p.JobTimeout != 10*time.Minute {
		t.Errorf("job timeout %s", p.JobTimeout)
	}
	for _, tc := range []struct {
		step sdk.Step
		want time.Duration
	}{
		{sdk.Step{Kind: sdk.StepShell, Name: "expect-shell-connection"}, 7 * time.Second},          // actions beats connection when shorter
		{sdk.Step{Kind: sdk.StepLogin, Name: "auto-login-action"}, 3 * time.Second},                // connections by name
		{sdk.Step{Kind: sdk.StepExpect, Name: "kernel-start", TimeoutMS: 60000}, 20 * time.Second}, // connection caps the driver's
		{sdk.Step{Kind: sdk.StepPower, Name: "power-on", TimeoutMS: 5000}, 5 * time.Second},        // the driver's
		{sdk.Step{Kind: sdk.StepSend, Name: "x"}, 0},                                               // the stage's deadline
	} {
		if got := stepTimeout(p.Def.Timeouts, tc.step); got != tc.want {
			t.Errorf("step %s: %s, want %s", tc.step.Name, got, tc.want)
		}
	}
	if got := actionTimeout(job.Timeouts{}, job.Action{}, "x"); got != DefaultActionTimeout {
		t.Errorf("default action timeout %s", got)
	}
}

func TestResources(t *testing.T) {
	params := sdk.Values{
		"ramdisk":   map[string]any{"url": "http://x/r.cpio.gz", "compression": "gz", "sha256sum": "ab", "header": "u-boot"},
		"kernel":    map[string]any{"url": "http://x/Image", "type": "image"},
		"nfsrootfs": map[string]any{"url": "file:///r.tar.xz", "compression": "xz"},
		"images":    map[string]any{"disk": map[string]any{"url": "http://x/d.qcow2", "image_arg": "-drive {disk}"}},
		"os":        "debian",
	}
	rs, err := resources(params)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rs {
		got = append(got, r.Role+" "+r.Res.URL+" "+r.Res.Archive)
	}
	b, _ := json.Marshal(got)
	want := `["kernel http://x/Image ","ramdisk http://x/r.cpio.gz ","nfsrootfs file:///r.tar.xz tar","disk http://x/d.qcow2 "]`
	if string(b) != want {
		t.Errorf("resources %s, want %s", b, want)
	}
	if _, err := resources(sdk.Values{"kernel": map[string]any{"type": "image"}}); err == nil {
		t.Error("a resource without url was accepted")
	}
}

func TestPlanOnly(t *testing.T) {
	d := newDispatcher(t)
	def := jobWith("", `- deploy:
    to: tftp
    kernel: {url: 'http://example.com/Image', type: image}
`+bootAction+`- command:
    name: hello
`)
	dict := localDict(t, "  user_commands:\n    hello:\n      do: echo hi\n")
	plans, err := d.Plan(context.Background(), Request{JobID: 9, Definition: def, Dictionary: dict, Driver: loadLocal(t)})
	if err != nil {
		t.Fatal(err)
	}
	var kinds [][]string
	for _, p := range plans {
		k := []string{}
		for _, s := range p.Steps {
			k = append(k, s.Kind)
		}
		kinds = append(kinds, k)
	}
	b, _ := json.Marshal(kinds)
	if string(b) != `[[],["connect","send","wait_shell"],["host"]]` || plans[1].Level != "2" || plans[0].TimeoutMS != 60000 {
		t.Errorf("plans %s, %+v", b, plans)
	}
	if _, err := d.Plan(context.Background(), Request{JobID: 9, Definition: jobWith("", "- command:\n    name: nope\n"), Dictionary: dict, Driver: loadLocal(t)}); err == nil {
		t.Error("a plan error was not reported")
	}
}
