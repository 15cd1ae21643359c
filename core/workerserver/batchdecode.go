package workerserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/lavalab/lavalab/core/workerproto"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/lavalab/lavalab/core/model"
)

// errSlowPath tells the caller of decodeLogBatch that the body uses a
// construct the fast decoder leaves to encoding/json (a repeated
// "records" key, very deep nesting): decode it with json.Unmarshal.
var errSlowPath = errors.New("log batch: unusual JSON left to encoding/json")

// readLogBatch decodes a log batch body as the logs handler does:
// decodeLogBatch, or json.Unmarshal for what that leaves to it (slow).
func readLogBatch(b []byte) (batch workerproto.LogBatch, slow bool, err error) {
	batch, err = decodeLogBatch(b)
	if errors.Is(err, errSlowPath) {
		batch = workerproto.LogBatch{}
		return batch, true, json.Unmarshal(b, &batch)
	}
	return batch, false, err
}

// maxFastDepth is the deepest nesting the fast decoder follows (the batch
// object is depth 1); deeper bodies go to encoding/json, which has its
// own limit.
const maxFastDepth = 128

// decodeLogBatch decodes a LogBatch body in one pass over b, without
// reflection, building each string once. It accepts what
// json.Unmarshal(b, &LogBatch{}) accepts and gives the same result: the
// same whitespace, escapes, U+FFFD for invalid UTF-8 and lone surrogates,
// case-insensitive keys (as encoding/json folds them), unknown keys
// skipped, the last of duplicate keys winning, null leaving a field as it
// is ("records": null makes it nil), "dt" read by time.Time.UnmarshalJSON
// from the raw JSON text. It returns errSlowPath for the few constructs
// it leaves to json.Unmarshal.
func decodeLogBatch(b []byte) (workerproto.LogBatch, error) {
	d := batchDecoder{b: b, rec: -1}
	var batch workerproto.LogBatch
	d.ws()
	if d.i >= len(b) {
		return workerproto.LogBatch{}, d.eof()
	}
	switch b[d.i] {
	case '{':
		if err := d.batch(&batch); err != nil {
			return workerproto.LogBatch{}, err
		}
	case 'n':
		// encoding/json leaves the value as it is for a top-level null.
		if err := d.literal("null"); err != nil {
			return workerproto.LogBatch{}, err
		}
	default:
		return workerproto.LogBatch{}, d.errorf("a log batch is a JSON object, found %s", d.found())
	}
	d.ws()
	if d.i < len(b) {
		return workerproto.LogBatch{}, d.errorf("invalid character %q after the top-level value", b[d.i])
	}
	return batch, nil
}

// Fields of LogBatch and Record.
const (
	fieldUnknown = iota
	fieldFirst
	fieldRecords
	fieldJob
	fieldToken
	fieldDT
	fieldLevel
	fieldMessage
	fieldStructured
	fieldNS
)

// batchDecoder is the state of one decodeLogBatch call.
type batchDecoder struct {
	b []byte
	i int
	// buf is scratch space for keys and strings with escapes or invalid
	// UTF-8.
	buf []byte
	// rec is the index of the record being decoded (-1: none), for errors.
	rec int
	// field names the value being decoded, for errors.
	field string
}

// errorf is a syntax or type error at the current offset.
func (d *batchDecoder) errorf(format string, args ...any) error {
	where := fmt.Sprintf("offset %d", d.i)
	switch {
	case d.rec >= 0 && d.field != "":
		where += fmt.Sprintf(" (records[%d].%s)", d.rec, d.field)
	case d.rec >= 0:
		where += fmt.Sprintf(" (records[%d])", d.rec)
	case d.field != "":
		where += " (" + d.field + ")"
	}
	return fmt.Errorf("%s: "+format, append([]any{where}, args...)...)
}

func (d *batchDecoder) eof() error {
	return d.errorf("unexpected end of JSON input")
}

