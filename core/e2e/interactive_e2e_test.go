package e2e

import (
	"fmt"
	"testing"
)

// interactiveJob stops the virtual board at its U-Boot prompt (boot method
// bootloader) and runs an interactive test there: a success whose named
// group is substituted into the next command, an unknown command and a
// missing variable that match their failure patterns.
func interactiveJob() string {
	return fmt.Sprintf(`job_name: interactive at the u-boot prompt
device_type: %s
visibility: public
timeouts:
  job:
    minutes: 5
  action:
    minutes: 3
  connection:
    minutes: 1
actions:
- boot:
    method: bootloader
    bootloader: u-boot
    commands: []
    prompts: ['=>']
- test:
    timeout:
      minutes: 2
    interactive:
    - name: uboot-checks
      prompts: ['=> ']
      echo: discard
      script:
      - command: version
        name: uboot-version
        successes:
        - message: 'U-Boot (?P<UBOOT_VERSION>20\d\d\.\d\d)'
      - command: echo got-{UBOOT_VERSION}-{JOB_ID}
        name: substituted
        successes:
        - message: 'got-20\d\d\.\d\d-\d+'
      - command: frob
        name: unknown-command
        successes:
        - message: 'frob done'
        failures:
        - message: 'Unknown command'
      - command: printenv nosuchvar
        name: missing-variable
        successes:
        - message: 'nosuchvar='
        failures:
        - message: '"nosuchvar" not defined'
      - command: 'true'
        name: prompt-only
`, deviceType)
}

// TestInteractiveUBoot (issue 21) runs an interactive job at the virtual
// board's U-Boot prompt through lava-server and lava-worker: it ends
// Complete with the pass and fail cases recorded as LAVA records them.
func TestInteractiveUBoot(t *testing.T) {
	l := newLab(t, labOptions{})
	id := l.submit(interactiveJob())
	j := l.waitFinished(id)
	if j.Health != "Complete" {
		t.Fatalf("job %d: %s (%s), want Complete\nlog tail:\n%s", id, j.Health, j.FailureComment, tail(logText(l.logs(id)), 40))
	}
	wantCases(t, id, l.results(id), map[string]string{
		"0_uboot-checks/uboot-version":     "pass",
		"0_uboot-checks/substituted":       "pass",
		"0_uboot-checks/unknown-command":   "fail",
		"0_uboot-checks/missing-variable":  "fail",
		"0_uboot-checks/prompt-only":       "pass",
		"lava/0_uboot-checks":              "pass",
		"lava/boot-bootloader-retry":       "pass", // LAVA's name (core/dispatch/stagenames17.go)
		"lava/lava-test-interactive-retry": "pass",
	})
	wantLog(t, id, l.logs(id), `Matched a success: "U-Boot \(\?P<UBOOT_VERSION>`, `Matched a failure: "Unknown command"`)
	l.wantBoardOff("vlab-01")
	l.wantBoardOff("vlab-02")
}
