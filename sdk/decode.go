package sdk

import (
	"encoding/json"
	"errors"
	"strconv"
	"unicode/utf8"
)

// errSlowPath is decodeRequest's only error: the input is not of the
// common shape it decodes itself (or is not valid), and encoding/json must
// decide. encoding/json then gives the result, or the error message.
var errSlowPath = errors.New("sdk: request left to encoding/json")

// readRequest decodes a request as json.Unmarshal does: with decodeRequest
// when it can, else with encoding/json. handle and the tests use it.
func readRequest(b []byte) (Request, error) {
	req, err := decodeRequest(b)
	if err == errSlowPath {
		req = Request{}
		err = json.Unmarshal(b, &req)
	}
	return req, err
}

// maxDepth bounds the nesting of arrays and objects decodeRequest decodes
// itself (encoding/json's own limit is 10000).
const maxDepth = 1000

// decodeRequest decodes a Request in one pass, without reflection, to
// exactly what json.Unmarshal gives. Under WebAssembly, encoding/json's
// reflection and map growth were 40% of a plan call.
//
// It handles the shape the host sends: object keys exactly as the json tags
// spell them. An unknown key is skipped if it is ASCII without upper-case
// letters: every tag is lower-case ASCII, so encoding/json's
// case-insensitive match cannot pick such a key either. Any other key, any
// invalid input, and anything out of the ordinary (a number that does not
// fit, deep nesting) returns errSlowPath: a divergence from encoding/json
// would be worse than its slowness.
//
// Strings without escapes are slices of one copy of the input; objects and
// arrays are collected on a scratch stack first, so each map and slice is
// allocated once at its final size.
func decodeRequest(b []byte) (Request, error) {
	var d decoder
	d.s = string(b)
	d.kvs = d.kvArr[:0]
	d.vals = d.valArr[:0]
	d.buf = d.bufArr[:0]
	var r Request
	d.ws()
	if d.i >= len(d.s) {
		return Request{}, errSlowPath
	}
	switch d.s[d.i] {
	case '{':
		if !d.request(&r) {
			return Request{}, errSlowPath
		}
	case 'n':
		// null leaves the request zero.
		if !d.null() {
			return Request{}, errSlowPath
		}
	default:
		return Request{}, errSlowPath
	}
	d.ws()
	if d.i != len(d.s) {
		return Request{}, errSlowPath
	}
	return r, nil
}

// decoder is the state of one decodeRequest call. Its methods return false
// when the input must go to encoding/json.
type decoder struct {
	s     string
	i     int
	depth int
	kvs   []member // members of the objects being decoded
	vals  []any    // elements of the arrays being decoded
	buf   []byte   // unescaped string being built

	// First backing arrays of the stacks, on decodeRequest's stack: a
	// real request's largest object (settings) has some 60 members.
	kvArr  [96]member
	valArr [32]any
	bufArr [64]byte
}

type member struct {
	k string
	v any
}

func (d *decoder) ws() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// next reads the key of an object's next member, up to its value: d.i is
// after the '{' (first) or after the previous value. end reports the
// object's '}', consumed.
func (d *decoder) next(first bool) (key string, end, ok bool) {
	d.ws()
	if d.i >= len(d.s) {
		return "", false, false
	}
	c := d.s[d.i]
	if c == '}' {
		d.i++
		return "", true, true
	}
	if !first {
		if c != ',' {
			return "", false, false
		}
		d.i++
		d.ws()
		if d.i >= len(d.s) {
			return "", false, false
		}
		c = d.s[d.i]
	}
	if c != '"' {
		return "", false, false
	}
	key, ok = d.str()
	if !ok {
		return "", false, false
	}
	d.ws()
	if d.i >= len(d.s) || d.s[d.i] != ':' {
		return "", false, false
	}
	d.i++
	d.ws()
	if d.i >= len(d.s) {
		return "", false, false
	}
	return key, false, true
}

// open consumes the '{' of a struct's object.
func (d *decoder) open() bool {
	if d.s[d.i] != '{' {
		return false
	}
	d.i++
	return true
}