// found describes the value at d.i for type errors.
func (d *batchDecoder) found() string {
	if d.i >= len(d.b) {
		return "the end of the input"
	}
	switch c := d.b[d.i]; {
	case c == '{':
		return "an object"
	case c == '[':
		return "an array"
	case c == '"':
		return "a string"
	case c == 't' || c == 'f':
		return "a boolean"
	case c == 'n':
		return "null"
	case c == '-' || ('0' <= c && c <= '9'):
		return "a number"
	default:
		return fmt.Sprintf("invalid character %q", c)
	}
}

// ws skips JSON whitespace.
func (d *batchDecoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// literal consumes the literal lit (true, false, null) at d.i.
func (d *batchDecoder) literal(lit string) error {
	for k := 0; k < len(lit); k++ {
		if d.i+k >= len(d.b) {
			d.i += k
			return d.eof()
		}
		if d.b[d.i+k] != lit[k] {
			d.i += k
			return d.errorf("invalid character %q in literal %s", d.b[d.i], lit)
		}
	}
	d.i += len(lit)
	return nil
}

// object walks the members of the object at d.i ('{'), calling member for
// each key with d.i at its value; member consumes the value.
func (d *batchDecoder) object(member func(key []byte) error) error {
	d.i++ // {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == '}' {
		d.i++
		return nil
	}
	for {
		if d.i >= len(d.b) {
			return d.eof()
		}
		if d.b[d.i] != '"' {
			return d.errorf("invalid character %q looking for the beginning of an object key", d.b[d.i])
		}
		key, err := d.key()
		if err != nil {
			return err
		}
		d.ws()
		if d.i >= len(d.b) {
			return d.eof()
		}
		if d.b[d.i] != ':' {
			return d.errorf("invalid character %q after an object key", d.b[d.i])
		}
		d.i++
		d.ws()
		if err := member(key); err != nil {
			return err
		}
		if done, err := d.separator('}', "an object value"); done || err != nil {
			return err
		}
	}
}

// batch decodes the top-level object.
func (d *batchDecoder) batch(out *workerproto.LogBatch) error {
	d.rec = -1
	seenRecords := false
	return d.object(func(key []byte) error {
		switch batchField(key) {
		case fieldFirst:
			d.field = "first"
			if err := d.int64(&out.First); err != nil {
				return err
			}
		case fieldJob:
			d.field = "job"
			if err := d.int64(&out.Job); err != nil {
				return err
			}
		case fieldToken:
			d.field = "token"
			if err := d.stringField(&out.Token); err != nil {
				return err
			}
		case fieldRecords:
			if seenRecords {
				// encoding/json decodes a second array over the elements
				// of the first: leave that merge to it.
				return errSlowPath
			}
			seenRecords = true
			d.field = "records"
			if err := d.records(&out.Records); err != nil {
				return err
			}
		default:
			d.field = ""
			if err := d.skip(1); err != nil {
				return err
			}
		}
		d.field = ""
		return nil
	})
}

// records decodes the value of "records".
func (d *batchDecoder) records(out *[]workerproto.Record) error {
	if d.i >= len(d.b) {
		return d.eof()
	}
	switch d.b[d.i] {
	case 'n':
		if err := d.literal("null"); err != nil {
			return err
		}
		*out = nil
		return nil
	case '[':
	default:
		return d.errorf("want an array of records, found %s", d.found())
	}
	d.i++
	d.ws()
	recs := make([]workerproto.Record, 0, d.guessRecords())
	if d.i < len(d.b) && d.b[d.i] == ']' {
		d.i++
		*out = recs
		return nil
	}
	for {
		if d.i >= len(d.b) {
			return d.eof()
		}
		d.rec = len(recs)
		d.field = ""
		recs = append(recs, workerproto.Record{})
		switch d.b[d.i] {
		case '{':
			if err := d.record(&recs[len(recs)-1]); err != nil {
				return err
			}
		case 'n':
			if err := d.literal("null"); err != nil {
				return err
			}
		default:
			return d.errorf("want a record object, found %s", d.found())
		}
		d.ws()
		if d.i >= len(d.b) {
			return d.eof()
		}
		switch d.b[d.i] {
		case ',':
			d.i++
			d.ws()
		case ']':
			d.i++
			d.rec = -1
			*out = recs
			return nil
		default:
			return d.errorf("invalid character %q after an array element", d.b[d.i])
		}
	}
}

