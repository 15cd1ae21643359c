package worker

import (
	"bytes"
	"encoding/json"
	"github.com/lavalab/lavalab/core/workerproto"
	"testing"
	"time"
)

// checkRecordJSON: what appendRecord writes decodes to what encoding/json's
// own encoding of r decodes to, and is valid JSON.
func checkRecordJSON(t *testing.T, r workerproto.Record) {
	t.Helper()
	ours := appendRecord(nil, r)
	if !json.Valid(ours) {
		t.Fatalf("invalid JSON %q", ours)
	}
	theirs, err := json.Marshal(r)
	if err != nil {
		t.Skip("encoding/json refuses the record:", err)
	}
	var a, b workerproto.Record
	if err := json.Unmarshal(ours, &a); err != nil {
		t.Fatalf("decoding %q: %v", ours, err)
	}
	if err := json.Unmarshal(theirs, &b); err != nil {
		t.Fatal(err)
	}
	if !a.Time.Equal(b.Time) || a.Level != b.Level || a.Message != b.Message || a.Structured != b.Structured || a.NS != b.NS {
		t.Fatalf("ours %q decodes to %+v, encoding/json's %q to %+v", ours, a, theirs, b)
	}
}

func TestAppendRecord(t *testing.T) {
	at := time.Date(2026, 12, 2, 10, 0, 0, 123456789, time.UTC)
	for _, r := range []workerproto.Record{
		{Time: at, Level: "target", Message: "line 1 xxxxxxxx"},
		{Time: at.In(time.FixedZone("X", 3600)), Level: "results", Message: `{"case":"a","result":"pass"}`, Structured: true},
		{Time: at, Level: "feedback", Message: "from the other side", NS: "ns-1"},
		{Time: at, Level: "info", Message: "quote \" backslash \\ newline \n tab \t cr \r nul \x00 bell \x07 del \x7f"},
		{Time: at, Level: "info", Message: "invalid \xff\xfe utf-8, cut \xe2\x82, html <a href='x'>&amp;</a>"},
		{Time: at, Level: "info", Message: "unicode é ü 日本 🙂, separators \u2028 \u2029"},
		{Time: time.Time{}, Level: "", Message: ""},
	} {
		checkRecordJSON(t, r)
	}
	got := string(appendLogBatch(nil, 7, []workerproto.Record{{Time: at, Level: "info", Message: "a"}, {Time: at, Level: "info", Message: "b"}}))
	want := `{"first":7,"records":[{"dt":"2026-12-02T10:00:00.123456789Z","lvl":"info","msg":"a"},{"dt":"2026-12-02T10:00:00.123456789Z","lvl":"info","msg":"b"}]}`
	if got != want {
		t.Fatalf("batch\n got %s\nwant %s", got, want)
	}
	var batch workerproto.LogBatch
	if err := json.Unmarshal(appendLogBatch(nil, 3, nil), &batch); err != nil || batch.First != 3 || len(batch.Records) != 0 {
		t.Fatalf("empty batch: %+v, %v", batch, err)
	}
}

func FuzzAppendRecord(f *testing.F) {
	f.Add(int64(1764669600123456789), "target", "line 1", false, "")
	f.Add(int64(0), "results", "{\"a\":\"\\u2028\"}", true, "ns")
	f.Add(int64(-5), "x\xff", "\x00\x1f\"\\<>&\u2029\xed\xa0\x80", false, "é")
	f.Fuzz(func(t *testing.T, nanos int64, lvl, msg string, structured bool, ns string) {
		checkRecordJSON(t, workerproto.Record{Time: time.Unix(0, nanos).UTC(), Level: lvl, Message: msg, Structured: structured, NS: ns})
	})
}

func BenchmarkAppendRecord(b *testing.B) {
	r := workerproto.Record{Time: time.Now().UTC(), Level: "target", Message: "line 12345 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}
	b.Run("hand", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf = appendRecord(buf[:0], r)
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			_, _ = json.Marshal(r)
		}
	})
}

// decodeRecords decodes e's lines, checking there are e.n of them.
func decodeRecords(t *testing.T, e encodedRecords) []workerproto.Record {
	t.Helper()
	var out []workerproto.Record
	for line := range bytes.Lines(e.b) {
		var r workerproto.Record
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatalf("record %d %q: %v", len(out), line, err)
		}
		out = append(out, r)
	}
	if len(out) != e.n {
		t.Fatalf("%d lines for %d records", len(out), e.n)
	}
	return out
}

// TestEncodedBatch: a batch sent from the spool's encoding is, byte for
// byte, the batch encoding/json makes of the records (so the server cannot
// tell them apart), for none, one and several records, messages with
// escapes included.
func TestEncodedBatch(t *testing.T) {
	at := time.Date(2026, 12, 6, 10, 0, 0, 5, time.UTC)
	all := []workerproto.Record{
		{Time: at, Level: "target", Message: "a"},
		{Time: at, Level: "info", Message: "new\nline, \"quoted\", comma"},
		{Time: at, Level: "results", Message: `{"case":"x","result":"pass"}`, Structured: true, NS: "n"},
	}
	for n := range len(all) + 1 {
		std, err := json.Marshal(workerproto.LogBatch{First: 40, Records: append([]workerproto.Record{}, all[:n]...)})
		if err != nil {
			t.Fatal(err)
		}
		want := string(std)
		got := string(appendBatchFields([]byte{'{'}, 40, encodeRecords(all[:n])))
		if got != want {
			t.Fatalf("%d records:\n got %s\nwant %s", n, got, want)
		}
	}
}

// TestLinesEnd: the offset after n lines, and the whole slice when it has
// fewer.
func TestLinesEnd(t *testing.T) {
	b := []byte("a\nbb\nccc\n")
	for n, want := range []int{0, 2, 5, 9, 9} {
		if got := linesEnd(b, n); got != want {
			t.Errorf("linesEnd(%d) = %d, want %d", n, got, want)
		}
	}
}