// unknown skips the value of a key no field has, if encoding/json would
// skip it too.
func (d *decoder) unknown(key string) bool {
	for i := 0; i < len(key); i++ {
		if c := key[i]; c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' {
			return false
		}
	}
	_, ok := d.value()
	return ok
}

func (d *decoder) null() bool {
	if len(d.s)-d.i >= 4 && d.s[d.i:d.i+4] == "null" {
		d.i += 4
		return true
	}
	return false
}

// strField decodes a string field; null leaves it as it is.
func (d *decoder) strField(p *string) bool {
	switch d.s[d.i] {
	case '"':
		s, ok := d.str()
		*p = s
		return ok
	case 'n':
		return d.null()
	}
	return false
}

// boolField decodes a bool field; null leaves it as it is.
func (d *decoder) boolField(p *bool) bool {
	switch {
	case len(d.s)-d.i >= 4 && d.s[d.i:d.i+4] == "true":
		d.i += 4
		*p = true
		return true
	case len(d.s)-d.i >= 5 && d.s[d.i:d.i+5] == "false":
		d.i += 5
		*p = false
		return true
	}
	return d.null()
}

// intField decodes an int field; null leaves it as it is. Like
// encoding/json it refuses a fraction or an exponent ("1.0", "1e0").
func (d *decoder) intField(p *int) bool {
	if d.null() {
		return true
	}
	start := d.i
	simple, ok := d.number()
	if !ok || !simple {
		return false
	}
	lit := d.s[start:d.i]
	neg := lit[0] == '-'
	if neg {
		lit = lit[1:]
	}
	if len(lit) > 18 {
		return false // encoding/json decides near the int64 limits
	}
	n := 0
	for i := 0; i < len(lit); i++ {
		n = n*10 + int(lit[i]-'0')
	}
	if neg {
		n = -n
	}
	*p = n
	return true
}

// values decodes a Values field: an object is merged into the map (made if
// nil), null sets it to nil.
func (d *decoder) values(p *Values) bool {
	switch d.s[d.i] {
	case '{':
		m, ok := d.object(*p)
		*p = m
		return ok
	case 'n':
		if d.null() {
			*p = nil
			return true
		}
	}
	return false
}

// fields decodes an object whose fields field decodes, one key at a time
// (it reports false on an error, as every step here does).
func (d *decoder) fields(field func(key string) bool) bool {
	if !d.open() {
		return false
	}
	for first := true; ; first = false {
		key, end, ok := d.next(first)
		if !ok || end {
			return ok
		}
		if !field(key) {
			return false
		}
	}
}

func (d *decoder) request(r *Request) bool {
	return d.fields(func(key string) bool {
		switch key {
		case "abi_version":
			return d.intField(&r.ABIVersion)
		case "op":
			return d.strField(&r.Op)
		case "plan":
			if d.null() {
				r.Plan = nil
				return true
			}
			if r.Plan == nil {
				r.Plan = new(PlanRequest)
			}
			return d.planRequest(r.Plan)
		}
		return d.unknown(key)
	})
}

func (d *decoder) planRequest(p *PlanRequest) bool {
	return d.fields(func(key string) bool {
		switch key {
		case "job_id":
			return d.strField(&p.JobID)
		case "action":
			return d.null() || d.action(&p.Action)
		case "context":
			return d.values(&p.Context)
		case "settings":
			return d.values(&p.Settings)
		case "device":
			return d.null() || d.device(&p.Device)
		case "worker":
			return d.null() || d.worker(&p.Worker)
		}
		return d.unknown(key)
	})
}

func (d *decoder) action(a *Action) bool {
	return d.fields(func(key string) bool {
		switch key {
		case "kind":
			return d.strField(&a.Kind)
		case "method":
			return d.strField(&a.Method)
		case "level":
			return d.strField(&a.Level)
		case "namespace":
			return d.strField(&a.Namespace)
		case "params":
			return d.values(&a.Params)
		}
		return d.unknown(key)
	})
}

func (d *decoder) device(f *DeviceFacts) bool {
	return d.fields(func(key string) bool {
		switch key {
		case "hostname":
			return d.strField(&f.Hostname)
		case "device_type":
			return d.strField(&f.DeviceType)
		}
		return d.unknown(key)
	})
}