// guessRecords estimates the number of records from the bytes left
// (about 90 bytes a record and more), so that most batches fill one
// allocation; large bodies grow the slice as they go.
func (d *batchDecoder) guessRecords() int {
	return min((len(d.b)-d.i)/90+1, 256)
}

// record decodes one record object into r.
func (d *batchDecoder) record(r *workerproto.Record) error {
	return d.object(func(key []byte) error {
		var err error
		switch recordField(key) {
		case fieldDT:
			d.field = "dt"
			err = d.time(&r.Time)
		case fieldLevel:
			d.field = "lvl"
			err = d.level(&r.Level)
		case fieldMessage:
			d.field = "msg"
			err = d.stringField(&r.Message)
		case fieldStructured:
			d.field = "structured"
			err = d.bool(&r.Structured)
		case fieldNS:
			d.field = "ns"
			err = d.stringField(&r.NS)
		default:
			d.field = ""
			err = d.skip(3)
		}
		d.field = ""
		return err
	})
}

// batchField maps a key of the batch object to its field.
func batchField(key []byte) int {
	switch string(key) {
	case "first":
		return fieldFirst
	case "records":
		return fieldRecords
	case "job":
		return fieldJob
	case "token":
		return fieldToken
	}
	switch {
	case foldEqual(key, "FIRST"):
		return fieldFirst
	case foldEqual(key, "RECORDS"):
		return fieldRecords
	case foldEqual(key, "JOB"):
		return fieldJob
	case foldEqual(key, "TOKEN"):
		return fieldToken
	}
	return fieldUnknown
}

// recordField maps a key of a record object to its field.
func recordField(key []byte) int {
	switch string(key) {
	case "dt":
		return fieldDT
	case "lvl":
		return fieldLevel
	case "msg":
		return fieldMessage
	case "structured":
		return fieldStructured
	case "ns":
		return fieldNS
	}
	switch {
	case foldEqual(key, "DT"):
		return fieldDT
	case foldEqual(key, "LVL"):
		return fieldLevel
	case foldEqual(key, "MSG"):
		return fieldMessage
	case foldEqual(key, "STRUCTURED"):
		return fieldStructured
	case foldEqual(key, "NS"):
		return fieldNS
	}
	return fieldUnknown
}

// foldEqual reports whether key matches upper (an upper-case ASCII name)
// the way encoding/json matches keys to field names when not exactly
// equal: every rune folded to the smallest rune of its Unicode simple
// folding orbit (so "ſ" U+017F matches "S", "K" U+212A matches "K").
func foldEqual(key []byte, upper string) bool {
	j := 0
	for i := 0; i < len(key); j++ {
		if j >= len(upper) {
			return false
		}
		if c := key[i]; c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			if c != upper[j] {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(key[i:])
		if smallestFold(r) != rune(upper[j]) {
			return false
		}
		i += n
	}
	return j == len(upper)
}

// smallestFold is the smallest rune of r's simple case folding orbit.
func smallestFold(r rune) rune {
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		least = min(least, f)
	}
	return least
}

