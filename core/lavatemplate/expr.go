package lavatemplate

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// undefined is Jinja2's Undefined: a name nothing set.
type undefined struct{ name string }

// expr is a parsed expression.
type expr interface {
	eval(vars map[string]any) (any, error)
}

type (
	litExpr  struct{ v any }
	nameExpr struct{ name string }
	listExpr struct{ items []expr }
	dictExpr struct{ keys, vals []expr }
	binExpr  struct {
		op   string
		l, r expr
	}
	notExpr  struct{ x expr }
	negExpr  struct{ x expr }
	condExpr struct{ cond, yes, no expr }
	testExpr struct {
		x    expr
		test string
		neg  bool
	}
	filterExpr struct {
		x    expr
		name string
		args []expr
	}
)

// ---- tokens ----

type token struct {
	kind string // "name", "str", "num", "op", "eof"
	text string
	val  any
}

func tokenize(s string) ([]token, error) {
	var out []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'' || c == '"':
			str, n, err := readString(s[i:])
			if err != nil {
				return nil, err
			}
			out = append(out, token{kind: "str", val: str})
			i += n
		case c >= '0' && c <= '9':
			j := i
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.' || s[j] == '_' || s[j] == 'x' || s[j] == 'X' ||
				(s[j] >= 'a' && s[j] <= 'f') || (s[j] >= 'A' && s[j] <= 'F')) {
				j++
			}
			txt := strings.ReplaceAll(s[i:j], "_", "")
			if n, err := strconv.ParseInt(txt, 0, 64); err == nil {
				out = append(out, token{kind: "num", val: n})
			} else if f, err := strconv.ParseFloat(txt, 64); err == nil {
				out = append(out, token{kind: "num", val: f})
			} else {
				return nil, fmt.Errorf("bad number %q", s[i:j])
			}
			i = j
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			j := i
			for j < len(s) && (s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
				j++
			}
			out = append(out, token{kind: "name", text: s[i:j]})
			i = j
		default:
			op := ""
			for _, o := range []string{"//", "==", "!=", "<=", ">=", "**"} {
				if strings.HasPrefix(s[i:], o) {
					op = o
					break
				}
			}
			if op == "" {
				if !strings.ContainsRune("+-*/%~|()[]{},:.<>=", rune(c)) {
					return nil, fmt.Errorf("unexpected %q", c)
				}
				op = string(c)
			}
			out = append(out, token{kind: "op", text: op})
			i += len(op)
		}
	}
	return append(out, token{kind: "eof"}), nil
}

// readString reads a Python string literal at the start of s.
func readString(s string) (string, int, error) {
	q := s[0]
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == q:
			return b.String(), i + 1, nil
		case c == '\\' && i+1 < len(s):
			i++
			switch s[i] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case '\\', '\'', '"':
				b.WriteByte(s[i])
			default:
				b.WriteByte('\\')
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, errors.New("string not closed")
}

// ---- parser ----

type parser struct {
	toks []token
	i    int
}

func parseExpr(s string) (expr, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	e, err := p.cond()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != "eof" {
		return nil, fmt.Errorf("unexpected %s after the expression", t.desc())
	}
	return e, nil
}

func (t token) desc() string {
	switch t.kind {
	case "eof":
		return "end"
	case "str":
		return fmt.Sprintf("string %q", t.val)
	case "num":
		return fmt.Sprintf("number %v", t.val)
	}
	return fmt.Sprintf("%q", t.text)
}

func (p *parser) peek() token { return p.toks[p.i] }
func (p *parser) next() token { t := p.toks[p.i]; p.i++; return t }
func (p *parser) isOp(op string) bool {
	t := p.peek()
	return t.kind == "op" && t.text == op
}
func (p *parser) isName(n string) bool {
	t := p.peek()
	return t.kind == "name" && t.text == n
}
func (p *parser) expect(op string) error {
	if !p.isOp(op) {
		return fmt.Errorf("want %q, got %s", op, p.peek().desc())
	}
	p.i++
	return nil
}

