package dispatch

import (
	"maps"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/sdk"
	"gopkg.in/yaml.v3"
)

func yamlAny(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestParseInteractive(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, err string
	}{
		{"ok", `
- name: uboot
  prompts: ["=> ", "/ # "]
  echo: discard
  script:
  - command: echo hi
    name: hi
    successes: [{message: "hi"}]
    failures: [{message: "err", exception: TestError, error: "boom"}]
  - delay: 1
  - command:
  - lava-send: ready key=value
`, ""},
		{"not a list", `{name: x}`, "expected a list of scripts"},
		{"bad name", `[{name: "a b", prompts: ["=>"], script: []}]`, `name "a b" must match`},
		{"no prompts", `[{name: a, script: []}]`, "prompts: expected a non-empty list"},
		{"bad prompt regex", `[{name: a, prompts: ["(x"], script: []}]`, `prompt "(x"`},
		{"bad echo", `[{name: a, prompts: ["=>"], echo: keep, script: []}]`, `echo: only "discard"`},
		{"unknown key", `[{name: a, prompts: ["=>"], script: [{command: x, expect: y}]}]`, `script[0]: unknown key "expect"`},
		{"bad exception", `[{name: a, prompts: ["=>"], script: [{command: x, failures: [{message: m, exception: Oops}]}]}]`, `exception "Oops"`},
		{"empty message", `[{name: a, prompts: ["=>"], script: [{command: x, successes: [{message: ""}]}]}]`, "successes[0]: message"},
		{"bad success regex", `[{name: a, prompts: ["=>"], script: [{command: x, successes: [{message: "(?P<x"}]}]}]`, `successes[0]: message "(?P<x"`},
		{"bad delay", `[{name: a, prompts: ["=>"], script: [{delay: soon}]}]`, "delay: expected a number of seconds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := parseInteractive(yamlAny(t, tc.yaml))
			if tc.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(s) != 1 || !s[0].EchoDiscard || len(s[0].Script) != 4 || s[0].Script[1].Delay == 0 ||
					s[0].Script[2].Command != nil || s[0].Script[3].MultinodeOp != "lava-send" ||
					s[0].Script[0].Failures[0].Exception != "TestError" || !s[0].Script[0].WaitForPrompt {
					t.Errorf("parsed %+v", s)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("error %v, want one containing %q", err, tc.err)
			}
		})
	}
}

func TestInteractiveClassify(t *testing.T) {
	prompts := []string{"=> ", "/ # "}
	cmd := interactiveCmd{
		Successes: []string{`Version: (?P<major>\d+)\.(?P<minor>\d+)`, "OK"},
		Failures:  []interactiveFailure{{Message: "Unknown command"}, {Message: "FATAL", Exception: "InfrastructureError", Error: "the board broke"}},
	}
	noSuccess := interactiveCmd{Failures: []interactiveFailure{{Message: "Unknown command"}}}
	for _, tc := range []struct {
		name    string
		cmd     interactiveCmd
		idx     int
		text    string
		pass    bool
		prompt  bool
		errType string
		groups  map[string]string
	}{
		{"prompt while a success is expected", cmd, 0, "=> ", false, true, "", nil},
		{"prompt without successes", noSuccess, 1, "/ # ", true, true, "", nil},
		{"failure without exception", cmd, 2, "Unknown command", false, false, "", nil},
		{"failure with exception", cmd, 3, "FATAL", false, false, sdk.ErrorInfrastructure, nil},
		{"success with groups", cmd, 4, "Version: 2023.10", true, false, "", map[string]string{"major": "2023", "minor": "10"}},
		{"success without groups", cmd, 5, "OK", true, false, "", nil},
		{"failure of a command without successes", noSuccess, 2, "Unknown command", false, false, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := len(tc.cmd.patterns(prompts)); got != len(prompts)+len(tc.cmd.Failures)+len(tc.cmd.Successes) {
				t.Fatalf("%d patterns", got)
			}
			o := tc.cmd.classify(prompts, tc.idx, tc.text)
			if o.Pass != tc.pass || o.Prompt != tc.prompt || !maps.Equal(o.Groups, tc.groups) {
				t.Errorf("outcome %+v", o)
			}
			if got := errorType(o.Err, ""); got != tc.errType {
				t.Errorf("error %v (type %q), want type %q", o.Err, got, tc.errType)
			}
			if tc.errType != "" && !strings.Contains(o.Err.Error(), "the board broke") {
				t.Errorf("error %v does not carry the failure's error text", o.Err)
			}
		})
	}
	if got := substitute("ping {SERVER_IP} -c {N}", map[string]string{"{SERVER_IP}": "10.0.0.1", "{N}": "3"}); got != "ping 10.0.0.1 -c 3" {
		t.Errorf("substitute: %q", got)
	}
}

// TestRunInteractiveShell runs an interactive test at the local device's
// shell prompt: a success with a named group substituted into the next
// command, a failure, a prompt where a success was expected, a delay, and
// an unnamed failing command that ends the job with a TestError.
func TestRunInteractiveShell(t *testing.T) {
	d := newDispatcher(t)
	const prompt = "lava-local: # "
	def := jobWith("", bootAction+`- test:
    interactive:
    - name: shell-checks
      prompts: ['`+prompt+`']
      script:
      - command: echo "ver=$((40+2))"
        name: version
        successes:
        - message: '^ver=(?P<VER>\d+)'
      - command: echo "got {VER} of {JOB_ID}"
        name: substituted
        successes:
        - message: '^got 42 of 4242'
      - command: echo "Unknown command 'frob'"
        name: frob
        failures:
        - message: "^Unknown command"
        successes:
        - message: "^frob done"
      - command: "true"
        name: wants-success
        successes:
        - message: "^never printed"
      - delay: 0
      - command: "true"
        name: just-prompt
    - name: second
      prompts: ['`+prompt+`']
      script:
      - command: echo "bad thing"
        failures:
        - message: "^bad thing"
`)
	rec := &recorder{}
	out := runJob(t, d, def, localDict(t, ""), rec)
	if out.Health != model.JobIncomplete || out.ErrorType != sdk.ErrorTest || !strings.Contains(out.Error, "Failed to run command 'echo \"bad thing\"'") {
		t.Fatalf("job %s %s: %s\nlog:\n%s", out.Health, out.ErrorType, out.Error, rec.text())
	}
	wantCases(t, out, map[string]string{
		"0_shell-checks/version": "pass", "0_shell-checks/substituted": "pass",
		"0_shell-checks/frob": "fail", "0_shell-checks/wants-success": "fail", "0_shell-checks/just-prompt": "pass",
		"lava/0_shell-checks": "pass", "lava/0_second": "fail", "lava/lava-test-interactive-retry": "fail",
	})
}
