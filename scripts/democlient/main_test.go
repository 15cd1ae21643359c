package main

import (
	"strings"
	"testing"
)

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"vlab:/# \x1b[6n":    `vlab:/# \x1b[6n`,
		"a\tb":               "a\tb",
		"bell\a and \r":      `bell\x07 and \x0d`,
		"U-Boot 2023.01 ünï": "U-Boot 2023.01 ünï",
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestShorten(t *testing.T) {
	short := strings.Repeat("x", maxLine)
	if got := shorten(short); got != short {
		t.Errorf("a line of %d characters was cut: %q", maxLine, got)
	}
	long := strings.Repeat("é", 1000)
	got := shorten(long)
	if !strings.HasPrefix(got, strings.Repeat("é", maxLine-40)+" … (840 more characters)") || len([]rune(got)) > maxLine {
		t.Errorf("shorten(1000 runes) = %q", got)
	}
}

func TestTiming(t *testing.T) {
	s := func(v string) *string { return &v }
	j := jobView{SubmitTime: s("2026-12-02T06:00:00Z"), StartTime: s("2026-12-02T06:00:00.25Z"), EndTime: s("2026-12-02T06:00:04.5Z")}
	if got, want := timing(j), " in 4.5 s (queued 0.25 s, ran 4.2 s)"; got != want {
		t.Errorf("timing = %q, want %q", got, want)
	}
	j.EndTime = nil
	if got := timing(j); got != "" {
		t.Errorf("timing of an unfinished job = %q, want nothing", got)
	}
}