func (p *parser) cond() (expr, error) {
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	for p.isName("if") {
		p.i++
		c, err := p.or()
		if err != nil {
			return nil, err
		}
		var no expr = litExpr{undefined{"(no else)"}}
		if p.isName("else") {
			p.i++
			if no, err = p.cond(); err != nil {
				return nil, err
			}
		}
		e = condExpr{cond: c, yes: e, no: no}
	}
	return e, nil
}

func (p *parser) or() (expr, error) {
	e, err := p.and()
	for err == nil && p.isName("or") {
		p.i++
		var r expr
		r, err = p.and()
		e = binExpr{"or", e, r}
	}
	return e, err
}

func (p *parser) and() (expr, error) {
	e, err := p.not()
	for err == nil && p.isName("and") {
		p.i++
		var r expr
		r, err = p.not()
		e = binExpr{"and", e, r}
	}
	return e, err
}

func (p *parser) not() (expr, error) {
	if p.isName("not") {
		p.i++
		x, err := p.not()
		return notExpr{x}, err
	}
	return p.compare()
}

func (p *parser) compare() (expr, error) {
	e, err := p.concat()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		var op string
		switch {
		case t.kind == "op" && (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == ">" || t.text == "<=" || t.text == ">="):
			op = t.text
			p.i++
		case t.kind == "name" && t.text == "in":
			op = "in"
			p.i++
		case t.kind == "name" && t.text == "not" && p.toks[p.i+1].kind == "name" && p.toks[p.i+1].text == "in":
			op = "not in"
			p.i += 2
		default:
			return e, nil
		}
		r, err := p.concat()
		if err != nil {
			return nil, err
		}
		e = binExpr{op, e, r}
	}
}

func (p *parser) concat() (expr, error) {
	e, err := p.add()
	for err == nil && p.isOp("~") {
		p.i++
		var r expr
		r, err = p.add()
		e = binExpr{"~", e, r}
	}
	return e, err
}

func (p *parser) add() (expr, error) {
	e, err := p.mul()
	for err == nil && (p.isOp("+") || p.isOp("-")) {
		op := p.next().text
		var r expr
		r, err = p.mul()
		e = binExpr{op, e, r}
	}
	return e, err
}

func (p *parser) mul() (expr, error) {
	e, err := p.unary()
	for err == nil && (p.isOp("*") || p.isOp("/") || p.isOp("//") || p.isOp("%")) {
		op := p.next().text
		var r expr
		r, err = p.unary()
		e = binExpr{op, e, r}
	}
	return e, err
}

func (p *parser) unary() (expr, error) {
	if p.isOp("-") {
		p.i++
		x, err := p.unary()
		return negExpr{x}, err
	}
	if p.isOp("+") {
		p.i++
		return p.unary()
	}
	e, err := p.primary()
	if err != nil {
		return nil, err
	}
	return p.filters(e)
}

func (p *parser) filters(e expr) (expr, error) {
	for {
		switch {
		case p.isOp("|"):
			p.i++
			t := p.next()
			if t.kind != "name" {
				return nil, fmt.Errorf("want a filter name after |, got %s", t.desc())
			}
			f := filterExpr{x: e, name: t.text}
			if p.isOp("(") {
				p.i++
				args, err := p.seq(")")
				if err != nil {
					return nil, err
				}
				f.args = args
			}
			e = f
		case p.isName("is"):
			p.i++
			neg := false
			if p.isName("not") {
				p.i++
				neg = true
			}
			t := p.next()
			if t.kind != "name" {
				return nil, fmt.Errorf("want a test name after is, got %s", t.desc())
			}
			e = testExpr{x: e, test: t.text, neg: neg}
		default:
			return e, nil
		}
	}
}

// seq reads comma-separated expressions up to closer (consumed).
func (p *parser) seq(closer string) ([]expr, error) {
	var items []expr
	for !p.isOp(closer) {
		e, err := p.cond()
		if err != nil {
			return nil, err
		}
		items = append(items, e)
		if p.isOp(",") {
			p.i++
			continue
		}
		if !p.isOp(closer) {
			return nil, fmt.Errorf("want , or %s, got %s", closer, p.peek().desc())
		}
	}
	p.i++
	return items, nil
}

