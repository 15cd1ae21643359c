package lavatemplate

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
)

// MaxSize bounds one template's text.
const MaxSize = 1 << 20

// Bases are the LAVA base templates this project has (or plans) a
// boot-method driver for, by the driver's name.
var bases = map[string]string{
	"base-uboot":       "uboot",
	"base-barebox":     "barebox",
	"base-depthcharge": "depthcharge",
	"base-fastboot":    "fastboot",
	"base-grub":        "grub",
}

// DriverForBase names the driver of a base template ("base-uboot" →
// "uboot"); "" when the base is unknown.
func DriverForBase(base string) string { return bases[strings.TrimSuffix(base, ".jinja2")] }

// ignoredBlocks are blocks a template may override whose content the
// boot-method drivers do not read (timeouts are the job's and the
// dispatcher's), ignored with a note.
var ignoredBlocks = map[string]bool{"timeouts": true, "character_delays": true}

// Source is one template's name (without .jinja2) and text.
type Source struct {
	Name string `json:"name"`
	Text string `json:"text"`
}

// Type is an imported device type: its name, its base, the driver of its
// base, and the chain of templates from its own to the last before the
// base.
type Type struct {
	Name   string   `json:"name"`
	Base   string   `json:"base"`
	Driver string   `json:"driver"`
	Chain  []Source `json:"chain"`
	// Notes say what the import ignored.
	Notes []string `json:"notes,omitempty"`

	prog [][]stmt
}

// stmt is one top-level statement.
type stmt interface{}

type setStmt struct {
	name string
	x    expr
	line int
}

type ifStmt struct {
	conds  []expr // one per branch; nil = else
	bodies [][]stmt
	line   int
}

// parsed is one parsed template.
type parsed struct {
	extends string
	stmts   []stmt
	blocks  []string
}

// parse reads a template's top-level statements.
func parse(name, text string) (*parsed, error) {
	if len(text) > MaxSize {
		return nil, fmt.Errorf("%s: %d bytes, more than the %d allowed", name, len(text), MaxSize)
	}
	tags, err := scanTags(text)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &parsed{}
	pos := 0
	body, err := p.block(tags, &pos, name, nil)
	if err != nil {
		return nil, err
	}
	p.stmts = body
	return p, nil
}

type tag struct {
	body string
	line int
}

// scanTags returns the {% %} statements of text, skipping comments,
// expressions and text.
func scanTags(text string) ([]tag, error) {
	var out []tag
	i := 0
	for {
		j := strings.Index(text[i:], "{")
		if j < 0 {
			return out, nil
		}
		i += j
		if i+1 >= len(text) {
			return out, nil
		}
		line := strings.Count(text[:i], "\n") + 1
		switch text[i+1] {
		case '#':
			k := strings.Index(text[i+2:], "#}")
			if k < 0 {
				return nil, fmt.Errorf("line %d: comment not closed", line)
			}
			i += 2 + k + 2
		case '{':
			k := closing(text[i+2:], "}}")
			if k < 0 {
				return nil, fmt.Errorf("line %d: {{ not closed", line)
			}
			i += 2 + k + 2
		case '%':
			k := closing(text[i+2:], "%}")
			if k < 0 {
				return nil, fmt.Errorf("line %d: {%% not closed", line)
			}
			body := text[i+2 : i+2+k]
			body = strings.TrimPrefix(strings.TrimPrefix(body, "-"), "+")
			body = strings.TrimSuffix(strings.TrimSuffix(body, "-"), "+")
			out = append(out, tag{body: strings.TrimSpace(body), line: line})
			i += 2 + k + 2
		default:
			i++
		}
	}
}

// closing finds end in s outside quoted strings.
func closing(s, end string) int {
	var q byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case q != 0:
			if c == '\\' {
				i++
			} else if c == q {
				q = 0
			}
		case c == '\'' || c == '"':
			q = c
		case strings.HasPrefix(s[i:], end):
			return i
		}
	}
	return -1
}

func keyword(body string) (string, string) {
	kw, rest, _ := strings.Cut(body, " ")
	if i := strings.IndexAny(kw, "\t\n\r"); i >= 0 {
		kw, rest = kw[:i], kw[i:]+" "+rest
	}
	return kw, strings.TrimSpace(rest)
}

