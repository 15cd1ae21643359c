package dispatch

import (
	"testing"

	"github.com/lavalab/lavalab/core/model"
)

func TestTargetLineEndings(t *testing.T) {
	var got []string
	l := newJobLog(SinkFunc(func(r model.LogRecord) { got = append(got, r.Message) }))
	for _, raw := range []string{"tick 1 of 6\r", "Hit any key to stop autoboot:  2 \r\r", "a\rb", "plain", "\r"} {
		l.target(raw)
	}
	want := []string{"tick 1 of 6", "Hit any key to stop autoboot:  2 ", "a\rb", "plain", ""}
	if len(got) != len(want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("record %d = %q, want %q", i, got[i], want[i])
		}
	}
}
