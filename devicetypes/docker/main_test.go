package main

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/lavalab/lavalab/core/goldentest"
	"github.com/lavalab/lavalab/sdk"
)

func TestDescribe(t *testing.T) { goldentest.Describe(t, newDriver(), settings) }

// TestLAVAOracle renders testdata/lava/devices/bench-docker-02.jinja2 (every
// option set) with LAVA 2023.01's own docker.jinja2: the boot's options LAVA
// renders (cpus, memory, privileged, capabilities, devices, networks,
// volumes, extra_arguments) are the ones the plan's run line carries, in
// LAVA's boot-docker order, from the same dictionary variables.
func TestLAVAOracle(t *testing.T) {
	const name = "bench-docker-02.jinja2"
	doc := goldentest.RenderLAVA(t, name)[name]
	dict, extends := goldentest.DictionaryValues(t, name)
	if extends != "docker" {
		t.Fatalf("%s extends %s", name, extends)
	}
	for _, kind := range []string{"deploy", "boot"} {
		if goldentest.At(doc, "actions", kind, "methods", "docker") == nil {
			t.Errorf("LAVA's docker device type has no docker %s method", kind)
		}
	}
	o := goldentest.At(doc, "actions", "boot", "methods", "docker", "options")
	want := []string{fmt.Sprintf("--cpus=%v", goldentest.At(o, "cpus")), fmt.Sprintf("--memory=%v", goldentest.At(o, "memory"))}
	if goldentest.At(o, "privileged") == true {
		want = append(want, "--privileged")
	}
	for _, k := range []struct{ key, flag string }{{"capabilities", "--cap-add"}, {"devices", "--device"}, {"networks", "--network"}, {"volumes", "--volume"}} {
		for _, v := range goldentest.StringsAt(o, k.key) {
			want = append(want, k.flag+"="+v)
		}
	}
	want = append(want, goldentest.StringsAt(o, "extra_arguments")...)
	if len(want) != 9 {
		t.Fatalf("LAVA renders options %v: want every option of %s", o, name)
	}
	req := sdk.PlanRequest{JobID: "7", Action: sdk.Action{Kind: sdk.ActionBoot, Method: "docker", Level: "2", Params: sdk.Values{"command": "bash"}},
		Settings: dict, Worker: sdk.WorkerFacts{Artifacts: map[string]sdk.Artifact{"image": {Image: "debian:bookworm"}}}}
	_, resp := goldentest.Plan(t, newDriver(), req)
	if resp.Error != nil {
		t.Fatal(resp.Error)
	}
	c := resp.Plan.Steps[0].Connect
	if c == nil || c.Tool == nil {
		t.Fatalf("first step %+v is not the engine's run", resp.Plan.Steps[0])
	}
	head := []string{"run", "--rm", "--init", "--interactive", "--tty", "--hostname", "lava", "--name", "lava-7-2"}
	got := c.Tool.Args
	if len(got) != len(head)+len(want)+2 || !reflect.DeepEqual(got[:len(head)], head) {
		t.Fatalf("run line %q", got)
	}
	if opts := got[len(head) : len(got)-2]; !reflect.DeepEqual(opts, want) {
		t.Errorf("options\n got %q\nwant %q (LAVA's rendering)", opts, want)
	}
	if tail := got[len(got)-2:]; !reflect.DeepEqual(tail, []string{"debian:bookworm", "bash"}) {
		t.Errorf("image and command %q", tail)
	}
}