// int64 decodes an integer (or null: no change) into out; like
// encoding/json it refuses fractions and exponents.
func (d *batchDecoder) int64(out *int64) error {
	if d.i >= len(d.b) {
		return d.eof()
	}
	c := d.b[d.i]
	if c == 'n' {
		return d.literal("null")
	}
	if c != '-' && (c < '0' || c > '9') {
		return d.errorf("want an integer, found %s", d.found())
	}
	start := d.i
	isInt, err := d.number()
	if err != nil {
		return err
	}
	if !isInt {
		at := d.i
		d.i = start
		err := d.errorf("%s is not an integer", d.b[start:at])
		d.i = at
		return err
	}
	digits := d.b[start:d.i]
	neg := digits[0] == '-'
	if neg {
		digits = digits[1:]
	}
	limit := uint64(1<<63 - 1)
	if neg {
		limit++
	}
	var n uint64
	for _, c := range digits {
		v := uint64(c - '0')
		if n > (limit-v)/10 {
			at := d.i
			d.i = start
			err := d.errorf("%s overflows an int64", d.b[start:at])
			d.i = at
			return err
		}
		n = n*10 + v
	}
	if neg {
		*out = -int64(n-1) - 1 // n may be 1<<63
	} else {
		*out = int64(n)
	}
	return nil
}

// number consumes a JSON number, reporting whether it is an integer (no
// fraction, no exponent).
func (d *batchDecoder) number() (isInt bool, err error) {
	b := d.b
	if d.i < len(b) && b[d.i] == '-' {
		d.i++
	}
	if d.i >= len(b) {
		return false, d.eof()
	}
	switch c := b[d.i]; {
	case c == '0':
		d.i++
	case '1' <= c && c <= '9':
		for d.i < len(b) && '0' <= b[d.i] && b[d.i] <= '9' {
			d.i++
		}
	default:
		return false, d.errorf("invalid character %q in a number", c)
	}
	isInt = true
	if d.i < len(b) && b[d.i] == '.' {
		isInt = false
		d.i++
		if err := d.digits(); err != nil {
			return false, err
		}
	}
	if d.i < len(b) && (b[d.i] == 'e' || b[d.i] == 'E') {
		isInt = false
		d.i++
		if d.i < len(b) && (b[d.i] == '+' || b[d.i] == '-') {
			d.i++
		}
		if err := d.digits(); err != nil {
			return false, err
		}
	}
	return isInt, nil
}

// digits consumes one or more decimal digits.
func (d *batchDecoder) digits() error {
	if d.i >= len(d.b) {
		return d.eof()
	}
	if c := d.b[d.i]; c < '0' || c > '9' {
		return d.errorf("invalid character %q in a number, want a digit", c)
	}
	for d.i < len(d.b) && '0' <= d.b[d.i] && d.b[d.i] <= '9' {
		d.i++
	}
	return nil
}

// bool decodes true, false or null (no change).
func (d *batchDecoder) bool(out *bool) error {
	if d.i >= len(d.b) {
		return d.eof()
	}
	switch d.b[d.i] {
	case 't':
		if err := d.literal("true"); err != nil {
			return err
		}
		*out = true
	case 'f':
		if err := d.literal("false"); err != nil {
			return err
		}
		*out = false
	case 'n':
		return d.literal("null")
	default:
		return d.errorf("want true or false, found %s", d.found())
	}
	return nil
}

// time decodes "dt" as encoding/json does: time.Time.UnmarshalJSON of
// the raw JSON text (escapes are not interpreted; null: no change).
func (d *batchDecoder) time(out *time.Time) error {
	if null, err := d.nullOrString("an RFC 3339 time string"); null || err != nil {
		return err
	}
	start := d.i
	if err := d.skipString(); err != nil {
		return err
	}
	if err := out.UnmarshalJSON(d.b[start:d.i]); err != nil {
		at := d.i
		d.i = start
		err = d.errorf("%w", err)
		d.i = at
		return err
	}
	return nil
}

