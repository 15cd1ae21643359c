package devdict

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// jinja reads LAVA's jinja2 dictionary form: only extends, set and comments.
type jinja struct {
	src  string
	pos  int
	dict *Dictionary
}

func parseJinja(src string) (*Dictionary, error) {
	p := &jinja{src: src, dict: &Dictionary{Values: map[string]any{}, Format: FormatJinja2}}
	for {
		p.skipSpace()
		if p.pos >= len(p.src) {
			break
		}
		rest := p.src[p.pos:]
		switch {
		case strings.HasPrefix(rest, "{#"):
			end := strings.Index(rest, "#}")
			if end < 0 {
				return nil, fmt.Errorf("line %d: comment {# is not closed", p.line(p.pos))
			}
			p.pos += end + 2
		case strings.HasPrefix(rest, "{{"):
			return nil, fmt.Errorf("line %d: {{ ... }} expressions are not allowed in a device dictionary (only extends and set)", p.line(p.pos))
		case strings.HasPrefix(rest, "{%"):
			if err := p.tag(); err != nil {
				return nil, err
			}
		default:
			r, _ := utf8.DecodeRuneInString(rest)
			return nil, fmt.Errorf("line %d: text %q outside a {%% %%} tag is not allowed in a device dictionary", p.line(p.pos), firstLine(rest, r))
		}
	}
	if p.dict.Extends == "" {
		return nil, fmt.Errorf("no {%% extends '<device-type>.jinja2' %%}")
	}
	return p.dict, nil
}

func firstLine(s string, _ rune) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return s
}

func (p *jinja) skipSpace() {
	for p.pos < len(p.src) && strings.IndexByte(" \t\r\n", p.src[p.pos]) >= 0 {
		p.pos++
	}
}

func (p *jinja) line(pos int) int { return strings.Count(p.src[:min(pos, len(p.src))], "\n") + 1 }

// tag reads one {% ... %} tag; the closing %} is searched outside quotes.
func (p *jinja) tag() error {
	start := p.pos
	i := start + 2
	var quote byte
	for ; i < len(p.src); i++ {
		c := p.src[i]
		switch {
		case quote != 0 && c == '\\':
			i++
		case quote != 0 && c == quote:
			quote = 0
		case quote == 0 && (c == '\'' || c == '"'):
			quote = c
		case quote == 0 && c == '%' && i+1 < len(p.src) && p.src[i+1] == '}':
			body := p.src[start+2 : i]
			bodyStart := start + 2
			p.pos = i + 2
			if strings.HasPrefix(body, "-") || strings.HasPrefix(body, "+") {
				body, bodyStart = body[1:], bodyStart+1
			}
			body = strings.TrimSuffix(strings.TrimSuffix(body, "-"), "+")
			return p.statement(body, bodyStart)
		}
	}
	return fmt.Errorf("line %d: {%% is not closed by %%}", p.line(start))
}

func (p *jinja) statement(body string, at int) error {
	lead := len(body) - len(strings.TrimLeft(body, " \t\r\n"))
	body, at = body[lead:], at+lead
	word := body
	if i := strings.IndexAny(body, " \t\r\n"); i >= 0 {
		word = body[:i]
	}
	arg := body[len(word):]
	argAt := at + len(word)
	line := p.line(at)
	switch word {
	case "extends":
		if p.dict.Extends != "" {
			return fmt.Errorf("line %d: a second extends", line)
		}
		v, err := p.literal(arg, argAt)
		if err != nil {
			return err
		}
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("line %d: extends takes a quoted template name", line)
		}
		name, err := checkExtends(s)
		if err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		p.dict.Extends = name
		return nil
	case "set":
		name, expr, ok := strings.Cut(arg, "=")
		name = strings.TrimSpace(name)
		if !ok || !isIdent(name) {
			return fmt.Errorf("line %d: want {%% set name = value %%} (block sets and multiple targets are not allowed)", line)
		}
		v, err := p.literal(expr, argAt+strings.Index(arg, "=")+1)
		if err != nil {
			return err
		}
		if _, undef := v.(undefined); undef {
			p.dict.Warnings = append(p.dict.Warnings, fmt.Sprintf("line %d: %s is set to the undefined name %s: treated as unset", line, name, v.(undefined).name))
			delete(p.dict.Values, name)
			return nil
		}
		p.dict.Values[name] = v
		return nil
	case "":
		return fmt.Errorf("line %d: empty {%% %%} tag", line)
	}
	return fmt.Errorf("line %d: {%% %s %%} is not allowed in a device dictionary: only extends and set with literal values", line, word)
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func isIdentByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// undefined is a bare name that no earlier set defines: jinja2's Undefined.
type undefined struct{ name string }