// stmts reads statements until one of the enders (returned at *pos).
func (p *parsed) block(tags []tag, pos *int, name string, enders []string) ([]stmt, error) {
	var out []stmt
	for *pos < len(tags) {
		t := tags[*pos]
		kw, rest := keyword(t.body)
		if slices.Contains(enders, kw) {
			return out, nil
		}
		*pos++
		at := func(err error) error { return fmt.Errorf("%s line %d: %w", name, t.line, err) }
		switch kw {
		case "extends":
			e, err := parseExpr(rest)
			if err != nil {
				return nil, at(err)
			}
			l, ok := e.(litExpr)
			s, isStr := l.v.(string)
			if !ok || !isStr {
				return nil, at(errors.New("extends: want a quoted template name"))
			}
			if p.extends != "" {
				return nil, at(errors.New("a second extends"))
			}
			p.extends = strings.TrimSuffix(s, ".jinja2")
		case "set":
			lhs, rhs, ok := strings.Cut(rest, "=")
			lhs = strings.TrimSpace(lhs)
			if !ok || !isIdent(lhs) {
				return nil, at(fmt.Errorf("set %s: only `set NAME = EXPRESSION` is supported", rest))
			}
			e, err := parseExpr(rhs)
			if err != nil {
				return nil, at(fmt.Errorf("set %s: %w", lhs, err))
			}
			out = append(out, setStmt{name: lhs, x: e, line: t.line})
		case "if":
			st := ifStmt{line: t.line}
			cond := rest
			for {
				e, err := parseExpr(cond)
				if err != nil {
					return nil, at(fmt.Errorf("if %s: %w", cond, err))
				}
				body, err := p.block(tags, pos, name, []string{"elif", "else", "endif"})
				if err != nil {
					return nil, err
				}
				st.conds, st.bodies = append(st.conds, e), append(st.bodies, body)
				if *pos >= len(tags) {
					return nil, at(errors.New("if without endif"))
				}
				k, r := keyword(tags[*pos].body)
				*pos++
				if k == "endif" {
					break
				}
				if k == "else" {
					body, err := p.block(tags, pos, name, []string{"endif"})
					if err != nil {
						return nil, err
					}
					if *pos >= len(tags) {
						return nil, at(errors.New("if without endif"))
					}
					*pos++
					st.conds, st.bodies = append(st.conds, nil), append(st.bodies, body)
					break
				}
				cond = r
			}
			out = append(out, st)
		case "block":
			bname, _ := keyword(rest)
			p.blocks = append(p.blocks, bname)
			depth := 1
			for depth > 0 {
				if *pos >= len(tags) {
					return nil, at(fmt.Errorf("block %s without endblock", bname))
				}
				k, _ := keyword(tags[*pos].body)
				*pos++
				switch k {
				case "block":
					depth++
				case "endblock":
					depth--
				}
			}
		default:
			return nil, at(fmt.Errorf("statement %q is not supported at a template's top level", kw))
		}
	}
	if len(enders) > 0 {
		return nil, fmt.Errorf("%s: %s missing at the end", name, enders[len(enders)-1])
	}
	return out, nil
}

