package sdk

import "strings"

// Hand-written matchers for the few patterns settings.yaml needs: the
// regexp package would add half a megabyte to every WASM driver (about a
// tenth of a Go driver, which the host hashes, validates and loads on
// every start) and compile its patterns in every instance.

// isSettingKey matches ^[A-Za-z_][A-Za-z0-9_-]*$.
func isSettingKey(s string) bool {
	if s == "" || !(isLetter(s[0]) || s[0] == '_') {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !(isLetter(c) || isDigit(c) || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// isDecimalInt matches ^-?(0|[1-9][0-9]*)$.
func isDecimalInt(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" || (s[0] == '0' && len(s) > 1) {
		return false
	}
	return allOf(s, isDigit)
}

// isYAMLNonString reports whether YAML 1.1 would read s, unquoted, as
// something other than a string: null, a boolean, or a number in any of
// its forms (case-insensitive):
//
//	null ~ true false yes no on off y n
//	[-+]?(.inf|.nan)
//	[-+]?[0-9][0-9_]*(.[0-9_]*)?([eE][-+]?[0-9]+)?
//	[-+]?.[0-9]+([eE][-+]?[0-9]+)?
//	0x[0-9a-f_]+  0o[0-7]+  0b[01]+
//	[-+]?[0-9]+(:[0-5]?[0-9])+(.[0-9]*)?
func isYAMLNonString(s string) bool {
	for _, w := range [...]string{"null", "~", "true", "false", "yes", "no", "on", "off", "y", "n"} {
		if strings.EqualFold(s, w) { // the regexp's (?i): Unicode simple folding, "ſ" is an "s"
			return true
		}
	}
	if len(s) > 2 && s[0] == '0' {
		digits := s[2:]
		switch s[1] {
		case 'x', 'X':
			return allOf(digits, func(c byte) bool { return isDigit(c) || c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'f') })
		case 'o', 'O':
			return allOf(digits, func(c byte) bool { return c >= '0' && c <= '7' })
		case 'b', 'B':
			return allOf(digits, func(c byte) bool { return c == '0' || c == '1' })
		}
	}
	u := s
	if u != "" && (u[0] == '-' || u[0] == '+') {
		u = u[1:]
	}
	if strings.EqualFold(u, ".inf") || strings.EqualFold(u, ".nan") {
		return true
	}
	return isYAMLFloat(u) || isYAMLDotFloat(u) || isSexagesimal(u)
}

// isYAMLFloat matches [0-9][0-9_]*(\.[0-9_]*)?([eE][-+]?[0-9]+)?.
func isYAMLFloat(s string) bool {
	if s == "" || !isDigit(s[0]) {
		return false
	}
	i := 1 + span(s[1:], func(c byte) bool { return isDigit(c) || c == '_' })
	if i < len(s) && s[i] == '.' {
		i++
		i += span(s[i:], func(c byte) bool { return isDigit(c) || c == '_' })
	}
	return isExponent(s[i:])
}

// isYAMLDotFloat matches \.[0-9]+([eE][-+]?[0-9]+)?.
func isYAMLDotFloat(s string) bool {
	if len(s) < 2 || s[0] != '.' {
		return false
	}
	n := span(s[1:], isDigit)
	return n > 0 && isExponent(s[1+n:])
}

// isExponent matches the empty string or [eE][-+]?[0-9]+.
func isExponent(s string) bool {
	if s == "" {
		return true
	}
	if s[0] != 'e' && s[0] != 'E' {
		return false
	}
	s = s[1:]
	if s != "" && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	return s != "" && allOf(s, isDigit)
}

// isSexagesimal matches [0-9]+(:[0-5]?[0-9])+(\.[0-9]*)?.
func isSexagesimal(s string) bool {
	n := span(s, isDigit)
	if n == 0 {
		return false
	}
	s = s[n:]
	groups := 0
	for s != "" && s[0] == ':' {
		d := span(s[1:], isDigit)
		if d == 0 || d > 2 || (d == 2 && s[1] > '5') {
			return false
		}
		s = s[1+d:]
		groups++
	}
	if groups == 0 {
		return false
	}
	if s == "" {
		return true
	}
	return s[0] == '.' && allOf(s[1:], isDigit)
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }
func isDigit(c byte) bool  { return c >= '0' && c <= '9' }

func allOf(s string, f func(byte) bool) bool { return span(s, f) == len(s) }

// span is the length of the prefix of s whose bytes satisfy f.
func span(s string, f func(byte) bool) int {
	for i := 0; i < len(s); i++ {
		if !f(s[i]) {
			return i
		}
	}
	return len(s)
}
