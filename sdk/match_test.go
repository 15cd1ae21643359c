package sdk

import (
	"regexp"
	"testing"
)

// The patterns the matchers replace: the tests hold them to these.
var (
	reSettingKey    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)
	reYAMLNonString = regexp.MustCompile(`(?i)^(null|~|true|false|yes|no|on|off|y|n|[-+]?(\.inf|\.nan)|[-+]?[0-9][0-9_]*(\.[0-9_]*)?([eE][-+]?[0-9]+)?|[-+]?\.[0-9]+([eE][-+]?[0-9]+)?|0x[0-9a-f_]+|0o[0-7]+|0b[01]+|[-+]?[0-9]+(:[0-5]?[0-9])+(\.[0-9]*)?)$`)
	reDecimalInt    = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)
)

var matchSeeds = []string{
	"", "a", "_", "-", "a-b_C9", "9a", "a b", "é", "console_device",
	"0", "-0", "00", "-", "12", "-12", "012", "1-", "+1",
	"null", "NULL", "Null", "~", "true", "TRUE", "False", "yes", "YES", "yeſ", "no", "No", "on", "OFF", "y", "Y", "n", "nn", "yess",
	".inf", "-.INF", "+.nan", ".Nan", "inf", ".in",
	"1", "1_000", "1.", "1.5", "1._5", "1e5", "1E+5", "1.e-5", "1e", "1e+", "_1", "1__", "-1.5e10", "+.5", ".5", ".5e3", ".", ".e3", "-.",
	"0x1F", "0X_ab", "0x", "0xg", "0o17", "0o8", "0O7", "0b101", "0b2", "0B1",
	"1:30", "1:30:59", "1:60", "1:5", "1:059", "1:30.5", "1:30.", "-1:30", "+1:2:3", ":30", "1:", "1:30:", "190:20:30.15",
	"0x1K", "1.0.0", "0x400000", "0x00001000", "u-boot", "=>",
}

func TestMatchersAgreeWithTheirPatterns(t *testing.T) {
	for _, s := range matchSeeds {
		checkMatchers(t, s)
	}
}

func checkMatchers(t *testing.T, s string) {
	t.Helper()
	if got, want := isSettingKey(s), reSettingKey.MatchString(s); got != want {
		t.Errorf("isSettingKey(%q) = %v, the pattern says %v", s, got, want)
	}
	if got, want := isDecimalInt(s), reDecimalInt.MatchString(s); got != want {
		t.Errorf("isDecimalInt(%q) = %v, the pattern says %v", s, got, want)
	}
	if got, want := isYAMLNonString(s), reYAMLNonString.MatchString(s); got != want {
		t.Errorf("isYAMLNonString(%q) = %v, the pattern says %v", s, got, want)
	}
}

func FuzzMatchers(f *testing.F) {
	for _, s := range matchSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkMatchers(t, s) })
}
