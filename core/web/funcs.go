package web

import (
	"fmt"
	"html/template"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/lavalab/lavalab/core/model"
)

var funcs = template.FuncMap{
	"ts":       formatTime,
	"ago":      ago,
	"lower":    strings.ToLower,
	"add":      func(a, b int) int { return a + b },
	"yaml":     highlightYAML,
	"short":    func(s string) string { return shortSHA(s) },
	"join":     strings.Join,
	"stateCls": stateClass,
	"query":    query,
	"showAny":  showAny,
	"measure":  measurement,
	"bytes":    humanBytes,
}

// humanBytes shows a size in binary units ("1.5 GiB"); a negative size is
// unknown ("?").
func humanBytes(n int64) string {
	if n < 0 {
		return "?"
	}
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

// measurement shows a test case's measurement as LAVA's pages do: the
// decimal number in full (81245312, 0.125), never in exponent notation.
func measurement(m *float64) string {
	if m == nil {
		return ""
	}
	return strconv.FormatFloat(*m, 'f', -1, 64)
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func ago(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := time.Since(t)
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return fmt.Sprintf("%dd ago", int(d.Hours()/24))
}

func shortSHA(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

func showAny(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// stateClass is the CSS class of a state or health name.
func stateClass(v fmt.Stringer) string { return "st-" + strings.ToLower(v.String()) }

// query returns "?k=v&..." of base with the pairs set (empty values
// removed), for paging and filter links.
func query(base url.Values, kv ...any) template.URL {
	q := url.Values{}
	for k, vs := range base {
		q[k] = append([]string(nil), vs...)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		k := fmt.Sprint(kv[i])
		v := fmt.Sprint(kv[i+1])
		if v == "" || v == "0" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
	}
	if len(q) == 0 {
		return "?"
	}
	return template.URL("?" + q.Encode())
}

var (
	yamlKey     = regexp.MustCompile(`^(\s*(?:- )?)([^\s#'"][^:#]*?|"[^"]*"|'[^']*')(:)(\s|$)`)
	yamlComment = regexp.MustCompile(`(^|\s)#.*$`)
)

// highlightYAML renders YAML text with keys, comments and list dashes
// marked for the style sheet, one <span class=ln> per line. It only
// colours: text is escaped and kept verbatim.
func highlightYAML(text string) template.HTML {
	var b strings.Builder
	for line := range strings.SplitSeq(strings.TrimRight(text, "\n"), "\n") {
		b.WriteString(`<span class="ln">`)
		rest := line
		comment := ""
		if loc := yamlComment.FindStringIndex(rest); loc != nil && !strings.ContainsAny(rest[:loc[0]], `"'`) {
			rest, comment = line[:loc[0]], line[loc[0]:]
		}
		if m := yamlKey.FindStringSubmatchIndex(rest); m != nil {
			b.WriteString(template.HTMLEscapeString(rest[m[2]:m[3]]))
			b.WriteString(`<span class="yk">` + template.HTMLEscapeString(rest[m[4]:m[5]]) + `</span>:`)
			b.WriteString(`<span class="yv">` + template.HTMLEscapeString(rest[m[7]:]) + `</span>`)
		} else {
			b.WriteString(`<span class="yv">` + template.HTMLEscapeString(rest) + `</span>`)
		}
		if comment != "" {
			b.WriteString(`<span class="yc">` + template.HTMLEscapeString(comment) + `</span>`)
		}
		b.WriteString("</span>\n")
	}
	return template.HTML(b.String()) //nolint:gosec // every piece of text above is escaped
}

// logLine is one record as the job page shows it.
type logLine struct {
	Index   int64
	Time    string
	Level   string
	Message string
	// Open starts a collapsible top-level action, Close ends one.
	Open, Close bool
	FirstErr    bool
}

var actionRe = regexp.MustCompile(`^(start|end): (\d+) `)

// actionMark says whether a message starts or ends a top-level action
// (LAVA's "start: 1 tftp-deploy (timeout ...)" and "end: 1 tftp-deploy
// (duration ...)"; nested actions have dotted levels and do not fold).
func actionMark(msg string) (open, close bool) {
	m := actionRe.FindStringSubmatch(msg)
	if m == nil {
		return false, false
	}
	return m[1] == "start", m[1] == "end"
}

func isError(level string) bool {
	return level == model.LevelError || level == model.LevelException
}

// logLines renders records, closing a top-level action left open.
func logLines(recs []model.LogRecord, errSeen bool) []logLine {
	out := make([]logLine, 0, len(recs))
	for _, r := range recs {
		l := logLine{Index: r.Index, Time: r.Time.UTC().Format("15:04:05.000"), Level: r.Level, Message: r.Message}
		l.Open, l.Close = actionMark(r.Message)
		if !errSeen && isError(r.Level) {
			l.FirstErr, errSeen = true, true
		}
		out = append(out, l)
	}
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// logBlock is a run of lines: a top-level action (Head is its start line)
// or lines outside any action (Head nil).
type logBlock struct {
	Head  *logLine
	Lines []logLine
}

func logBlocks(lines []logLine) []logBlock {
	var out []logBlock
	cur := -1 // index in out of the open action, -1 = none
	for i := range lines {
		l := lines[i]
		switch {
		case l.Open:
			out = append(out, logBlock{Head: &lines[i]})
			cur = len(out) - 1
		case cur >= 0:
			out[cur].Lines = append(out[cur].Lines, l)
			if l.Close {
				cur = -1
			}
		default:
			if len(out) == 0 || out[len(out)-1].Head != nil {
				out = append(out, logBlock{})
			}
			out[len(out)-1].Lines = append(out[len(out)-1].Lines, l)
		}
	}
	return out
}
