package sdk

import (
	"fmt"
	"strconv"
	"strings"
)

// Values is a mapping of settings, context or action parameters as decoded
// from JSON or YAML. Its getters convert what LAVA dictionaries hold (numbers
// written as strings, "True"/"False", ...) to the type asked for.
type Values map[string]any

// Has reports whether key is set (even to an empty value).
func (v Values) Has(key string) bool { _, ok := v[key]; return ok }

// String returns the value of key as a string, or def when unset or null.
func (v Values) String(key, def string) string {
	x, ok := v[key]
	if !ok || x == nil {
		return def
	}
	switch t := x.(type) {
	case string:
		return t
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case bool:
		if t {
			return "True"
		}
		return "False"
	default:
		return fmt.Sprint(t)
	}
}

// Int returns the value of key as an int, or def when unset or not a number.
func (v Values) Int(key string, def int) int {
	switch t := v[key].(type) {
	case float64:
		return int(t)
	case int:
		return t
	case int64:
		return int(t)
	case string:
		if n, err := strconv.Atoi(strings.TrimSpace(t)); err == nil {
			return n
		}
	}
	return def
}

// Bool returns the value of key as a bool, or def when unset. Strings
// "true", "yes", "1" (any case) are true; "false", "no", "0" are false.
func (v Values) Bool(key string, def bool) bool {
	switch t := v[key].(type) {
	case bool:
		return t
	case float64:
		return t != 0
	case string:
		switch strings.ToLower(strings.TrimSpace(t)) {
		case "true", "yes", "1", "on":
			return true
		case "false", "no", "0", "off", "":
			return false
		}
	}
	return def
}

// Strings returns the value of key as a list of strings. A single string is
// a one-element list; unset is nil.
func (v Values) Strings(key string) []string {
	switch t := v[key].(type) {
	case []any:
		out := make([]string, 0, len(t))
		for _, e := range t {
			out = append(out, fmt.Sprint(e))
		}
		return out
	case []string:
		return append([]string(nil), t...)
	case string:
		return []string{t}
	}
	return nil
}

// Map returns the value of key as a Values mapping, or nil.
func (v Values) Map(key string) Values {
	switch t := v[key].(type) {
	case map[string]any:
		return Values(t)
	case Values:
		return t
	}
	return nil
}
