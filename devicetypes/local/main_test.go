package main

import (
	"testing"

	"github.com/lavalab/lavalab/core/goldentest"
	"github.com/lavalab/lavalab/sdk"
)

func TestDescribe(t *testing.T) { goldentest.Describe(t, newDriver(), settings) }

func TestPlans(t *testing.T) {
	for _, tc := range []struct {
		name    string
		req     sdk.PlanRequest
		errType string
	}{
		{"deploy", sdk.PlanRequest{Action: sdk.Action{Kind: sdk.ActionDeploy, Method: "local"}}, ""},
		{"boot", sdk.PlanRequest{Action: sdk.Action{Kind: sdk.ActionBoot, Method: "local", Params: sdk.Values{"prompts": []any{"\\$ "}}}}, ""},
		{"boot-bash", sdk.PlanRequest{Action: sdk.Action{Kind: sdk.ActionBoot, Method: "minimal"}, Settings: sdk.Values{"shell": "bash", "shell_prompt": "demo$ "}}, ""},
		{"test", sdk.PlanRequest{Action: sdk.Action{Kind: sdk.ActionTest}}, ""},
		{"command", sdk.PlanRequest{Action: sdk.Action{Kind: sdk.ActionCommand, Method: "hello"},
			Settings: sdk.Values{"user_commands": map[string]any{"hello": map[string]any{"do": "echo hello"}}}}, ""},
		{"error-empty-shell", sdk.PlanRequest{Action: sdk.Action{Kind: sdk.ActionBoot}, Settings: sdk.Values{"shell": ""}}, sdk.ErrorConfiguration},
		{"error-shell-path", sdk.PlanRequest{Action: sdk.Action{Kind: sdk.ActionBoot}, Settings: sdk.Values{"shell": "/bin/sh -c 'touch /tmp/x'"}}, sdk.ErrorConfiguration},
		{"error-unknown-command", sdk.PlanRequest{Action: sdk.Action{Kind: sdk.ActionCommand, Method: "nope"}}, sdk.ErrorJob},
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

func TestSplitQuote(t *testing.T) {
	for in, want := range map[string]string{
		"lava-local: # ": `'lava-lo''cal: # '`,
		"it's$ ":         `'it'\''''s$ '`,
		"#":              `'#'`,
	} {
		if got := splitQuote(in); got != want {
			t.Errorf("splitQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
