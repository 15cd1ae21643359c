package results

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Result codes, as LAVA stores them (lava_results_app TestCase.RESULT_*).
const (
	CodePass    = 0
	CodeFail    = 1
	CodeSkip    = 2
	CodeUnknown = 3
)

var resultNames = [...]string{"pass", "fail", "skip", "unknown"}

// ResultCode returns the code of a result name (exact, lower case, as LAVA
// compares it) and whether the name is one of pass, fail, skip or unknown.
func ResultCode(name string) (int, bool) {
	for i, n := range resultNames {
		if n == name {
			return i, true
		}
	}
	return 0, false
}

// ResultName returns the name of a result code, or "" for an unknown code.
func ResultName(code int) string {
	if code < 0 || code >= len(resultNames) {
		return ""
	}
	return resultNames[code]
}

// ValidResult reports whether r is pass, fail, skip or unknown.
func ValidResult(r string) bool {
	_, ok := ResultCode(r)
	return ok
}

// LavaSuite is the suite of the dispatcher's own results (actions, test
// runs, the job itself).
const LavaSuite = "lava"

// RecordError is a results record LAVA would refuse; Msg is LAVA's message.
type RecordError struct{ Msg string }

func (e *RecordError) Error() string { return e.Msg }

// Case is one test case result.
type Case struct {
	Suite       string
	Name        string
	Result      string
	Measurement *float64
	Units       string
	Set         string
	Reference   string
	Level       string
	// LogStart and LogEnd are the job log line numbers the case covers
	// (starttc/endtc, else the line of the results record).
	LogStart, LogEnd int64
	// Metadata is the results record as received.
	Metadata map[string]any
}

// Code returns the case's result code (CodeUnknown for an invalid result).
func (c Case) Code() int {
	if n, ok := ResultCode(c.Result); ok {
		return n
	}
	return CodeUnknown
}

// FromRecord converts the mapping of a `lvl: results` log record into a
// Case. line is the log line number of the record. The keys definition,
// case and result are required (LAVA's message when one is missing); the
// result must be pass, fail, skip or unknown; measurement (or, for the lava
// suite, duration) must be a finite decimal number.
func FromRecord(rec map[string]any, line int64) (Case, error) {
	def, okD := rec["definition"]
	name, okC := rec["case"]
	res, okR := rec["result"]
	if !okD || !okC || !okR {
		return Case{}, &RecordError{Msg: `Missing some keys ("definition", "case" or "result") in ` + PyRepr(rec)}
	}
	c := Case{
		Suite:    stringOf(def),
		Name:     stringOf(name),
		Result:   stringOf(res),
		Level:    stringOf(rec["level"]),
		Units:    stringOf(rec["units"]),
		Set:      stringOf(rec["set"]),
		LogStart: line,
		LogEnd:   line,
		Metadata: rec,
	}
	if rv, ok := rec["reference"]; ok {
		c.Reference = stringOf(rv)
	}
	if c.Suite == "" || c.Name == "" {
		return Case{}, fmt.Errorf("empty definition or case in results record %s", PyRepr(rec))
	}
	if !ValidResult(c.Result) {
		return Case{}, &RecordError{Msg: "Bad test result: " + c.Result}
	}
	mkey := "measurement"
	if _, ok := rec[mkey]; !ok && c.Suite == LavaSuite {
		if _, ok := rec["duration"]; ok {
			mkey = "duration"
			c.Units = "seconds"
		}
	}
	if mv, ok := rec[mkey]; ok && mv != nil {
		m, err := ParseMeasurement(mv)
		if err != nil {
			return Case{}, fmt.Errorf("results record %s: %s: %w", c.Name, mkey, err)
		}
		c.Measurement = &m
	}
	for key, dst := range map[string]*int64{"starttc": &c.LogStart, "endtc": &c.LogEnd} {
		if v, ok := rec[key]; ok && v != nil {
			n, err := parseInt(v)
			if err != nil {
				return Case{}, fmt.Errorf("results record %s: %s: %w", c.Name, key, err)
			}
			*dst = n
		}
	}
	return c, nil
}

// ParseMeasurement accepts a number or a string holding a finite decimal
// number (what Python's Decimal accepts, less NaN and infinities, which a
// database column cannot hold).
func ParseMeasurement(v any) (float64, error) {
	var f float64
	switch x := v.(type) {
	case float64:
		f = x
	case float32:
		f = float64(x)
	case int:
		f = float64(x)
	case int64:
		f = float64(x)
	case uint64:
		f = float64(x)
	case string:
		s := strings.TrimSpace(x)
		if s == "" || strings.ContainsAny(s, "xXpP_") {
			return 0, fmt.Errorf("not a decimal number: %q", x)
		}
		var err error
		f, err = strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, fmt.Errorf("not a decimal number: %q", x)
		}
	default:
		return 0, fmt.Errorf("not a decimal number: %v", v)
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("not a finite decimal number: %v", v)
	}
	return f, nil
}

func parseInt(v any) (int64, error) {
	switch x := v.(type) {
	case int:
		return int64(x), nil
	case int64:
		return x, nil
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > 1<<53 {
			return 0, fmt.Errorf("not a line number: %v", v)
		}
		return int64(x), nil
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("not a line number: %q", x)
		}
		return n, nil
	}
	return 0, fmt.Errorf("not a line number: %v", v)
}

// stringOf renders a scalar the way Python's str() would for the values a
// results record holds.
func stringOf(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	default:
		return PyStr(x)
	}
}

// PyStr renders v as Python's str() would: strings as they are, everything
// else as PyRepr.
func PyStr(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return PyRepr(v)
}

// PyRepr renders v as Python's repr() would for JSON/YAML-like values
// (mappings with sorted keys, since Go maps have no order). LAVA's CSV
// export writes the metadata mapping this way.
func PyRepr(v any) string {
	var b strings.Builder
	pyRepr(&b, v)
	return b.String()
}

func pyRepr(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("None")
	case bool:
		if x {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case string:
		pyQuote(b, x)
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case uint64:
		b.WriteString(strconv.FormatUint(x, 10))
	case float64:
		b.WriteString(pyFloat(x))
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			pyRepr(b, e)
		}
		b.WriteByte(']')
	case []string:
		l := make([]any, len(x))
		for i := range x {
			l[i] = x[i]
		}
		pyRepr(b, l)
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			pyQuote(b, k)
			b.WriteString(": ")
			pyRepr(b, x[k])
		}
		b.WriteByte('}')
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, v := range x {
			m[k] = v
		}
		pyRepr(b, m)
	default:
		pyQuote(b, fmt.Sprint(x))
	}
}

func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eEn") {
		s += ".0"
	}
	return s
}

func pyQuote(b *strings.Builder, s string) {
	q := byte('\'')
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		q = '"'
	}
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte(q)
}