func isIdent(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// Import builds a device type from a template and its ancestors: find
// returns a template's text by name (without .jinja2) and whether it
// exists. The chain is followed until a base with a driver; a template
// that extends nothing else, a missing parent, a loop or a construct not
// supported refuses the import with the reason.
func Import(name string, find func(string) (string, bool)) (*Type, error) {
	name = strings.TrimSuffix(name, ".jinja2")
	if DriverForBase(name) != "" {
		return nil, fmt.Errorf("%s is a base template: import the templates that extend it", name)
	}
	t := &Type{Name: name}
	seen := map[string]bool{}
	var blocks [][2]string // template, block
	cur := name
	for {
		if seen[cur] {
			return nil, fmt.Errorf("extends loop at %s", cur)
		}
		seen[cur] = true
		text, ok := find(cur)
		if !ok {
			if len(t.Chain) == 0 {
				return nil, fmt.Errorf("%s.jinja2 not found", cur)
			}
			return nil, fmt.Errorf("unknown base: %s.jinja2 extends %s.jinja2, which is not among the templates given", t.Chain[len(t.Chain)-1].Name, cur)
		}
		p, err := parse(cur+".jinja2", text)
		if err != nil {
			return nil, fmt.Errorf("construct not supported: %w", err)
		}
		for _, b := range p.blocks {
			blocks = append(blocks, [2]string{cur, b})
		}
		t.Chain = append(t.Chain, Source{Name: cur, Text: text})
		t.prog = append(t.prog, p.stmts)
		if p.extends == "" {
			return nil, fmt.Errorf("unknown base: %s.jinja2 extends no base this project has a driver for (%s)", cur, strings.Join(slices.Sorted(maps.Keys(bases)), ", "))
		}
		if d := DriverForBase(p.extends); d != "" {
			t.Base, t.Driver = p.extends, d
			break
		}
		if p.extends == "base" {
			return nil, fmt.Errorf("unknown base: %s.jinja2 extends base.jinja2 directly (no boot-method driver for it)", cur)
		}
		cur = p.extends
	}
	for _, b := range blocks {
		switch {
		case ignoredBlocks[b[1]]:
			t.Notes = append(t.Notes, fmt.Sprintf("%s.jinja2: block %s ignored", b[0], b[1]))
		case t.Driver == "uboot":
			return nil, fmt.Errorf("construct not supported: %s.jinja2 overrides block %s of %s.jinja2, which the uboot driver produces itself", b[0], b[1], t.Base)
		default:
			t.Notes = append(t.Notes, fmt.Sprintf("%s.jinja2 overrides block %s: kept for the %s driver", b[0], b[1], t.Driver))
		}
	}
	// The type must evaluate without a dictionary.
	if _, err := t.Evaluate(nil); err != nil {
		return nil, fmt.Errorf("construct not supported: %w", err)
	}
	return t, nil
}

// Marshal is the type as stored (model.DeviceType.Template).
func (t *Type) Marshal() (string, error) {
	b, err := json.Marshal(t)
	if err != nil {
		return "", fmt.Errorf("device type %s: %w", t.Name, err)
	}
	return string(b), nil
}

// Unmarshal reads a stored type and parses its chain again.
func Unmarshal(s string) (*Type, error) {
	var t Type
	if err := json.Unmarshal([]byte(s), &t); err != nil {
		return nil, fmt.Errorf("stored device-type template: %w", err)
	}
	for _, src := range t.Chain {
		p, err := parse(src.Name+".jinja2", src.Text)
		if err != nil {
			return nil, fmt.Errorf("stored device-type template: %w", err)
		}
		t.prog = append(t.prog, p.stmts)
	}
	return &t, nil
}

// Evaluate runs the chain's top-level statements over vars (a device
// dictionary's values, which come first, as LAVA's dictionary extends the
// type) and returns every variable defined afterwards: vars as the
// templates left them plus every variable they set. vars is not changed.
func (t *Type) Evaluate(vars map[string]any) (map[string]any, error) {
	ctx := make(map[string]any, len(vars)+32)
	for k, v := range vars {
		ctx[k] = fromJSON(v)
	}
	for i, prog := range t.prog {
		if err := run(prog, ctx); err != nil {
			return nil, fmt.Errorf("%s.jinja2 %w", t.Chain[i].Name, err)
		}
	}
	for k, v := range ctx {
		if _, ok := v.(undefined); ok {
			delete(ctx, k)
		} else {
			ctx[k] = clean(v)
		}
	}
	return ctx, nil
}

func run(prog []stmt, ctx map[string]any) error {
	for _, s := range prog {
		switch s := s.(type) {
		case setStmt:
			v, err := s.x.eval(ctx)
			if err != nil {
				return fmt.Errorf("line %d: set %s: %w", s.line, s.name, err)
			}
			ctx[s.name] = v
		case ifStmt:
			for i, c := range s.conds {
				if c != nil {
					v, err := c.eval(ctx)
					if err != nil {
						return fmt.Errorf("line %d: if: %w", s.line, err)
					}
					if !truthy(v) {
						continue
					}
				}
				if err := run(s.bodies[i], ctx); err != nil {
					return err
				}
				break
			}
		}
	}
	return nil
}

// fromJSON turns JSON's numbers back into integers where they are whole,
// as the dictionary wrote them (115200, not 115200.0).
func fromJSON(v any) any {
	switch t := v.(type) {
	case float64:
		if t == math.Trunc(t) && math.Abs(t) < 1<<53 {
			return int64(t)
		}
	case int:
		return int64(t)
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = fromJSON(x)
		}
		return out
	case []string:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = x
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = fromJSON(x)
		}
		return out
	}
	return v
}

// clean replaces undefined values inside lists and dicts with nil (Jinja2
// prints them empty).
func clean(v any) any {
	switch t := v.(type) {
	case undefined:
		return nil
	case []any:
		for i, x := range t {
			t[i] = clean(x)
		}
	case map[string]any:
		for k, x := range t {
			t[k] = clean(x)
		}
	}
	return v
}