func (d *decoder) worker(w *WorkerFacts) bool {
	return d.fields(func(key string) bool {
		switch key {
		case "server_ip":
			return d.strField(&w.ServerIP)
		case "nfs_server_ip":
			return d.strField(&w.NFSServerIP)
		case "http_base_url":
			return d.strField(&w.HTTPBaseURL)
		case "artifacts":
			if d.null() {
				w.Artifacts = nil
				return true
			}
			return d.artifacts(&w.Artifacts)
		}
		return d.unknown(key)
	})
}

// artifacts decodes the artifacts object into the map (made if nil). Each
// value is decoded into a zero Artifact, as encoding/json does; null
// stores the zero Artifact.
func (d *decoder) artifacts(p *map[string]Artifact) bool {
	if *p == nil && d.i < len(d.s) && d.s[d.i] == '{' {
		*p = make(map[string]Artifact)
	}
	return d.fields(func(key string) bool {
		var a Artifact
		if !d.null() && !d.artifact(&a) {
			return false
		}
		(*p)[key] = a
		return true
	})
}

func (d *decoder) artifact(a *Artifact) bool {
	return d.fields(func(key string) bool {
		switch key {
		case "tftp_path":
			return d.strField(&a.TFTPPath)
		case "local_path":
			return d.strField(&a.LocalPath)
		case "url":
			return d.strField(&a.URL)
		case "type":
			return d.strField(&a.Type)
		case "uboot_header":
			return d.boolField(&a.UBootHeader)
		case "image_arg":
			return d.strField(&a.ImageArg)
		case "format":
			return d.strField(&a.Format)
		}
		return d.unknown(key)
	})
}

// value decodes any JSON value as encoding/json does into an interface:
// string, float64, bool, nil, []any or map[string]any. d.i is at the
// value's first byte.
func (d *decoder) value() (any, bool) {
	switch c := d.s[d.i]; c {
	case '"':
		return d.str()
	case '{':
		m, ok := d.object(nil)
		return m, ok
	case '[':
		return d.array()
	case 't':
		if len(d.s)-d.i >= 4 && d.s[d.i:d.i+4] == "true" {
			d.i += 4
			return true, true
		}
	case 'f':
		if len(d.s)-d.i >= 5 && d.s[d.i:d.i+5] == "false" {
			d.i += 5
			return false, true
		}
	case 'n':
		if d.null() {
			return nil, true
		}
	default:
		if c == '-' || '0' <= c && c <= '9' {
			return d.float()
		}
	}
	return nil, false
}

// object decodes an object into m, or into a new map if m is nil.
func (d *decoder) object(m map[string]any) (map[string]any, bool) {
	d.i++ // '{'
	if d.depth++; d.depth > maxDepth {
		return nil, false
	}
	start := len(d.kvs)
	for first := true; ; first = false {
		key, end, ok := d.next(first)
		if !ok {
			return nil, false
		}
		if end {
			break
		}
		v, ok := d.value()
		if !ok {
			return nil, false
		}
		d.kvs = append(d.kvs, member{key, v})
	}
	d.depth--
	kvs := d.kvs[start:]
	if m == nil {
		m = make(map[string]any, len(kvs))
	}
	for _, kv := range kvs {
		m[kv.k] = kv.v // in order: the last of duplicate keys wins
	}
	clear(kvs)
	d.kvs = d.kvs[:start]
	return m, true
}

func (d *decoder) array() ([]any, bool) {
	d.i++ // '['
	if d.depth++; d.depth > maxDepth {
		return nil, false
	}
	start := len(d.vals)
	d.ws()
	if d.i < len(d.s) && d.s[d.i] == ']' {
		d.i++
		d.depth--
		return []any{}, true
	}
	for {
		d.ws()
		if d.i >= len(d.s) {
			return nil, false
		}
		v, ok := d.value()
		if !ok {
			return nil, false
		}
		d.vals = append(d.vals, v)
		d.ws()
		if d.i >= len(d.s) {
			return nil, false
		}
		switch d.s[d.i] {
		case ',':
			d.i++
		case ']':
			d.i++
			d.depth--
			a := make([]any, len(d.vals)-start)
			copy(a, d.vals[start:])
			clear(d.vals[start:])
			d.vals = d.vals[:start]
			return a, true
		default:
			return nil, false
		}
	}
}

