package lavarpc

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// XML-RPC fault codes for protocol errors (the xmlrpc-epi interoperability
// codes, which LAVA's dispatcher uses too). Method faults use HTTP-like
// codes (400, 401, 403, 404).
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeNoMethod       = -32601
	CodeInvalidParams  = -32602
	CodeInternal       = -32603
)

// Decoder limits: a request deeper or larger than these is refused.
const (
	MaxDepth   = 64
	MaxRequest = 8 << 20
)

// Fault is an XML-RPC fault: what a method answers instead of a value.
type Fault struct {
	Code int
	Msg  string
}

func (f *Fault) Error() string { return fmt.Sprintf("fault %d: %s", f.Code, f.Msg) }

// Faultf makes a fault.
func Faultf(code int, format string, args ...any) *Fault {
	return &Fault{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// Binary is a base64 value (xmlrpc.client.Binary in Python).
type Binary []byte

// Nil is the XML-RPC nil value (Python None); a nil interface encodes the
// same.
type Nil struct{}

// sizeLimit reads at most left bytes of r, then fails, noting it: a body
// cut at the limit must be refused for its size, not as bad XML.
type sizeLimit struct {
	r    io.Reader
	left int64
	over bool
}

var errTooLarge = errors.New("request too large")

func (l *sizeLimit) Read(p []byte) (int, error) {
	if l.left <= 0 {
		// One byte more tells a body of exactly the limit from a longer one.
		var one [1]byte
		if n, _ := io.ReadFull(l.r, one[:]); n > 0 {
			l.over = true
			return 0, errTooLarge
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	return n, err
}

// Call is a decoded methodCall. Param values are nil (for <nil/>), bool,
// int64, float64, string, time.Time, Binary, []any or map[string]any.
type Call struct {
	Method string
	Params []any
}

// dateTime layouts: XML-RPC's compact ISO 8601 (what Python writes) and a
// few others seen in the wild.
var dateLayouts = []string{"20060102T15:04:05", "2006-01-02T15:04:05", "20060102T150405", "2006-01-02T15:04:05Z07:00", "20060102T15:04:05Z07:00"}

// DecodeCall reads a methodCall. Errors are *Fault with CodeParseError (not
// XML) or CodeInvalidRequest (XML, but not a method call).
func DecodeCall(r io.Reader) (*Call, error) {
	lr := &sizeLimit{r: r, left: MaxRequest}
	d := xml.NewDecoder(lr)
	d.Strict = true
	// Python's xmlrpc.client declares UTF-8; accept the usual aliases.
	d.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		switch strings.ToLower(label) {
		case "utf-8", "utf8", "us-ascii", "ascii":
			return in, nil
		}
		return nil, fmt.Errorf("unsupported charset %q", label)
	}
	p := &parser{d: d}
	c, err := p.call()
	if lr.over {
		return nil, &Fault{Code: CodeInvalidRequest, Msg: fmt.Sprintf("request too large: the body is over the %d bytes limit", MaxRequest)}
	}
	if err != nil {
		var f *Fault
		if errors.As(err, &f) {
			return nil, f
		}
		return nil, &Fault{Code: CodeParseError, Msg: "parse error. not well formed: " + err.Error()}
	}
	return c, nil
}

type parser struct {
	d     *xml.Decoder
	depth int
}

func invalid(format string, args ...any) error {
	return &Fault{Code: CodeInvalidRequest, Msg: "server error. invalid xml-rpc. not conforming to spec: " + fmt.Sprintf(format, args...)}
}

// next returns the next start or end element, skipping whitespace text,
// comments, processing instructions and directives; other text is an error.
func (p *parser) next() (xml.Token, error) {
	for {
		t, err := p.d.Token()
		if err != nil {
			if err == io.EOF {
				return nil, invalid("unexpected end of document")
			}
			return nil, err
		}
		switch t := t.(type) {
		case xml.StartElement, xml.EndElement:
			return t, nil
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return nil, invalid("unexpected text %q", truncate(string(t)))
			}
		}
	}
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func (p *parser) start(name string) error {
	t, err := p.next()
	if err != nil {
		return err
	}
	se, ok := t.(xml.StartElement)
	if !ok || se.Name.Local != name {
		return invalid("want <%s>, got %s", name, tokName(t))
	}
	return nil
}

func (p *parser) end(name string) error {
	t, err := p.next()
	if err != nil {
		return err
	}
	if ee, ok := t.(xml.EndElement); !ok || ee.Name.Local != name {
		return invalid("want </%s>, got %s", name, tokName(t))
	}
	return nil
}

func tokName(t xml.Token) string {
	switch t := t.(type) {
	case xml.StartElement:
		return "<" + t.Name.Local + ">"
	case xml.EndElement:
		return "</" + t.Name.Local + ">"
	}
	return "text"
}

// text reads character data up to the end of the current element.
func (p *parser) text(name string) (string, error) {
	var b strings.Builder
	for {
		t, err := p.d.Token()
		if err != nil {
			if err == io.EOF {
				return "", invalid("unexpected end of document")
			}
			return "", err
		}
		switch t := t.(type) {
		case xml.CharData:
			b.Write(t)
			if b.Len() > MaxRequest {
				return "", invalid("value too large")
			}
		case xml.EndElement:
			if t.Name.Local != name {
				return "", invalid("want </%s>, got </%s>", name, t.Name.Local)
			}
			return b.String(), nil
		case xml.StartElement:
			return "", invalid("unexpected <%s> in <%s>", t.Name.Local, name)
		}
	}
}

func (p *parser) call() (*Call, error) {
	if err := p.start("methodCall"); err != nil {
		return nil, err
	}
	if err := p.start("methodName"); err != nil {
		return nil, err
	}
	name, err := p.text("methodName")
	if err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, invalid("empty methodName")
	}
	c := &Call{Method: name, Params: []any{}}
	t, err := p.next()
	if err != nil {
		return nil, err
	}
	if se, ok := t.(xml.StartElement); ok && se.Name.Local == "params" {
		for {
			t, err := p.next()
			if err != nil {
				return nil, err
			}
			if ee, ok := t.(xml.EndElement); ok && ee.Name.Local == "params" {
				break
			}
			if se, ok := t.(xml.StartElement); !ok || se.Name.Local != "param" {
				return nil, invalid("want <param>, got %s", tokName(t))
			}
			if err := p.start("value"); err != nil {
				return nil, err
			}
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			if err := p.end("param"); err != nil {
				return nil, err
			}
			c.Params = append(c.Params, v)
		}
		if t, err = p.next(); err != nil {
			return nil, err
		}
	}
	if ee, ok := t.(xml.EndElement); !ok || ee.Name.Local != "methodCall" {
		return nil, invalid("want </methodCall>, got %s", tokName(t))
	}
	// Nothing but whitespace or comments may follow.
	for {
		t, err := p.d.Token()
		if err == io.EOF {
			return c, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := t.(type) {
		case xml.CharData:
			if len(bytes.TrimSpace(t)) != 0 {
				return nil, invalid("text after </methodCall>")
			}
		case xml.Comment, xml.ProcInst:
		default:
			return nil, invalid("content after </methodCall>")
		}
	}
}

// value reads what follows <value> up to and including </value>.
func (p *parser) value() (any, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > MaxDepth {
		return nil, invalid("values nested deeper than %d", MaxDepth)
	}
	var txt strings.Builder
	for {
		t, err := p.d.Token()
		if err != nil {
			if err == io.EOF {
				return nil, invalid("unexpected end of document")
			}
			return nil, err
		}
		switch t := t.(type) {
		case xml.CharData:
			txt.Write(t)
			if txt.Len() > MaxRequest {
				return nil, invalid("value too large")
			}
		case xml.EndElement:
			// <value>text</value> without a type is a string.
			return txt.String(), nil
		case xml.StartElement:
			if strings.TrimSpace(txt.String()) != "" {
				return nil, invalid("text before <%s>", t.Name.Local)
			}
			v, err := p.typed(t.Name.Local)
			if err != nil {
				return nil, err
			}
			if err := p.end("value"); err != nil {
				return nil, err
			}
			return v, nil
		}
	}
}

func (p *parser) typed(kind string) (any, error) {
	switch kind {
	case "nil":
		if err := p.end("nil"); err != nil {
			return nil, err
		}
		return nil, nil
	case "array":
		return p.array()
	case "struct":
		return p.strct()
	}
	s, err := p.text(kind)
	if err != nil {
		return nil, err
	}
	switch kind {
	case "string":
		return s, nil
	case "int", "i4", "i8":
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || (kind == "i4" || kind == "int") && (n > math.MaxInt32 || n < math.MinInt32) {
			return nil, invalid("bad <%s> %q", kind, truncate(s))
		}
		return n, nil
	case "boolean":
		switch strings.TrimSpace(s) {
		case "1":
			return true, nil
		case "0":
			return false, nil
		}
		return nil, invalid("bad <boolean> %q", truncate(s))
	case "double":
		f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, invalid("bad <double> %q", truncate(s))
		}
		return f, nil
	case "dateTime.iso8601":
		s = strings.TrimSpace(s)
		for _, l := range dateLayouts {
			if t, err := time.Parse(l, s); err == nil {
				return t.UTC(), nil
			}
		}
		return nil, invalid("bad <dateTime.iso8601> %q", truncate(s))
	case "base64":
		b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
		if err != nil {
			return nil, invalid("bad <base64>: %v", err)
		}
		return Binary(b), nil
	}
	return nil, invalid("unknown value type <%s>", kind)
}

func (p *parser) array() (any, error) {
	if err := p.start("data"); err != nil {
		return nil, err
	}
	out := []any{}
	for {
		t, err := p.next()
		if err != nil {
			return nil, err
		}
		if ee, ok := t.(xml.EndElement); ok && ee.Name.Local == "data" {
			break
		}
		if se, ok := t.(xml.StartElement); !ok || se.Name.Local != "value" {
			return nil, invalid("want <value> in <data>, got %s", tokName(t))
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, p.end("array")
}

func (p *parser) strct() (any, error) {
	out := map[string]any{}
	for {
		t, err := p.next()
		if err != nil {
			return nil, err
		}
		if ee, ok := t.(xml.EndElement); ok && ee.Name.Local == "struct" {
			return out, nil
		}
		if se, ok := t.(xml.StartElement); !ok || se.Name.Local != "member" {
			return nil, invalid("want <member> in <struct>, got %s", tokName(t))
		}
		if err := p.start("name"); err != nil {
			return nil, err
		}
		name, err := p.text("name")
		if err != nil {
			return nil, err
		}
		if err := p.start("value"); err != nil {
			return nil, err
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		if err := p.end("member"); err != nil {
			return nil, err
		}
		out[name] = v
	}
}

// EncodeResponse writes a methodResponse holding v.
func EncodeResponse(w io.Writer, v any) error {
	var b bytes.Buffer
	b.WriteString("<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n")
	if err := encodeValue(&b, v, 0); err != nil {
		return err
	}
	b.WriteString("\n</param>\n</params>\n</methodResponse>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// EncodeFault writes a methodResponse holding a fault.
func EncodeFault(w io.Writer, f *Fault) error {
	var b bytes.Buffer
	b.WriteString("<?xml version='1.0'?>\n<methodResponse>\n<fault>\n")
	if err := encodeValue(&b, map[string]any{"faultCode": f.Code, "faultString": f.Msg}, 0); err != nil {
		return err
	}
	b.WriteString("\n</fault>\n</methodResponse>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// EncodeCall writes a methodCall (for clients and tests).
func EncodeCall(w io.Writer, method string, params ...any) error {
	var b bytes.Buffer
	b.WriteString("<?xml version='1.0'?>\n<methodCall>\n<methodName>")
	escape(&b, method)
	b.WriteString("</methodName>\n<params>\n")
	for _, p := range params {
		b.WriteString("<param>\n")
		if err := encodeValue(&b, p, 0); err != nil {
			return err
		}
		b.WriteString("\n</param>\n")
	}
	b.WriteString("</params>\n</methodCall>\n")
	_, err := w.Write(b.Bytes())
	return err
}

func escape(b *bytes.Buffer, s string) {
	for _, r := range s {
		switch {
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '&':
			b.WriteString("&amp;")
		case r == '\r':
			b.WriteString("&#13;")
		case r == utf8.RuneError:
			b.WriteRune('\uFFFD')
		case r < 0x20 && r != '\t' && r != '\n', r == 0xFFFE, r == 0xFFFF, r >= 0xD800 && r < 0xE000:
			// Not allowed in XML 1.0 at all: replace.
			b.WriteRune('\uFFFD')
		default:
			b.WriteRune(r)
		}
	}
}

func encodeValue(b *bytes.Buffer, v any, depth int) error {
	if depth > MaxDepth {
		return fmt.Errorf("value nested deeper than %d", MaxDepth)
	}
	b.WriteString("<value>")
	var err error
	switch v := v.(type) {
	case []string:
		err = encodeArray(b, v, depth)
	case []any:
		err = encodeArray(b, v, depth)
	case []map[string]any:
		err = encodeArray(b, v, depth)
	case map[string]any:
		err = encodeStruct(b, v, depth)
	default:
		err = encodeScalar(b, v)
	}
	if err != nil {
		return err
	}
	b.WriteString("</value>")
	return nil
}

// encodeScalar writes the inside of a <value> that holds no other values.
func encodeScalar(b *bytes.Buffer, v any) error {
	switch v := v.(type) {
	case nil, Nil:
		b.WriteString("<nil/>")
	case bool:
		if v {
			b.WriteString("<boolean>1</boolean>")
		} else {
			b.WriteString("<boolean>0</boolean>")
		}
	case int:
		writeInt(b, int64(v))
	case int32:
		writeInt(b, int64(v))
	case int64:
		writeInt(b, v)
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("cannot encode %v as <double>", v)
		}
		b.WriteString("<double>" + strconv.FormatFloat(v, 'f', -1, 64) + "</double>")
	case string:
		b.WriteString("<string>")
		escape(b, v)
		b.WriteString("</string>")
	case time.Time:
		b.WriteString("<dateTime.iso8601>" + v.UTC().Format("20060102T15:04:05") + "</dateTime.iso8601>")
	case *time.Time:
		if v == nil || v.IsZero() {
			b.WriteString("<nil/>")
		} else {
			b.WriteString("<dateTime.iso8601>" + v.UTC().Format("20060102T15:04:05") + "</dateTime.iso8601>")
		}
	case Binary:
		b.WriteString("<base64>\n" + base64.StdEncoding.EncodeToString(v) + "\n</base64>")
	default:
		return fmt.Errorf("cannot encode %T as XML-RPC", v)
	}
	return nil
}

func encodeArray[T any](b *bytes.Buffer, v []T, depth int) error {
	b.WriteString("<array><data>\n")
	for _, e := range v {
		if err := encodeValue(b, e, depth+1); err != nil {
			return err
		}
		b.WriteString("\n")
	}
	b.WriteString("</data></array>")
	return nil
}

func encodeStruct(b *bytes.Buffer, v map[string]any, depth int) error {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b.WriteString("<struct>\n")
	for _, k := range keys {
		b.WriteString("<member>\n<name>")
		escape(b, k)
		b.WriteString("</name>\n")
		if err := encodeValue(b, v[k], depth+1); err != nil {
			return err
		}
		b.WriteString("\n</member>\n")
	}
	b.WriteString("</struct>")
	return nil
}

func writeInt(b *bytes.Buffer, n int64) {
	if n > math.MaxInt32 || n < math.MinInt32 {
		b.WriteString("<i8>" + strconv.FormatInt(n, 10) + "</i8>")
		return
	}
	b.WriteString("<int>" + strconv.FormatInt(n, 10) + "</int>")
}

// DecodeResponse reads a methodResponse: its value, or its fault as a
// *Fault error (for clients and tests).
func DecodeResponse(r io.Reader) (any, error) {
	d := xml.NewDecoder(io.LimitReader(r, 64*MaxRequest))
	d.Strict = true
	p := &parser{d: d}
	if err := p.start("methodResponse"); err != nil {
		return nil, err
	}
	t, err := p.next()
	if err != nil {
		return nil, err
	}
	se, ok := t.(xml.StartElement)
	if !ok {
		return nil, invalid("want <params> or <fault>, got %s", tokName(t))
	}
	switch se.Name.Local {
	case "params":
		if err := p.start("param"); err != nil {
			return nil, err
		}
		if err := p.start("value"); err != nil {
			return nil, err
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		if err := p.end("param"); err != nil {
			return nil, err
		}
		return v, p.end("params")
	case "fault":
		if err := p.start("value"); err != nil {
			return nil, err
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		m, _ := v.(map[string]any)
		code, _ := m["faultCode"].(int64)
		msg, _ := m["faultString"].(string)
		return nil, &Fault{Code: int(code), Msg: msg}
	}
	return nil, invalid("want <params> or <fault>, got <%s>", se.Name.Local)
}