// separator consumes what follows an object's member or an array's
// element: a ',' (more follow) or close (done). after names what came
// before, for the error.
func (d *batchDecoder) separator(close byte, after string) (done bool, err error) {
	d.ws()
	if d.i >= len(d.b) {
		return false, d.eof()
	}
	switch d.b[d.i] {
	case ',':
		d.i++
		d.ws()
		return false, nil
	case close:
		d.i++
		return true, nil
	}
	return false, d.errorf("invalid character %q after %s", d.b[d.i], after)
}

// nullOrString consumes a null (null is true) or checks that a string
// comes next; want names the value expected, for the error.
func (d *batchDecoder) nullOrString(want string) (null bool, err error) {
	if d.i >= len(d.b) {
		return false, d.eof()
	}
	switch d.b[d.i] {
	case 'n':
		return true, d.literal("null")
	case '"':
		return false, nil
	}
	return false, d.errorf("want %s, found %s", want, d.found())
}

// stringField decodes a string or null (no change).
func (d *batchDecoder) stringField(out *string) error {
	if null, err := d.nullOrString("a string"); null || err != nil {
		return err
	}
	s, err := d.str()
	if err != nil {
		return err
	}
	*out = string(s)
	return nil
}

// level decodes "lvl" like stringField, without allocating for LAVA's
// levels.
func (d *batchDecoder) level(out *string) error {
	if null, err := d.nullOrString("a string"); null || err != nil {
		return err
	}
	s, err := d.str()
	if err != nil {
		return err
	}
	switch string(s) {
	case model.LevelTarget:
		*out = model.LevelTarget
	case model.LevelDebug:
		*out = model.LevelDebug
	case model.LevelInfo:
		*out = model.LevelInfo
	case model.LevelWarning:
		*out = model.LevelWarning
	case model.LevelError:
		*out = model.LevelError
	case model.LevelException:
		*out = model.LevelException
	case model.LevelInput:
		*out = model.LevelInput
	case model.LevelFeedback:
		*out = model.LevelFeedback
	case model.LevelEvent:
		*out = model.LevelEvent
	case model.LevelResults:
		*out = model.LevelResults
	default:
		*out = string(s)
	}
	return nil
}

// key reads an object key at d.i ('"'). The bytes are valid until the
// next key or string is read.
func (d *batchDecoder) key() ([]byte, error) {
	return d.str()
}

// str reads the JSON string at d.i ('"') and returns its value: a slice
// of the input when it has no escape and is valid UTF-8, else of d.buf
// (escapes decoded, invalid UTF-8 and lone surrogates as U+FFFD, as
// encoding/json does). The bytes are valid until the next call.
func (d *batchDecoder) str() ([]byte, error) {
	b := d.b
	start := d.i + 1
	i := start
	// Fast path: printable ASCII without escapes.
	for i < len(b) {
		c := b[i]
		if c == '"' {
			d.i = i + 1
			return b[start:i], nil
		}
		if c < ' ' {
			d.i = i
			return nil, d.errorf("invalid control character %q in a string", c)
		}
		if c == '\\' || c >= utf8.RuneSelf {
			break
		}
		i++
	}
	building := false
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			d.i = i + 1
			if building {
				return d.buf, nil
			}
			return b[start:i], nil
		case c < ' ':
			d.i = i
			return nil, d.errorf("invalid control character %q in a string", c)
		case c == '\\':
			if !building {
				d.buf = append(d.buf[:0], b[start:i]...)
				building = true
			}
			n, err := d.escape(i)
			if err != nil {
				return nil, err
			}
			i += n
		case c < utf8.RuneSelf:
			if building {
				d.buf = append(d.buf, c)
			}
			i++
		default:
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n == 1 {
				if !building {
					d.buf = append(d.buf[:0], b[start:i]...)
					building = true
				}
				d.buf = utf8.AppendRune(d.buf, utf8.RuneError)
			} else if building {
				d.buf = append(d.buf, b[i:i+n]...)
			}
			i += n
		}
	}
	d.i = i
	return nil, d.eof()
}

