package sdk

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseSettings reads a driver's settings.yaml: the one source of truth for
// the settings a driver reads, their defaults and their help text. Drivers
// embed the file (go:embed) and answer describe with what it says.
//
// The file is a strict subset of YAML, so any YAML reader gets the same
// values, and small enough to parse without a YAML library:
//
//	# Help text of the key, one or more comment lines right above it.
//	# type: int        (optional; otherwise the type is read from the value)
//	key: value
//
// A value is a quoted string ('single' with ” for a quote, or "double" with
// backslash escapes), a decimal integer, true or false, a flow list of such
// scalars ([a, 'b c', 3]) or an empty mapping ({}). A plain (unquoted) string
// is accepted when YAML would read it as the same string; anything YAML would
// read otherwise (0x10, 1.5, null, ~, yes, a colon followed by a space, ...)
// must be quoted. A blank line ends a help block; comments not directly above
// a key are ignored. Every key needs a help comment.
func ParseSettings(text []byte) ([]SettingSpec, error) {
	var (
		specs []SettingSpec
		help  []string
		typ   string
		seen  = map[string]bool{}
	)
	for n, raw := range strings.Split(string(text), "\n") {
		line := strings.TrimRight(raw, " \t\r")
		lineNo := n + 1
		switch {
		case line == "" || line == "---":
			help, typ = nil, ""
			continue
		case strings.HasPrefix(line, "#"):
			c := strings.TrimSpace(strings.TrimPrefix(line, "#"))
			if t, ok := strings.CutPrefix(c, "type:"); ok {
				typ = strings.TrimSpace(t)
				switch typ {
				case SettingString, SettingInt, SettingBool, SettingList, SettingMap:
				default:
					return nil, fmt.Errorf("settings line %d: unknown type %q", lineNo, typ)
				}
				continue
			}
			if c != "" {
				help = append(help, c)
			}
			continue
		case line[0] == ' ' || line[0] == '\t':
			return nil, fmt.Errorf("settings line %d: indented line: only top-level `key: value` lines are allowed", lineNo)
		}
		key, rest, ok := strings.Cut(line, ":")
		if !ok || !isSettingKey(key) {
			return nil, fmt.Errorf("settings line %d: want `key: value` with a key of letters, digits, '_' or '-', got %q", lineNo, line)
		}
		if rest != "" && rest[0] != ' ' {
			return nil, fmt.Errorf("settings line %d: want a space after the colon", lineNo)
		}
		if seen[key] {
			return nil, fmt.Errorf("settings line %d: key %q given twice", lineNo, key)
		}
		seen[key] = true
		if len(help) == 0 {
			return nil, fmt.Errorf("settings line %d: key %q has no help comment above it", lineNo, key)
		}
		val, vtype, err := parseSettingValue(strings.TrimSpace(rest))
		if err != nil {
			return nil, fmt.Errorf("settings line %d: key %q: %w", lineNo, key, err)
		}
		if typ != "" {
			if vtype != typ && !(vtype == SettingString && val == "") {
				return nil, fmt.Errorf("settings line %d: key %q is declared %s but its default is a %s", lineNo, key, typ, vtype)
			}
			vtype = typ
		}
		specs = append(specs, SettingSpec{Key: key, Type: vtype, Default: val, Help: strings.Join(help, " ")})
		help, typ = nil, ""
	}
	return specs, nil
}

// SettingDefaults returns the defaults of specs as a Values mapping.
func SettingDefaults(specs []SettingSpec) Values {
	v := make(Values, len(specs))
	for _, s := range specs {
		v[s.Key] = s.Default
	}
	return v
}

func parseSettingValue(s string) (any, string, error) {
	switch {
	case s == "":
		return nil, "", fmt.Errorf("no value (write '' for an empty string)")
	case s == "[]":
		return []any{}, SettingList, nil
	case s == "{}":
		return map[string]any{}, SettingMap, nil
	case s[0] == '[':
		if !strings.HasSuffix(s, "]") {
			return nil, "", fmt.Errorf("unterminated list %q", s)
		}
		items, err := splitFlow(s[1 : len(s)-1])
		if err != nil {
			return nil, "", err
		}
		out := make([]any, 0, len(items))
		for _, it := range items {
			v, t, err := parseSettingScalar(strings.TrimSpace(it))
			if err != nil {
				return nil, "", fmt.Errorf("list item %q: %w", it, err)
			}
			if t == SettingList || t == SettingMap {
				return nil, "", fmt.Errorf("nested collections are not allowed")
			}
			out = append(out, v)
		}
		return out, SettingList, nil
	}
	return parseSettingScalar(s)
}

func parseSettingScalar(s string) (any, string, error) {
	if s == "" {
		return nil, "", fmt.Errorf("empty item")
	}
	switch s[0] {
	case '\'':
		if len(s) < 2 || s[len(s)-1] != '\'' {
			return nil, "", fmt.Errorf("unterminated single-quoted string %s", s)
		}
		body := s[1 : len(s)-1]
		if strings.Count(body, "'")%2 != 0 || strings.Contains(strings.ReplaceAll(body, "''", ""), "'") {
			return nil, "", fmt.Errorf("a quote inside a single-quoted string must be doubled: %s", s)
		}
		return strings.ReplaceAll(body, "''", "'"), SettingString, nil
	case '"':
		v, err := strconv.Unquote(s)
		if err != nil {
			return nil, "", fmt.Errorf("bad double-quoted string %s: %w", s, err)
		}
		return v, SettingString, nil
	}
	if isDecimalInt(s) {
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, "", fmt.Errorf("integer %s: %w", s, err)
		}
		return n, SettingInt, nil
	}
	switch s {
	case "true":
		return true, SettingBool, nil
	case "false":
		return false, SettingBool, nil
	}
	if isYAMLNonString(s) {
		return nil, "", fmt.Errorf("%q is not read as a string by YAML: quote it", s)
	}
	if strings.ContainsAny(s[:1], "-?:,[]{}#&*!|>'\"%@`") || strings.Contains(s, ": ") || strings.Contains(s, " #") ||
		strings.HasSuffix(s, ":") || strings.ContainsAny(s, ",[]{}") {
		return nil, "", fmt.Errorf("%q needs quotes in YAML: quote it", s)
	}
	return s, SettingString, nil
}

// splitFlow splits a flow list body on commas outside quotes.
func splitFlow(s string) ([]string, error) {
	var (
		out   []string
		start int
		quote byte
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote == '"' && c == '\\':
			i++
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && (c == '\'' || c == '"'):
			quote = c
		case quote == 0 && c == ',':
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated quote in list")
	}
	last := s[start:]
	if strings.TrimSpace(last) != "" || len(out) > 0 {
		out = append(out, last)
	}
	return out, nil
}
