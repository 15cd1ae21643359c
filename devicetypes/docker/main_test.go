package main

import (
	"testing"

	"github.com/lavalab/lavalab/core/goldentest"
	"github.com/lavalab/lavalab/sdk"
)

func TestDescribe(t *testing.T) { goldentest.Describe(t, newDriver(), settings) }

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
