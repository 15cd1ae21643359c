package main

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/lavalab/lavalab/core/goldentest"
	"github.com/lavalab/lavalab/sdk"
)

func TestDescribe(t *testing.T) { goldentest.Describe(t, newDriver(), settings) }

// TestLAVAOracle renders the ssh dictionary with LAVA 2023.01's own
// ssh.jinja2 and builds ssh's command line as LAVA's ConnectSsh does from
// the rendered deploy method (options, then -o UserKnownHostsFile=/dev/null
// -o StrictHostKeyChecking=no, -i identity_file, -p port, user@host;
// written out in the test): the plan's ssh tool must run exactly that.
func TestLAVAOracle(t *testing.T) {
	const name = "bench-ssh-01.jinja2"
	doc := goldentest.RenderLAVA(t, name)[name]
	dict, extends := goldentest.DictionaryValues(t, name)
	if extends != "ssh" {
		t.Fatalf("%s extends %s", name, extends)
	}
	m := goldentest.At(doc, "actions", "deploy", "methods", "ssh")
	opts := goldentest.StringsAt(m, "options")
	if len(opts) == 0 {
		t.Fatalf("LAVA renders no ssh options: %v", m)
	}
	want := append([]string{"ssh"}, opts...)
	want = append(want, "-o", "UserKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=no")
	if id, _ := goldentest.At(m, "identity_file").(string); id != "" {
		want = append(want, "-i", id)
	}
	want = append(want, "-p", fmt.Sprint(goldentest.At(m, "port")), fmt.Sprintf("%v@%v", goldentest.At(m, "user"), goldentest.At(m, "host")))

	req := sdk.PlanRequest{Action: sdk.Action{Kind: sdk.ActionBoot, Method: "ssh", Params: sdk.Values{"prompts": []any{"root@bench:~#"}}}, Settings: dict}
	_, resp := goldentest.Plan(t, newDriver(), req)
	if resp.Error != nil {
		t.Fatal(resp.Error)
	}
	c := resp.Plan.Steps[0].Connect
	if c == nil || c.Tool == nil {
		t.Fatalf("first step %+v is not an ssh connect", resp.Plan.Steps[0])
	}
	if got := append([]string{c.Tool.Name}, c.Tool.Args...); !reflect.DeepEqual(got, want) {
		t.Errorf("ssh command:\n got %q\nwant %q (LAVA's)", got, want)
	}
	if _, ok := goldentest.At(doc, "actions", "boot", "methods").(map[string]any)["ssh"]; !ok {
		t.Error("LAVA's ssh device type has no ssh boot method")
	}
}

func TestPlans(t *testing.T) {
	dict, _ := goldentest.DictionaryValues(t, "bench-ssh-01.jinja2")
	set := func(kv ...any) sdk.Values {
		out := sdk.Values{}
		for k, v := range dict {
			out[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			out[kv[i].(string)] = kv[i+1]
		}
		return out
	}
	boot := sdk.Action{Kind: sdk.ActionBoot, Method: "ssh", Params: sdk.Values{"prompts": []any{"root@bench:~#"}}}
	login := sdk.Action{Kind: sdk.ActionBoot, Method: "ssh", Params: sdk.Values{"prompts": []any{"\\$ "},
		"auto_login": map[string]any{"login_prompt": "login:", "username": "lava", "password_prompt": "Password:", "password": "lava"}}}
	for _, tc := range []struct {
		name    string
		req     sdk.PlanRequest
		errType string
	}{
		{"deploy-ssh", sdk.PlanRequest{Action: sdk.Action{Kind: sdk.ActionDeploy, Method: "ssh", Params: sdk.Values{"os": "debian"}}, Settings: dict}, ""},
		{"boot-ssh", sdk.PlanRequest{Action: boot, Settings: dict}, ""},
		{"boot-ssh-login", sdk.PlanRequest{Action: login, Settings: dict}, ""},
		{"boot-ssh-defaults", sdk.PlanRequest{Action: boot, Settings: sdk.Values{"ssh_host": "device.lab"}}, ""},
		{"test", sdk.PlanRequest{Action: sdk.Action{Kind: sdk.ActionTest}, Settings: dict}, ""},
		{"error-no-host", sdk.PlanRequest{Action: boot, Settings: set("ssh_host", "")}, sdk.ErrorConfiguration},
		{"error-host-option", sdk.PlanRequest{Action: boot, Settings: set("ssh_host", "-oProxyCommand=sh")}, sdk.ErrorConfiguration},
		{"error-proxy-command", sdk.PlanRequest{Action: boot, Settings: set("ssh_options", []any{"-o", "ProxyCommand=nc %h %p"})}, sdk.ErrorConfiguration},
		{"error-local-command", sdk.PlanRequest{Action: boot, Settings: set("ssh_options", []any{"-oLocalCommand=touch /tmp/x"})}, sdk.ErrorConfiguration},
		{"error-config-file", sdk.PlanRequest{Action: boot, Settings: set("ssh_options", []any{"-F", "/tmp/evil"})}, sdk.ErrorConfiguration},
		{"error-port", sdk.PlanRequest{Action: boot, Settings: set("ssh_port", "ssh")}, sdk.ErrorConfiguration},
		{"error-no-prompts", sdk.PlanRequest{Action: sdk.Action{Kind: sdk.ActionBoot, Method: "ssh"}, Settings: dict}, sdk.ErrorJob},
		{"error-deploy-tftp", sdk.PlanRequest{Action: sdk.Action{Kind: sdk.ActionDeploy, Method: "tftp"}, Settings: dict}, sdk.ErrorJob},
		{"error-boot-minimal", sdk.PlanRequest{Action: sdk.Action{Kind: sdk.ActionBoot, Method: "minimal"}, Settings: dict}, sdk.ErrorJob},
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
