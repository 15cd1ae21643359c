package worker

import (
	"bytes"
	"github.com/lavalab/lavalab/core/workerproto"
	"strconv"
	"time"

	"github.com/lavalab/lavalab/core/jsontext"
)

// The worker encodes every log record twice (a line of the spool, then in
// a batch), at the console's rate for every job it runs: by hand, not by
// reflection. The output is what encoding/json makes of a Record, except
// that <, > and & are not escaped (nothing here is HTML).

// appendRecord appends r as one JSON object.
func appendRecord(b []byte, r workerproto.Record) []byte {
	b = append(b, `{"dt":"`...)
	b = r.Time.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","lvl":`...)
	b = jsontext.AppendString(b, r.Level)
	b = append(b, `,"msg":`...)
	b = jsontext.AppendString(b, r.Message)
	if r.Structured {
		b = append(b, `,"structured":true`...)
	}
	if r.NS != "" {
		b = append(b, `,"ns":`...)
		b = jsontext.AppendString(b, r.NS)
	}
	return append(b, '}')
}

// appendLogBatch appends the body of a log batch.
func appendLogBatch(b []byte, first int64, recs []workerproto.Record) []byte {
	return appendBatchFields(append(b, '{'), first, encodeRecords(recs))
}

// encodedRecords are n records in the spool's encoding: a JSON object a
// line, each line ending in '\n' (the spool file's lines, byte for byte).
// A batch is sent from them without encoding its records again: the
// worker would otherwise encode every record twice at the console's rate
// of every job it runs, and keep the records as Go values (pointers the
// garbage collector scans) until the server has them.
type encodedRecords struct {
	n int
	b []byte
}

// encodeRecords encodes recs as the spool does.
func encodeRecords(recs []workerproto.Record) encodedRecords {
	var e encodedRecords
	for _, r := range recs {
		e.b = appendRecordLine(e.b, r)
		e.n++
	}
	return e
}

// appendRecordLine appends r as one line of the spool: its JSON object and
// a '\n'.
func appendRecordLine(b []byte, r workerproto.Record) []byte {
	return append(appendRecord(b, r), '\n')
}

// appendItems appends the records as the items of a JSON array (the
// brackets are the caller's).
func (e encodedRecords) appendItems(b []byte) []byte {
	if e.n == 0 {
		return b
	}
	start := len(b)
	b = append(b, e.b...)
	items := b[start:]
	for {
		i := bytes.IndexByte(items, '\n')
		if i < 0 {
			break
		}
		items[i] = ','
		items = items[i+1:]
	}
	// The last record's line end became a comma: drop it.
	if b[len(b)-1] == ',' {
		b = b[:len(b)-1]
	}
	return b
}

// appendBatchFields appends a log batch's first and records and closes
// its object (the caller wrote the opening brace and any fields before).
func appendBatchFields(b []byte, first int64, recs encodedRecords) []byte {
	b = append(b, `"first":`...)
	b = strconv.AppendInt(b, first, 10)
	b = append(b, `,"records":[`...)
	b = recs.appendItems(b)
	return append(b, "]}"...)
}