func (p *parser) primary() (expr, error) {
	t := p.next()
	var e expr
	switch t.kind {
	case "str":
		s := t.val.(string)
		for p.peek().kind == "str" { // adjacent strings concatenate
			s += p.next().val.(string)
		}
		e = litExpr{s}
	case "num":
		e = litExpr{t.val}
	case "name":
		switch t.text {
		case "True", "true":
			e = litExpr{true}
		case "False", "false":
			e = litExpr{false}
		case "None", "none":
			e = litExpr{nil}
		default:
			e = nameExpr{t.text}
		}
	case "op":
		switch t.text {
		case "(":
			start := p.i
			items, err := p.seq(")")
			if err != nil {
				return nil, err
			}
			if len(items) == 1 && !(p.toks[p.i-2].kind == "op" && p.toks[p.i-2].text == ",") {
				e = items[0]
			} else {
				_ = start
				e = listExpr{items}
			}
		case "[":
			items, err := p.seq("]")
			if err != nil {
				return nil, err
			}
			e = listExpr{items}
		case "{":
			var d dictExpr
			for !p.isOp("}") {
				k, err := p.cond()
				if err != nil {
					return nil, err
				}
				if err := p.expect(":"); err != nil {
					return nil, err
				}
				v, err := p.cond()
				if err != nil {
					return nil, err
				}
				d.keys, d.vals = append(d.keys, k), append(d.vals, v)
				if p.isOp(",") {
					p.i++
				} else if !p.isOp("}") {
					return nil, fmt.Errorf("want , or }, got %s", p.peek().desc())
				}
			}
			p.i++
			e = d
		default:
			return nil, fmt.Errorf("unexpected %s", t.desc())
		}
	default:
		return nil, fmt.Errorf("unexpected %s", t.desc())
	}
	if p.isOp(".") || p.isOp("[") || p.isOp("(") {
		return nil, fmt.Errorf("%s: attributes, indexing and calls are not supported", p.peek().desc())
	}
	return e, nil
}

// ---- evaluation ----

func (e litExpr) eval(map[string]any) (any, error) { return e.v, nil }

func (e nameExpr) eval(vars map[string]any) (any, error) {
	if v, ok := vars[e.name]; ok {
		return v, nil
	}
	return undefined(e), nil
}

