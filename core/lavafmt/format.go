package lavafmt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/results"
)

// WriteOutputYAML writes records as lines of LAVA's output.yaml:
//
//   - {"dt": "2023-01-02T03:04:05.123456", "lvl": "info", "msg": "text"}
//
// (plus "ns" for feedback records). Every string is a YAML double-quoted
// scalar with anything PyYAML's reader refuses escaped, so lavacli's
// yaml.load reads each line back; a structured message (results, events)
// is a flow mapping.
func WriteOutputYAML(w io.Writer, recs []model.LogRecord) error {
	var b bytes.Buffer
	for _, r := range recs {
		b.WriteString(`- {"dt": `)
		quote(&b, r.Time.UTC().Format("2006-01-02T15:04:05.000000"))
		b.WriteString(`, "lvl": `)
		quote(&b, r.Level)
		b.WriteString(`, "msg": `)
		if r.Structured {
			if err := flowJSON(&b, []byte(r.Message)); err != nil {
				// Not JSON after all: keep the text.
				quote(&b, r.Message)
			}
		} else {
			quote(&b, r.Message)
		}
		if r.NS != "" {
			b.WriteString(`, "ns": `)
			quote(&b, r.NS)
		}
		b.WriteString("}\n")
	}
	_, err := w.Write(b.Bytes())
	return err
}

// quote writes s as a YAML double-quoted scalar, escaping what PyYAML's
// reader refuses (C0/C1 controls but tab, DEL, surrogates, U+FFFE/FFFF) and
// line breaks, so a record stays on one line.
func quote(b *bytes.Buffer, s string) {
	b.WriteByte('"')
	for i, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == 0xFFFD && s[i] != 0xEF:
			// Invalid UTF-8 byte: keep it visible.
			fmt.Fprintf(b, `\x%02x`, s[i])
		case r < 0x20 || (r >= 0x7F && r <= 0x9F) || r == 0x85:
			fmt.Fprintf(b, `\x%02x`, r)
		case r == 0x2028 || r == 0x2029 || r == 0xFEFF || r == 0xFFFE || r == 0xFFFF:
			fmt.Fprintf(b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

// flowJSON writes a JSON value as a YAML flow value.
func flowJSON(b *bytes.Buffer, raw []byte) error {
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return fmt.Errorf("structured message: %w", err)
	}
	var tmp bytes.Buffer
	flow(&tmp, v)
	b.Write(tmp.Bytes())
	return nil
}

func flow(b *bytes.Buffer, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case json.Number:
		b.WriteString(v.String())
	case string:
		quote(b, v)
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			flow(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(", ")
			}
			quote(b, k)
			b.WriteString(": ")
			flow(b, v[k])
		}
		b.WriteByte('}')
	}
}

// Rows converts a job's stored cases into the rows core/results exports.
func Rows(jobID int64, cases []model.TestCase) []results.Row {
	out := make([]results.Row, 0, len(cases))
	job := strconv.FormatInt(jobID, 10)
	for _, c := range cases {
		var meta map[string]any
		if len(c.Metadata) > 0 {
			_ = json.Unmarshal(c.Metadata, &meta)
		}
		level, _ := meta["level"].(string)
		ref, _ := meta["reference"].(string)
		out = append(out, results.Row{
			Case: results.Case{
				Suite: c.Suite, Name: c.Name, Result: c.Result.String(),
				Measurement: c.Measurement, Units: c.Units, Set: c.Set, Reference: ref,
				Level: level, LogStart: c.LogStart, LogEnd: c.LogEnd, Metadata: meta,
			},
			ID: c.ID, Job: job, Logged: c.Logged,
		})
	}
	return out
}

// Visibility is LAVA's display of a job's visibility: "Public",
// "Personal" or "Group (a, b)".
func Visibility(j model.Job) string {
	switch j.Visibility {
	case model.VisibilityPersonal:
		return "Personal"
	case model.VisibilityGroup:
		return "Group (" + strings.Join(j.ViewingGroups, ", ") + ")"
	}
	return "Public"
}

// DisplayID is LAVA's job display id: the sub id of a multinode sub-job
// ("12.1"), else the id.
func DisplayID(j model.Job) any {
	if j.SubID != "" {
		return j.SubID
	}
	return j.ID
}
