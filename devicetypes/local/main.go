package main

import (
	_ "embed"
	"regexp"
	"strings"

	"github.com/lavalab/lavalab/devicetypes/internal/drv"
	"github.com/lavalab/lavalab/sdk"
)

//go:embed settings.yaml
var settings []byte

const version = "1.0.0"

type driver struct{ drv.Info }

func newDriver() driver {
	return driver{drv.Info{
		Name: "local", Version: version, Settings: settings,
		Summary:       "A shell on the worker host in a pty: jobs without a board",
		DeployMethods: []string{"local", "tmpfs", "overlay"},
		BootMethods:   []string{"local", "minimal"},
	}.Parsed()}
}

func main() { sdk.Run(newDriver()) }

// Plan plans one action. Any deploy method is accepted and needs nothing;
// any boot method starts the shell.
func (d driver) Plan(req sdk.PlanRequest) (sdk.Plan, error) {
	specs, err := d.Specs()
	if err != nil {
		return sdk.Plan{}, err
	}
	s := drv.Effective(specs, req)
	switch req.Action.Kind {
	case sdk.ActionDeploy:
		return drv.Empty(), nil
	case sdk.ActionBoot:
		// The shell is a host tool: the worker runs it only where its
		// admin allowed it (lava-worker --allow-tool sh@local).
		shell := s.String("shell", "sh")
		if !sdk.ValidToolName(shell) {
			return sdk.Plan{}, sdk.Errorf(sdk.ErrorConfiguration, "local: the shell setting %q is not a host tool name (a bare program name such as sh or bash, which the worker's admin allows)", shell)
		}
		prompt := s.String("shell_prompt", "lava-local: # ")
		prompts := append([]string{regexp.QuoteMeta(prompt)}, req.Action.Params.Strings("prompts")...)
		return sdk.Plan{Steps: []sdk.Step{
			{Kind: sdk.StepConnect, Name: "connect-shell", Connect: &sdk.ConnectStep{Tool: &sdk.ToolStep{Name: shell}}},
			{Kind: sdk.StepSend, Name: "set-prompt", Send: &sdk.SendStep{Text: "export PS1=" + splitQuote(prompt), Newline: true}},
			{Kind: sdk.StepShell, Name: "expect-shell-connection", Shell: &sdk.ShellStep{Prompts: prompts}},
		}}, nil
	case sdk.ActionTest:
		return drv.TestPlan(s), nil
	case sdk.ActionCommand:
		return drv.CommandPlan(req.Action.Method, s)
	}
	return sdk.Plan{}, sdk.Errorf(sdk.ErrorBug, "unknown action kind %q", req.Action.Kind)
}

// splitQuote single-quotes the prompt for sh in two halves ('lava-l”ocal: # '),
// so the echo of the command line does not itself match the prompt.
func splitQuote(p string) string {
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	if len(p) < 2 {
		return q(p)
	}
	h := len(p) / 2
	return q(p[:h]) + q(p[h:])
}