// literal parses a whole Python literal expression.
func (p *jinja) literal(s string, at int) (any, error) {
	l := &lit{s: s, at: at, p: p}
	l.space()
	if l.i >= len(l.s) {
		return nil, l.errf("a value is missing")
	}
	v, err := l.value(0)
	if err != nil {
		return nil, err
	}
	l.space()
	if l.i < len(l.s) {
		c := l.s[l.i]
		what := fmt.Sprintf("%q", c)
		switch c {
		case '|':
			what = "filter |"
		case '+', '-', '*', '/', '%', '~':
			what = "operator " + string(c)
		}
		return nil, l.errf("%s after the value: only literal values are allowed (no filters, operators or expressions)", what)
	}
	return v, nil
}

type lit struct {
	s  string
	i  int
	at int
	p  *jinja
}

const maxDepth = 64

func (l *lit) errf(format string, args ...any) error {
	return fmt.Errorf("line %d: %s", l.p.line(l.at+l.i), fmt.Sprintf(format, args...))
}

func (l *lit) space() {
	for l.i < len(l.s) && strings.IndexByte(" \t\r\n", l.s[l.i]) >= 0 {
		l.i++
	}
}

func (l *lit) value(depth int) (any, error) {
	if depth > maxDepth {
		return nil, l.errf("values nested more than %d deep", maxDepth)
	}
	l.space()
	if l.i >= len(l.s) {
		return nil, l.errf("a value is missing")
	}
	c := l.s[l.i]
	switch {
	case c == '\'' || c == '"':
		s, err := l.str()
		if err != nil {
			return nil, err
		}
		for { // adjacent strings concatenate, as in Python
			save := l.i
			l.space()
			if l.i < len(l.s) && (l.s[l.i] == '\'' || l.s[l.i] == '"') {
				more, err := l.str()
				if err != nil {
					return nil, err
				}
				s += more
				continue
			}
			l.i = save
			return s, nil
		}
	case c == '[':
		l.i++
		items, err := l.seq(']', depth)
		return items, err
	case c == '(':
		l.i++
		start := l.i
		items, err := l.seq(')', depth)
		if err != nil {
			return nil, err
		}
		// (x) is grouping; (x,) and (x, y) are tuples, read as lists.
		inner := strings.TrimSpace(l.s[start : l.i-1])
		if len(items) == 1 && !strings.HasSuffix(inner, ",") {
			return items[0], nil
		}
		return items, nil
	case c == '{':
		l.i++
		return l.dict(depth)
	case c == '-' || c == '+' || c == '.' || c >= '0' && c <= '9':
		return l.number()
	case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
		start := l.i
		for l.i < len(l.s) && isIdentByte(l.s[l.i]) {
			l.i++
		}
		name := l.s[start:l.i]
		switch name {
		case "True", "true":
			return true, nil
		case "False", "false":
			return false, nil
		case "None", "none":
			return nil, nil
		}
		l.space()
		if l.i < len(l.s) && (l.s[l.i] == '(' || l.s[l.i] == '.' || l.s[l.i] == '[') {
			return nil, l.errf("%s%c...: calls, attributes and indexing are not allowed", name, l.s[l.i])
		}
		if v, ok := l.p.dict.Values[name]; ok {
			return v, nil // a name set earlier in the dictionary
		}
		if depth > 0 {
			return nil, l.errf("name %s inside a list or dict is not set earlier in the dictionary: only literal values are allowed", name)
		}
		return undefined{name}, nil
	}
	return nil, l.errf("unexpected %q: want a quoted string, a number, True, False, None, a list or a dict", c)
}

