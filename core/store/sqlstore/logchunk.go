package sqlstore

import (
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/lavalab/lavalab/core/jsontext"
	"github.com/lavalab/lavalab/core/model"
)

// A job's log is stored as chunks, one row of log_chunks per appended
// batch (a bigger batch is split): records first_idx to end_idx-1, in data,
// a JSON array with one array per record:
//
//	[dt_micros, "level", "message", structured, "ns"]
//
// structured is written 0 or 1; 0, 1, false and true are read (migration
// 0007 made PostgreSQL's chunks with booleans).

// maxChunkRecords bounds the records of one chunk. ReadLogs relies on it to
// bound its index range, so it may grow but never shrink while chunks
// written under a bigger bound remain.
const maxChunkRecords = 512

// appendLogChunk appends the chunk data of recs to b.
func appendLogChunk(b []byte, recs []model.LogRecord) []byte {
	b = append(b, '[')
	for i := range recs {
		r := &recs[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, micros(r.Time), 10)
		b = append(b, ',')
		b = jsontext.AppendString(b, r.Level)
		b = append(b, ',')
		b = jsontext.AppendString(b, r.Message)
		if r.Structured {
			b = append(b, ",1,"...)
		} else {
			b = append(b, ",0,"...)
		}
		b = jsontext.AppendString(b, r.NS)
		b = append(b, ']')
	}
	return append(b, ']')
}

// decodeLogChunk appends to out the records of a chunk holding records
// first to end-1, from index from on, until out holds max records. A chunk
// that is not what appendLogChunk or migration 0007 write, or whose record
// count is not end-first, is an error.
func decodeLogChunk(out []model.LogRecord, data []byte, first, end, from int64, max int) ([]model.LogRecord, error) {
	p := chunkParser{data: data}
	if err := p.expect('['); err != nil {
		return out, err
	}
	idx := first
	if p.skipSpace() && p.data[p.pos] == ']' {
		p.pos++
	} else {
		for {
			if len(out) >= max {
				return out, nil
			}
			keep := idx >= from
			rec, err := p.record(keep)
			if err != nil {
				return out, fmt.Errorf("record %d: %w", idx-first, err)
			}
			if keep {
				rec.Index = idx
				out = append(out, rec)
			}
			idx++
			if !p.skipSpace() {
				return out, p.errorf("unterminated chunk")
			}
			if p.data[p.pos] == ']' {
				p.pos++
				break
			}
			if err := p.expect(','); err != nil {
				return out, err
			}
		}
	}
	if p.skipSpace() {
		return out, p.errorf("data after the chunk")
	}
	if idx != end {
		return out, fmt.Errorf("%d records, want %d", idx-first, end-first)
	}
	return out, nil
}

// chunkParser reads chunk data.
type chunkParser struct {
	data []byte
	pos  int
	buf  []byte // an unescaped string
}

func (p *chunkParser) errorf(format string, a ...any) error {
	return fmt.Errorf("offset %d: %s", p.pos, fmt.Sprintf(format, a...))
}

// skipSpace skips JSON white space and reports whether data is left.
func (p *chunkParser) skipSpace() bool {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return true
		}
	}
	return false
}

func (p *chunkParser) expect(c byte) error {
	if !p.skipSpace() || p.data[p.pos] != c {
		return p.errorf("want %q", c)
	}
	p.pos++
	return nil
}

// record reads one record; with keep false its strings are not made.
func (p *chunkParser) record(keep bool) (model.LogRecord, error) {
	var r model.LogRecord
	if err := p.expect('['); err != nil {
		return r, err
	}
	dt, err := p.int()
	if err != nil {
		return r, err
	}
	if err := p.expect(','); err != nil {
		return r, err
	}
	if r.Level, err = p.str(keep); err != nil {
		return r, err
	}
	if err := p.expect(','); err != nil {
		return r, err
	}
	if r.Message, err = p.str(keep); err != nil {
		return r, err
	}
	if err := p.expect(','); err != nil {
		return r, err
	}
	if r.Structured, err = p.bool(); err != nil {
		return r, err
	}
	if err := p.expect(','); err != nil {
		return r, err
	}
	if r.NS, err = p.str(keep); err != nil {
		return r, err
	}
	if err := p.expect(']'); err != nil {
		return r, err
	}
	r.Time = fromMicros(dt)
	return r, nil
}

// int reads an integer.
func (p *chunkParser) int() (int64, error) {
	if !p.skipSpace() {
		return 0, p.errorf("want an integer")
	}
	start := p.pos
	if p.data[p.pos] == '-' {
		p.pos++
	}
	for p.pos < len(p.data) && p.data[p.pos] >= '0' && p.data[p.pos] <= '9' {
		p.pos++
	}
	v, err := strconv.ParseInt(string(p.data[start:p.pos]), 10, 64)
	if err != nil {
		p.pos = start
		return 0, p.errorf("want an integer")
	}
	return v, nil
}

// bool reads 0, 1, false or true.
func (p *chunkParser) bool() (bool, error) {
	if !p.skipSpace() {
		return false, p.errorf("want 0, 1, false or true")
	}
	for _, w := range [...]struct {
		text string
		v    bool
	}{{"0", false}, {"1", true}, {"false", false}, {"true", true}} {
		if n := len(w.text); len(p.data)-p.pos >= n && string(p.data[p.pos:p.pos+n]) == w.text {
			p.pos += n
			return w.v, nil
		}
	}
	return false, p.errorf("want 0, 1, false or true")
}

// str reads a JSON string; with keep false it checks it but returns "".
// Bytes other than '"' and '\' are copied as they are (a chunk converted
// from an old row keeps its bytes).
func (p *chunkParser) str(keep bool) (string, error) {
	if !p.skipSpace() || p.data[p.pos] != '"' {
		return "", p.errorf("want a string")
	}
	p.pos++
	start := p.pos
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case '"':
			s := ""
			if keep {
				s = string(p.data[start:p.pos])
			}
			p.pos++
			return s, nil
		case '\\':
			return p.escaped(start, keep)
		}
		p.pos++
	}
	return "", p.errorf("unterminated string")
}

// escaped finishes reading a string with escapes, begun at start.
func (p *chunkParser) escaped(start int, keep bool) (string, error) {
	b := append(p.buf[:0], p.data[start:p.pos]...)
	defer func() { p.buf = b[:0] }()
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		switch c {
		case '"':
			p.pos++
			if !keep {
				return "", nil
			}
			return string(b), nil
		case '\\':
		default:
			b = append(b, c)
			p.pos++
			continue
		}
		if p.pos+1 >= len(p.data) {
			break
		}
		e := p.data[p.pos+1]
		p.pos += 2
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
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
			r, ok := p.hex4()
			if !ok {
				return "", p.errorf("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				if save := p.pos; p.pos+1 < len(p.data) && p.data[p.pos] == '\\' && p.data[p.pos+1] == 'u' {
					p.pos += 2
					if lo, ok := p.hex4(); ok {
						r2 = utf16.DecodeRune(r, lo)
					}
					if r2 == utf8.RuneError {
						p.pos = save // not a pair: the next escape stands alone
					}
				}
				r = r2
			}
			b = utf8.AppendRune(b, r)
		default:
			p.pos -= 2
			return "", p.errorf("bad escape \\%c", e)
		}
	}
	return "", p.errorf("unterminated string")
}

// hex4 reads the four hex digits of a \u escape.
func (p *chunkParser) hex4() (rune, bool) {
	if len(p.data)-p.pos < 4 {
		return 0, false
	}
	var r rune
	for _, c := range p.data[p.pos : p.pos+4] {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	p.pos += 4
	return r, true
}