func (e listExpr) eval(vars map[string]any) (any, error) {
	out := make([]any, 0, len(e.items))
	for _, it := range e.items {
		v, err := it.eval(vars)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func (e dictExpr) eval(vars map[string]any) (any, error) {
	out := make(map[string]any, len(e.keys))
	for i := range e.keys {
		k, err := e.keys[i].eval(vars)
		if err != nil {
			return nil, err
		}
		ks, ok := k.(string)
		if !ok {
			return nil, fmt.Errorf("dict key %v is not a string", k)
		}
		v, err := e.vals[i].eval(vars)
		if err != nil {
			return nil, err
		}
		out[ks] = v
	}
	return out, nil
}

func (e notExpr) eval(vars map[string]any) (any, error) {
	v, err := e.x.eval(vars)
	if err != nil {
		return nil, err
	}
	return !truthy(v), nil
}

func (e negExpr) eval(vars map[string]any) (any, error) {
	v, err := e.x.eval(vars)
	if err != nil {
		return nil, err
	}
	switch n := v.(type) {
	case int64:
		return -n, nil
	case float64:
		return -n, nil
	}
	return nil, fmt.Errorf("cannot negate %s", typeName(v))
}

func (e condExpr) eval(vars map[string]any) (any, error) {
	c, err := e.cond.eval(vars)
	if err != nil {
		return nil, err
	}
	if truthy(c) {
		return e.yes.eval(vars)
	}
	return e.no.eval(vars)
}

func (e testExpr) eval(vars map[string]any) (any, error) {
	v, err := e.x.eval(vars)
	if err != nil {
		return nil, err
	}
	_, undef := v.(undefined)
	var r bool
	switch e.test {
	case "defined":
		r = !undef
	case "undefined":
		r = undef
	case "none":
		r = v == nil
	case "string":
		_, r = v.(string)
	case "number":
		switch v.(type) {
		case int64, float64:
			r = true
		}
	case "sequence", "iterable":
		switch v.(type) {
		case string, []any, map[string]any:
			r = true
		}
	case "mapping":
		_, r = v.(map[string]any)
	default:
		return nil, fmt.Errorf("test %q is not supported", e.test)
	}
	return r != e.neg, nil
}

func (e binExpr) eval(vars map[string]any) (any, error) {
	l, err := e.l.eval(vars)
	if err != nil {
		return nil, err
	}
	switch e.op {
	case "and":
		if !truthy(l) {
			return l, nil
		}
		return e.r.eval(vars)
	case "or":
		if truthy(l) {
			return l, nil
		}
		return e.r.eval(vars)
	}
	r, err := e.r.eval(vars)
	if err != nil {
		return nil, err
	}
	switch e.op {
	case "==":
		return equal(l, r), nil
	case "!=":
		return !equal(l, r), nil
	case "in", "not in":
		in, err := contains(r, l)
		if err != nil {
			return nil, err
		}
		return in == (e.op == "in"), nil
	case "~":
		return str(l) + str(r), nil
	}
	for _, v := range []any{l, r} {
		if u, ok := v.(undefined); ok {
			return nil, fmt.Errorf("%s is undefined (operator %s)", u.name, e.op)
		}
	}
	switch e.op {
	case "+":
		switch a := l.(type) {
		case string:
			if b, ok := r.(string); ok {
				return a + b, nil
			}
		case []any:
			if b, ok := r.([]any); ok {
				return append(append([]any{}, a...), b...), nil
			}
		}
	case "*":
		if s, ok := l.(string); ok {
			if n, ok := r.(int64); ok && n >= 0 && n < 1<<16 {
				return strings.Repeat(s, int(n)), nil
			}
		}
	case "<", ">", "<=", ">=":
		if a, ok := l.(string); ok {
			if b, ok := r.(string); ok {
				c := strings.Compare(a, b)
				return map[string]bool{"<": c < 0, ">": c > 0, "<=": c <= 0, ">=": c >= 0}[e.op], nil
			}
		}
	}
	return arith(e.op, l, r)
}

func arith(op string, l, r any) (any, error) {
	li, lInt := l.(int64)
	ri, rInt := r.(int64)
	lf, lok := toFloat(l)
	rf, rok := toFloat(r)
	if !lok || !rok {
		return nil, fmt.Errorf("unsupported operand types for %s: %s and %s", op, typeName(l), typeName(r))
	}
	if lInt && rInt {
		switch op {
		case "+":
			return li + ri, nil
		case "-":
			return li - ri, nil
		case "*":
			return li * ri, nil
		case "//":
			if ri == 0 {
				return nil, errors.New("division by zero")
			}
			return int64(math.Floor(float64(li) / float64(ri))), nil
		case "%":
			if ri == 0 {
				return nil, errors.New("division by zero")
			}
			return ((li % ri) + ri) % ri, nil
		}
	}
	switch op {
	case "+":
		return lf + rf, nil
	case "-":
		return lf - rf, nil
	case "*":
		return lf * rf, nil
	case "/", "//", "%":
		if rf == 0 {
			return nil, errors.New("division by zero")
		}
		switch op {
		case "/":
			return lf / rf, nil
		case "//":
			return math.Floor(lf / rf), nil
		}
		return math.Mod(lf, rf), nil
	case "<":
		return lf < rf, nil
	case ">":
		return lf > rf, nil
	case "<=":
		return lf <= rf, nil
	case ">=":
		return lf >= rf, nil
	}
	return nil, fmt.Errorf("operator %s is not supported", op)
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case int64:
		return float64(n), true
	case float64:
		return n, true
	case bool:
		if n {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

func (e filterExpr) eval(vars map[string]any) (any, error) {
	v, err := e.x.eval(vars)
	if err != nil {
		return nil, err
	}
	args := make([]any, len(e.args))
	for i, a := range e.args {
		if args[i], err = a.eval(vars); err != nil {
			return nil, err
		}
	}
	_, undef := v.(undefined)
	switch e.name {
	case "default", "d":
		if len(args) == 0 {
			args = []any{""}
		}
		if undef || (len(args) > 1 && truthy(args[1]) && !truthy(v)) {
			return args[0], nil
		}
		return v, nil
	}
	if undef && e.name != "string" && e.name != "length" {
		return nil, fmt.Errorf("%s is undefined (filter %s)", v.(undefined).name, e.name)
	}
	switch e.name {
	case "string":
		if undef {
			return "", nil
		}
		return str(v), nil
	case "lower":
		return strings.ToLower(str(v)), nil
	case "upper":
		return strings.ToUpper(str(v)), nil
	case "trim":
		return strings.TrimSpace(str(v)), nil
	case "length", "count":
		switch t := v.(type) {
		case undefined:
			return int64(0), nil
		case string:
			return int64(len([]rune(t))), nil
		case []any:
			return int64(len(t)), nil
		case map[string]any:
			return int64(len(t)), nil
		}
		return nil, fmt.Errorf("%s has no length", typeName(v))
	case "int":
		switch t := v.(type) {
		case int64:
			return t, nil
		case float64:
			return int64(t), nil
		case bool:
			if t {
				return int64(1), nil
			}
			return int64(0), nil
		case string:
			if n, err := strconv.ParseInt(strings.TrimSpace(t), 0, 64); err == nil {
				return n, nil
			}
			if f, err := strconv.ParseFloat(strings.TrimSpace(t), 64); err == nil {
				return int64(f), nil
			}
		}
		return int64(0), nil
	case "float":
		if f, ok := toFloat(v); ok {
			return f, nil
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(str(v)), 64); err == nil {
			return f, nil
		}
		return 0.0, nil
	case "join":
		sep := ""
		if len(args) > 0 {
			sep = str(args[0])
		}
		l, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("join of %s", typeName(v))
		}
		parts := make([]string, len(l))
		for i, x := range l {
			parts[i] = str(x)
		}
		return strings.Join(parts, sep), nil
	}
	return nil, fmt.Errorf("filter %q is not supported", e.name)
}

// truthy is Python's truth value.
func truthy(v any) bool {
	switch t := v.(type) {
	case nil, undefined:
		return false
	case bool:
		return t
	case int64:
		return t != 0
	case float64:
		return t != 0
	case string:
		return t != ""
	case []any:
		return len(t) > 0
	case map[string]any:
		return len(t) > 0
	}
	return true
}

func equal(a, b any) bool {
	if af, ok := toFloat(a); ok {
		if bf, ok := toFloat(b); ok {
			return af == bf
		}
		return false
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case undefined:
		_, ok := b.(undefined)
		return ok
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, v := range x {
			w, ok := y[k]
			if !ok || !equal(v, w) {
				return false
			}
		}
		return true
	}
	return false
}

func contains(container, item any) (bool, error) {
	switch c := container.(type) {
	case string:
		s, ok := item.(string)
		if !ok {
			return false, fmt.Errorf("'in <string>' requires a string, got %s", typeName(item))
		}
		return strings.Contains(c, s), nil
	case []any:
		for _, x := range c {
			if equal(x, item) {
				return true, nil
			}
		}
		return false, nil
	case map[string]any:
		s, ok := item.(string)
		if !ok {
			return false, nil
		}
		_, in := c[s]
		return in, nil
	case undefined:
		return false, fmt.Errorf("%s is undefined (operator in)", c.name)
	}
	return false, fmt.Errorf("%s is not a container", typeName(container))
}

// str is Python's str() of a value.
func str(v any) string {
	switch t := v.(type) {
	case nil:
		return "None"
	case undefined:
		return ""
	case bool:
		if t {
			return "True"
		}
		return "False"
	case int64:
		return strconv.FormatInt(t, 10)
	case float64:
		if t == math.Trunc(t) && math.Abs(t) < 1e16 {
			return strconv.FormatFloat(t, 'f', 1, 64)
		}
		return strconv.FormatFloat(t, 'g', -1, 64)
	case string:
		return t
	case []any:
		parts := make([]string, len(t))
		for i, x := range t {
			parts[i] = repr(x)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = repr(k) + ": " + repr(t[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

func repr(v any) string {
	if s, ok := v.(string); ok {
		return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", `\'`) + "'"
	}
	return str(v)
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "None"
	case undefined:
		return "undefined"
	case bool:
		return "bool"
	case int64:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []any:
		return "list"
	case map[string]any:
		return "dict"
	}
	return fmt.Sprintf("%T", v)
}