func (l *lit) seq(closer byte, depth int) ([]any, error) {
	items := []any{}
	for {
		l.space()
		if l.i >= len(l.s) {
			return nil, l.errf("%c is not closed", map[byte]byte{']': '[', ')': '('}[closer])
		}
		if l.s[l.i] == closer {
			l.i++
			return items, nil
		}
		v, err := l.value(depth + 1)
		if err != nil {
			return nil, err
		}
		items = append(items, v)
		l.space()
		if l.i < len(l.s) && l.s[l.i] == ',' {
			l.i++
			continue
		}
		if l.i < len(l.s) && l.s[l.i] == closer {
			continue
		}
		if l.i >= len(l.s) {
			continue
		}
		return nil, l.errf("unexpected %q in a list: want , or %c", l.s[l.i], closer)
	}
}

func (l *lit) dict(depth int) (map[string]any, error) {
	out := map[string]any{}
	for {
		l.space()
		if l.i >= len(l.s) {
			return nil, l.errf("{ is not closed")
		}
		if l.s[l.i] == '}' {
			l.i++
			return out, nil
		}
		k, err := l.value(depth + 1)
		if err != nil {
			return nil, err
		}
		var key string
		switch t := k.(type) {
		case string:
			key = t
		case int, float64, bool:
			key = fmt.Sprint(t)
		default:
			return nil, l.errf("a dict key must be a string or a number")
		}
		l.space()
		if l.i >= len(l.s) || l.s[l.i] != ':' {
			return nil, l.errf("want : after the dict key %q", key)
		}
		l.i++
		v, err := l.value(depth + 1)
		if err != nil {
			return nil, err
		}
		out[key] = v
		l.space()
		if l.i < len(l.s) && l.s[l.i] == ',' {
			l.i++
			continue
		}
		if l.i < len(l.s) && l.s[l.i] != '}' {
			return nil, l.errf("unexpected %q in a dict: want , or }", l.s[l.i])
		}
	}
}

func (l *lit) number() (any, error) {
	start := l.i
	if l.s[l.i] == '-' || l.s[l.i] == '+' {
		l.i++
	}
	for l.i < len(l.s) && strings.IndexByte("0123456789abcdefABCDEFxXoO._", l.s[l.i]) >= 0 {
		if (l.s[l.i] == 'e' || l.s[l.i] == 'E') && l.i+1 < len(l.s) && (l.s[l.i+1] == '-' || l.s[l.i+1] == '+') && !strings.ContainsAny(l.s[start:l.i], "xX") {
			l.i += 2
			continue
		}
		l.i++
	}
	text := l.s[start:l.i]
	clean := strings.ReplaceAll(text, "_", "")
	switch {
	case isPrefixed(clean):
		if n, err := strconv.ParseInt(clean, 0, 64); err == nil {
			return int(n), nil
		}
	case decimal.MatchString(clean):
		if n, err := strconv.ParseInt(clean, 10, 64); err == nil {
			return int(n), nil
		}
	case floatLit.MatchString(clean):
		if f, err := strconv.ParseFloat(clean, 64); err == nil {
			return f, nil
		}
	}
	return nil, l.errf("%q is not a number", text)
}

var (
	decimal  = regexp.MustCompile(`^[+-]?(0|[1-9][0-9]*)$`)
	floatLit = regexp.MustCompile(`^[+-]?(([0-9]+\.[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+)$`)
)

func isPrefixed(s string) bool {
	s = strings.TrimLeft(s, "+-")
	return len(s) > 1 && s[0] == '0' && strings.IndexByte("xXoObB", s[1]) >= 0
}

// str reads one quoted string with Python's escapes.
func (l *lit) str() (string, error) {
	q := l.s[l.i]
	l.i++
	var b strings.Builder
	for l.i < len(l.s) {
		c := l.s[l.i]
		switch {
		case c == q:
			l.i++
			return b.String(), nil
		case c == '\n':
			return "", l.errf("string not closed on its line")
		case c == '\\' && l.i+1 < len(l.s):
			e := l.s[l.i+1]
			l.i += 2
			switch e {
			case '\\', '\'', '"':
				b.WriteByte(e)
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '0':
				b.WriteByte(0)
			case '\n':
			case 'x', 'u', 'U':
				n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
				if l.i+n > len(l.s) {
					return "", l.errf("short \\%c escape", e)
				}
				r, err := strconv.ParseUint(l.s[l.i:l.i+n], 16, 32)
				if err != nil || r > utf8.MaxRune {
					return "", l.errf("bad \\%c escape", e)
				}
				b.WriteRune(rune(r))
				l.i += n
			default:
				b.WriteByte('\\')
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
			l.i++
		}
	}
	return "", l.errf("string not closed")
}
