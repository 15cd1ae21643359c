package results

import (
	"encoding/xml"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Row is a stored case: a Case plus what the store adds (its id, its job,
// the time it was logged).
type Row struct {
	Case
	ID     int64
	Job    string
	Logged time.Time
}

// URL is the case's page, as LAVA's TestCase.get_absolute_url.
func (r Row) URL() string { return "/results/testcase/" + strconv.FormatInt(r.ID, 10) }

// ExportFields are the CSV columns, in LAVA's order (testcase_export_fields).
var ExportFields = []string{
	"job", "suite", "result", "measurement", "unit", "duration", "timeout",
	"logged", "level", "metadata", "url", "name", "id", "log_start_line", "log_end_line",
}

// Export returns the case as LAVA's export_testcase does: every value a
// string but metadata, which stays a mapping.
func Export(r Row) map[string]any {
	meta := r.Metadata
	if meta == nil {
		meta = map[string]any{}
	}
	return map[string]any{
		"name":           r.Name,
		"job":            r.Job,
		"suite":          r.Suite,
		"result":         r.Result,
		"measurement":    measurementString(r.Measurement),
		"unit":           r.Units,
		"level":          r.Level,
		"url":            r.URL(),
		"id":             strconv.FormatInt(r.ID, 10),
		"logged":         pyDatetime(r.Logged),
		"log_start_line": lineString(r.LogStart),
		"log_end_line":   lineString(r.LogEnd),
		"metadata":       meta,
	}
}

// measurementString renders a measurement as str() of LAVA's
// DecimalField(decimal_places=10), "None" when absent.
func measurementString(m *float64) string {
	if m == nil {
		return "None"
	}
	return strconv.FormatFloat(*m, 'f', 10, 64)
}

func lineString(n int64) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatInt(n, 10)
}

// pyDatetime renders t as str() of an aware Python datetime in UTC.
func pyDatetime(t time.Time) string {
	if t.IsZero() {
		return "None"
	}
	t = t.UTC()
	if t.Nanosecond()/1000 == 0 {
		return t.Format("2006-01-02 15:04:05") + "+00:00"
	}
	return t.Format("2006-01-02 15:04:05.000000") + "+00:00"
}

// WriteYAML writes the rows as results.get_testjob_results_yaml does: a
// YAML list of Export mappings (keys sorted), with every string PyYAML
// would read as something else quoted (the logged time, for one), so that
// lavacli's yaml.load gives a str back as with LAVA's own yaml.dump.
func WriteYAML(w io.Writer, rows []Row) error {
	if len(rows) == 0 {
		if _, err := io.WriteString(w, "[]\n"); err != nil {
			return fmt.Errorf("write results yaml: %w", err)
		}
		return nil
	}
	list := make([]map[string]any, len(rows))
	for i, r := range rows {
		list[i] = Export(r)
	}
	var n yaml.Node
	if err := n.Encode(list); err != nil {
		return fmt.Errorf("write results yaml: %w", err)
	}
	quotePyYAML(&n)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return fmt.Errorf("write results yaml: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("write results yaml: %w", err)
	}
	return nil
}

// pyImplicit matches the plain scalars PyYAML (YAML 1.1) resolves to
// something other than a string and yaml.v3 leaves unquoted: timestamps,
// yes/no/on/off, 0o/0b/underscored numbers, sexagesimals.
var pyImplicit = regexp.MustCompile(`^(?:` +
	`yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF` +
	`|~|null|Null|NULL|<<|=` +
	`|[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9_]+(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)` +
	`|[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+` +
	`|[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]` +
	`|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?` +
	`)$`)

// quotePyYAML single-quotes the plain strings under n that PyYAML would not
// read back as strings.
func quotePyYAML(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" && n.Style == 0 && pyImplicit.MatchString(n.Value) {
		n.Style = yaml.SingleQuotedStyle
	}
	for _, c := range n.Content {
		quotePyYAML(c)
	}
}

// WriteCSV writes the rows as results.get_testjob_results_csv does: a header
// of ExportFields and one row per case, every field quoted (QUOTE_ALL),
// CRLF line ends, metadata as Python's str() of the mapping, duration and
// timeout empty.
func WriteCSV(w io.Writer, rows []Row) error {
	var b strings.Builder
	writeCSVLine(&b, ExportFields)
	for _, r := range rows {
		e := Export(r)
		fields := make([]string, len(ExportFields))
		for i, k := range ExportFields {
			switch v := e[k].(type) {
			case nil:
				fields[i] = ""
			case string:
				fields[i] = v
			default:
				fields[i] = PyStr(v)
			}
		}
		writeCSVLine(&b, fields)
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write results csv: %w", err)
	}
	return nil
}

