package dispatch

import (
	"errors"
	"testing"
)

func TestToolTail(t *testing.T) {
	var tt toolTail
	if err := tt.wrap(nil); err != nil {
		t.Fatalf("wrap(nil) = %v", err)
	}
	base := errors.New("exit status 1")
	if err := tt.wrap(base); err != base {
		t.Fatalf("no lines: %v, want the error as it is", err)
	}
	for _, l := range []string{"Sending 'vendor' OKAY", "  ", "Writing 'vendor' FAILED (remote: 'partition does not exist')", "fastboot: error: Command failed", "last"} {
		tt.add(l)
	}
	err := tt.wrap(base)
	if !errors.Is(err, base) {
		t.Fatalf("%v does not wrap the tool's error", err)
	}
	if want := "exit status 1: Writing 'vendor' FAILED (remote: 'partition does not exist') | fastboot: error: Command failed | last"; err.Error() != want {
		t.Fatalf("got  %s\nwant %s", err, want)
	}
}
