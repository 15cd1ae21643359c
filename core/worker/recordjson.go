package worker

import (
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
	return appendBatchFields(append(b, '{'), first, recs)
}

// appendBatchFields appends a log batch's first and records and closes
// its object (the caller wrote the opening brace and any fields before).
func appendBatchFields(b []byte, first int64, recs []workerproto.Record) []byte {
	b = append(b, `"first":`...)
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