func writeCSVLine(b *strings.Builder, fields []string) {
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(strings.ReplaceAll(f, `"`, `""`))
		b.WriteByte('"')
	}
	b.WriteString("\r\n")
}

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr,omitempty"`
	Timestamp string        `xml:"timestamp,attr,omitempty"`
	Failure   *junitMessage `xml:"failure,omitempty"`
	Error     *junitMessage `xml:"error,omitempty"`
	Skipped   *junitMessage `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitMessage struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
}

// WriteJUnit writes the rows as JUnit XML, one testsuite per suite in the
// order suites first appear. fail is a failure, unknown an error, skip
// skipped; a measurement goes to system-out, and for the lava suite the
// duration (seconds) is the case time.
func WriteJUnit(w io.Writer, rows []Row) error {
	var doc junitSuites
	index := map[string]int{}
	for _, r := range rows {
		i, ok := index[r.Suite]
		if !ok {
			i = len(doc.Suites)
			index[r.Suite] = i
			doc.Suites = append(doc.Suites, junitSuite{Name: r.Suite})
		}
		s := &doc.Suites[i]
		c := junitCase{Name: r.Name, Classname: r.Suite}
		if !r.Logged.IsZero() {
			c.Timestamp = r.Logged.UTC().Format("2006-01-02T15:04:05")
		}
		if r.Measurement != nil {
			if r.Units == "seconds" && r.Suite == LavaSuite {
				c.Time = strconv.FormatFloat(*r.Measurement, 'f', -1, 64)
			} else {
				c.SystemOut = strings.TrimSpace(strconv.FormatFloat(*r.Measurement, 'f', -1, 64) + " " + r.Units)
			}
		}
		s.Tests++
		switch r.Result {
		case "fail":
			s.Failures++
			c.Failure = &junitMessage{Message: "failed", Type: "failure"}
		case "skip":
			s.Skipped++
			c.Skipped = &junitMessage{Message: "skipped", Type: "skipped"}
		case "unknown":
			s.Errors++
			c.Error = &junitMessage{Message: "unknown", Type: "error"}
		}
		s.Cases = append(s.Cases, c)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write results junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write results junit: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("write results junit: %w", err)
	}
	return nil
}

// WriteTAP13 writes the rows as TAP version 13: one test point per case
// named `<suite> <case>`, skip as `# SKIP`, unknown as `not ok … # TODO
// unknown`, with a YAML diagnostic block for measurements and references.
func WriteTAP13(w io.Writer, rows []Row) error {
	var b strings.Builder
	b.WriteString("TAP version 13\n")
	fmt.Fprintf(&b, "1..%d\n", len(rows))
	suite := "\x00"
	for i, r := range rows {
		if r.Suite != suite {
			suite = r.Suite
			fmt.Fprintf(&b, "# suite %s\n", tapText(suite))
		}
		status, directive := "ok", ""
		switch r.Result {
		case "fail":
			status = "not ok"
		case "skip":
			directive = " # SKIP"
		case "unknown":
			status, directive = "not ok", " # TODO unknown"
		}
		fmt.Fprintf(&b, "%s %d - %s %s%s\n", status, i+1, tapText(r.Suite), tapText(r.Name), directive)
		if r.Measurement != nil || r.Reference != "" {
			b.WriteString("  ---\n")
			if r.Measurement != nil {
				fmt.Fprintf(&b, "  measurement: %s\n", strconv.FormatFloat(*r.Measurement, 'f', -1, 64))
				if r.Units != "" {
					fmt.Fprintf(&b, "  units: %s\n", yamlScalar(r.Units))
				}
			}
			if r.Reference != "" {
				fmt.Fprintf(&b, "  reference: %s\n", yamlScalar(r.Reference))
			}
			b.WriteString("  ...\n")
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write results tap13: %w", err)
	}
	return nil
}

// tapText keeps a description on one line and free of the directive mark.
func tapText(s string) string {
	return strings.NewReplacer("\n", " ", "\r", " ", "#", `\#`).Replace(s)
}

// yamlScalar quotes s as a YAML double-quoted scalar (one line).
func yamlScalar(s string) string { return strconv.Quote(s) }
