package sandbox

import (
	"slices"
	"testing"

	"github.com/lavalab/lavalab/sdk"
)

// TestRecoveryPowerOps checks the recovery mode operations (issue 19): a
// power step names recovery_mode or recovery_exit and the host runs the
// dictionary's recovery_mode_command / recovery_exit_command; a step that
// carries other command lines is refused.
func TestRecoveryPowerOps(t *testing.T) {
	sb := &Sandbox{Admin: map[string]any{
		"recovery_mode_command": []any{"usb-mux serial-download", "relay 3 on"},
		"recovery_exit_command": "usb-mux emmc",
	}}
	for op, want := range map[string][]string{
		sdk.PowerRecoveryMode: {"usb-mux serial-download", "relay 3 on"},
		sdk.PowerRecoveryExit: {"usb-mux emmc"},
	} {
		s := sdk.Step{Kind: sdk.StepPower, Name: "switch-recovery", Power: &sdk.PowerStep{Op: op}}
		if err := s.Validate(); err != nil {
			t.Fatalf("%s: %v", op, err)
		}
		act, err := sb.Admit(s)
		if err != nil || !slices.Equal(act.Shell, want) {
			t.Errorf("%s: %q, %v; want %q", op, act.Shell, err, want)
		}
	}
	if _, err := sb.admitPower(sdk.PowerStep{Op: sdk.PowerRecoveryExit, Commands: []string{"rm -rf /"}}); err == nil {
		t.Error("a recovery_exit step with its own command line was admitted")
	}
}