// escape decodes the escape sequence at b[i] ('\\') onto d.buf and
// returns its length in the input.
func (d *batchDecoder) escape(i int) (int, error) {
	b := d.b
	if i+1 >= len(b) {
		d.i = len(b)
		return 0, d.eof()
	}
	var c byte
	switch b[i+1] {
	case '"', '\\', '/':
		c = b[i+1]
	case 'b':
		c = '\b'
	case 'f':
		c = '\f'
	case 'n':
		c = '\n'
	case 'r':
		c = '\r'
	case 't':
		c = '\t'
	case 'u':
		r, err := d.hex4(i)
		if err != nil {
			return 0, err
		}
		if !utf16.IsSurrogate(r) {
			d.buf = utf8.AppendRune(d.buf, r)
			return 6, nil
		}
		// A surrogate: a pair when a \u low surrogate follows, else
		// U+FFFD (the next escape is decoded, or refused, on its own).
		if i+7 < len(b) && b[i+6] == '\\' && b[i+7] == 'u' {
			if r2, err := d.hex4(i + 6); err == nil {
				if pr := utf16.DecodeRune(r, r2); pr != utf8.RuneError {
					d.buf = utf8.AppendRune(d.buf, pr)
					return 12, nil
				}
			}
		}
		d.buf = utf8.AppendRune(d.buf, utf8.RuneError)
		return 6, nil
	default:
		d.i = i + 1
		return 0, d.errorf("invalid escape character %q in a string", b[i+1])
	}
	d.buf = append(d.buf, c)
	return 2, nil
}

// hex4 reads the four hex digits of the \u escape at b[i].
func (d *batchDecoder) hex4(i int) (rune, error) {
	var r rune
	for k := i + 2; k < i+6; k++ {
		if k >= len(d.b) {
			d.i = len(d.b)
			return 0, d.eof()
		}
		c := d.b[k]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			d.i = k
			return 0, d.errorf("invalid character %q in a \\u escape", c)
		}
		r = r<<4 | rune(c)
	}
	return r, nil
}

// skipString consumes the JSON string at d.i ('"'), checking it.
func (d *batchDecoder) skipString() error {
	b := d.b
	i := d.i + 1
	for i < len(b) {
		switch c := b[i]; {
		case c == '"':
			d.i = i + 1
			return nil
		case c < ' ':
			d.i = i
			return d.errorf("invalid control character %q in a string", c)
		case c == '\\':
			if i+1 >= len(b) {
				d.i = len(b)
				return d.eof()
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if _, err := d.hex4(i); err != nil {
					return err
				}
				i += 6
			default:
				d.i = i + 1
				return d.errorf("invalid escape character %q in a string", b[i+1])
			}
		default:
			i++
		}
	}
	d.i = i
	return d.eof()
}

// skip consumes any JSON value at d.i (an unknown key's), checking its
// syntax; depth is the nesting of the value.
func (d *batchDecoder) skip(depth int) error {
	if d.i >= len(d.b) {
		return d.eof()
	}
	switch c := d.b[d.i]; {
	case c == '"':
		return d.skipString()
	case c == '{':
		if depth >= maxFastDepth {
			return errSlowPath
		}
		return d.object(func([]byte) error { return d.skip(depth + 1) })
	case c == '[':
		if depth >= maxFastDepth {
			return errSlowPath
		}
		return d.skipArray(depth)
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '-' || ('0' <= c && c <= '9'):
		_, err := d.number()
		return err
	default:
		return d.errorf("invalid character %q looking for the beginning of a value", c)
	}
}

// skipArray consumes the array at d.i ('[').
func (d *batchDecoder) skipArray(depth int) error {
	d.i++
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == ']' {
		d.i++
		return nil
	}
	for {
		if err := d.skip(depth + 1); err != nil {
			return err
		}
		if done, err := d.separator(']', "an array element"); done || err != nil {
			return err
		}
	}
}