func TestPlans(t *testing.T) {
	deployed := sdk.WorkerFacts{Artifacts: map[string]sdk.Artifact{"image": {Image: "debian:bookworm"}}}
	boot := func(params sdk.Values) sdk.Action {
		return sdk.Action{Kind: sdk.ActionBoot, Method: "docker", Level: "2", Params: params}
	}
	shell := sdk.Values{"command": "bash", "prompts": []any{"root@lava:"}}
	for _, tc := range []struct {
		name    string
		req     sdk.PlanRequest
		errType string
	}{
		{"deploy-pull", sdk.PlanRequest{Action: sdk.Action{Kind: sdk.ActionDeploy, Method: "docker", Params: sdk.Values{"image": "debian:bookworm"}}}, ""},
		{"deploy-local", sdk.PlanRequest{Action: sdk.Action{Kind: sdk.ActionDeploy, Method: "docker",
			Params: sdk.Values{"image": map[string]any{"name": "lab/adb:1", "local": true}}},
			Settings: sdk.Values{"docker_engine": "podman"}}, ""},
		{"deploy-remote", sdk.PlanRequest{Action: sdk.Action{Kind: sdk.ActionDeploy, Method: "docker", Params: sdk.Values{"image": "debian:bookworm"}},
			Settings: sdk.Values{"docker_remote": "tcp://10.0.0.5:2375"}}, ""},
		{"boot", sdk.PlanRequest{JobID: "42", Action: boot(shell), Worker: deployed}, ""},
		// docker.jinja2's options, as a dictionary sets them; the job's
		// context may not widen them.
		{"boot-options", sdk.PlanRequest{JobID: "42", Action: boot(sdk.Values{"command": "sh -l", "prompts": []any{"/ # "},
			"auto_login": map[string]any{"login_prompt": "login:", "username": "root"}}), Worker: deployed,
			Settings: sdk.Values{"docker_engine": "podman", "docker_cpus": 1.5, "docker_memory": "512m", "docker_privileged": true,
				"docker_capabilities": []any{"NET_ADMIN"}, "docker_devices": []any{"/dev/kvm"}, "docker_networks": []any{"lab"},
				"docker_volumes": []any{"/srv/data:/data:ro"}, "docker_extra_arguments": []any{"--ulimit=nofile=1024:1024"}},
			Context: sdk.Values{"docker_volumes": []any{"/:/host"}, "docker_privileged": true}}, ""},
		{"boot-context-ignored", sdk.PlanRequest{JobID: "42", Action: boot(shell), Worker: deployed,
			Context: sdk.Values{"docker_volumes": []any{"/:/host"}, "docker_privileged": true, "docker_engine": "podman"}}, ""},
		{"test", sdk.PlanRequest{Action: sdk.Action{Kind: sdk.ActionTest}}, ""},
		{"error-deploy-no-image", sdk.PlanRequest{Action: sdk.Action{Kind: sdk.ActionDeploy, Method: "docker"}}, sdk.ErrorJob},
		{"error-deploy-option-image", sdk.PlanRequest{Action: sdk.Action{Kind: sdk.ActionDeploy, Method: "docker", Params: sdk.Values{"image": "--privileged"}}}, sdk.ErrorJob},
		{"error-deploy-tftp", sdk.PlanRequest{Action: sdk.Action{Kind: sdk.ActionDeploy, Method: "tftp"}}, sdk.ErrorJob},
		{"error-boot-no-deploy", sdk.PlanRequest{JobID: "42", Action: boot(shell)}, sdk.ErrorJob},
		{"error-boot-no-command", sdk.PlanRequest{JobID: "42", Action: boot(sdk.Values{"prompts": []any{"# "}}), Worker: deployed}, sdk.ErrorJob},
		{"error-engine", sdk.PlanRequest{JobID: "42", Action: boot(shell), Worker: deployed, Settings: sdk.Values{"docker_engine": "sh"}}, sdk.ErrorConfiguration},
		{"error-volume-option", sdk.PlanRequest{JobID: "42", Action: boot(shell), Worker: deployed, Settings: sdk.Values{"docker_volumes": []any{"--privileged"}}}, sdk.ErrorConfiguration},
		{"error-boot-qemu", sdk.PlanRequest{Action: sdk.Action{Kind: sdk.ActionBoot, Method: "qemu"}}, sdk.ErrorJob},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, resp := goldentest.Plan(t, newDriver(), tc.req)
			if tc.errType == "" && resp.Error != nil || tc.errType != "" && (resp.Error == nil || resp.Error.Type != tc.errType) {
				t.Fatalf("want error type %q, got %s", tc.errType, raw)
			}
			goldentest.Golden(t, tc.name, raw)
		})
	}
}

func TestIsZero(t *testing.T) {
	for v, want := range map[string]bool{"0": true, "0.0": true, "": true, " 0 ": true, "1.5": false, "512m": false} {
		if got := isZero(v); got != want {
			t.Errorf("isZero(%q) = %v, want %v", v, got, want)
		}
	}
}
