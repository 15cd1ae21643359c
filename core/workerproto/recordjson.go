package workerproto

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// The worker encodes every log record twice (a line of the spool, then in
// a batch), at the console's rate for every job it runs: by hand, not by
// reflection. The output is what encoding/json makes of a Record, except
// that <, > and & are not escaped (nothing here is HTML).

// appendRecord appends r as one JSON object.
func appendRecord(b []byte, r Record) []byte {
	b = append(b, `{"dt":"`...)
	b = r.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","lvl":`...)
	b = appendJSONString(b, r.Level)
	b = append(b, `,"msg":`...)
	b = appendJSONString(b, r.Message)
	if r.Structured {
		b = append(b, `,"structured":true`...)
	}
	if r.NS != "" {
		b = append(b, `,"ns":`...)
		b = appendJSONString(b, r.NS)
	}
	return append(b, '}')
}

// appendLogBatch appends the body of a log batch.
func appendLogBatch(b []byte, first int64, recs []Record) []byte {
	b = append(b, `{"first":`...)
	b = strconv.AppendInt(b, first, 10)
	b = append(b, `,"records":[`...)
	for i, r := range recs {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendRecord(b, r)
	}
	return append(b, "]}"...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string: quotes, backslashes and
// control characters escaped, invalid UTF-8 replaced by U+FFFD, U+2028
// and U+2029 escaped (as encoding/json does).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