// number consumes a number by the JSON grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
// simple reports one without fraction and exponent.
func (d *decoder) number() (simple, ok bool) {
	s, i := d.s, d.i
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i >= len(s):
		return false, false
	case s[i] == '0':
		i++
	case '1' <= s[i] && s[i] <= '9':
		i++
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	default:
		return false, false
	}
	simple = true
	if i < len(s) && s[i] == '.' {
		simple = false
		i++
		j := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		if i == j {
			return false, false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		simple = false
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		j := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		if i == j {
			return false, false
		}
	}
	d.i = i
	return simple, true
}

// float decodes a number as encoding/json does into an interface.
func (d *decoder) float() (any, bool) {
	start := d.i
	simple, ok := d.number()
	if !ok {
		return nil, false
	}
	lit := d.s[start:d.i]
	if simple && lit[0] != '-' && len(lit) <= 15 {
		// Exact in a float64 (< 2^53): what ParseFloat gives.
		n := 0
		for i := 0; i < len(lit); i++ {
			n = n*10 + int(lit[i]-'0')
		}
		return float64(n), true
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil {
		return nil, false // out of range: encoding/json's error
	}
	return f, true
}

// str decodes the string at d.i (its opening quote) as encoding/json
// does: escapes, surrogate pairs, and U+FFFD for each byte of invalid
// UTF-8 and for a lone surrogate escape.
func (d *decoder) str() (string, bool) {
	s := d.s
	start := d.i + 1
	i := start
	for i < len(s) {
		c := s[i]
		if c == '"' {
			d.i = i + 1
			return s[start:i], true
		}
		if c == '\\' || c < ' ' || c >= utf8.RuneSelf {
			break
		}
		i++
	}
	// Valid multi-byte UTF-8 still needs no copy.
	for i < len(s) {
		c := s[i]
		if c == '"' {
			d.i = i + 1
			return s[start:i], true
		}
		if c == '\\' || c < ' ' {
			break
		}
		if c < utf8.RuneSelf {
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			break
		}
		i += n
	}
	b := append(d.buf[:0], s[start:i]...)
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			d.i = i + 1
			d.buf = b
			return string(b), true
		case c < ' ':
			return "", false
		case c == '\\':
			if i+1 >= len(s) {
				return "", false
			}
			switch s[i+1] {
			case '"', '\\', '/':
				b = append(b, s[i+1])
			case 'b':
				b = append(b, '\b')
			case 'f':
				b = append(b, '\f')
			case 'n':
				b = append(b, '\n')
			case 'r':
				b = append(b, '\r')
			case 't':
				b = append(b, '\t')
			case 'u':
				r := hex4(s, i+2)
				if r < 0 {
					return "", false
				}
				i += 6
				if 0xD800 <= r && r < 0xE000 {
					// A surrogate: valid only as a high one followed by an
					// escaped low one; else U+FFFD, and what follows is
					// decoded on its own.
					if r < 0xDC00 && i+1 < len(s) && s[i] == '\\' && s[i+1] == 'u' {
						if r2 := hex4(s, i+2); 0xDC00 <= r2 && r2 < 0xE000 {
							r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
							i += 6
							b = utf8.AppendRune(b, r)
							continue
						}
					}
					r = utf8.RuneError
				}
				b = utf8.AppendRune(b, r)
				continue
			default:
				return "", false
			}
			i += 2
		case c < utf8.RuneSelf:
			b = append(b, c)
			i++
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				b = utf8.AppendRune(b, utf8.RuneError)
			} else {
				b = append(b, s[i:i+n]...)
			}
			i += n
		}
	}
	return "", false
}

// hex4 is the value of the 4 hex digits at s[i:], or -1.
func hex4(s string, i int) rune {
	if i+4 > len(s) {
		return -1
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}
