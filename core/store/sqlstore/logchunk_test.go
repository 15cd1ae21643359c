package sqlstore

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
)

// validText is what a store keeps of s: each byte of invalid UTF-8 becomes
// U+FFFD.
func validText(s string) string { return string([]rune(s)) }

func TestLogChunkRoundTrip(t *testing.T) {
	base := time.Date(2024, 5, 1, 12, 0, 0, 123456000, time.UTC)
	for _, tc := range []struct {
		name string
		msg  string
		want string // "" means msg
	}{
		{"empty", "", ""},
		{"ascii", "plain text", ""},
		{"quotes", `"a" 'b'`, ""},
		{"backslashes", `\ \\ \n \u0041 \"`, ""},
		{"newlines", "a\nb\r\nc\td", ""},
		{"controls", "\x00\x01\x07\x08\x0b\x0c\x1b[0m\x1f\x7f", ""},
		{"unicode", "héllo 日本語 🚀 \u2028\u2029 \ufffd", ""},
		{"json", `{"case":"x","nested":[1,"\""]}`, ""},
		{"invalid utf-8", "a\xffb\xc3(c\xed\xa0\x80d\xe2\x82", "a\ufffdb\ufffd(c\ufffd\ufffd\ufffdd\ufffd\ufffd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if want == "" {
				want = tc.msg
			}
			recs := []model.LogRecord{
				{Time: base, Level: "target", Message: tc.msg},
				{Time: base.Add(time.Second), Level: tc.msg, Message: tc.msg, Structured: true, NS: tc.msg},
				{Level: "info", Message: tc.msg, NS: "ns"},
			}
			data := appendLogChunk(nil, recs)
			if !json.Valid(data) {
				t.Fatalf("not JSON: %q", data)
			}
			got, err := decodeLogChunk(nil, data, 10, 13, 0, 100)
			if err != nil {
				t.Fatalf("decoding %q: %v", data, err)
			}
			for i := range recs {
				recs[i].Index = int64(10 + i)
				if recs[i].Message == tc.msg {
					recs[i].Message = want
				}
				if recs[i].Level == tc.msg {
					recs[i].Level = want
				}
				if recs[i].NS == tc.msg {
					recs[i].NS = want
				}
			}
			if !reflect.DeepEqual(got, recs) {
				t.Errorf("round trip of %q:\n got %#v\nwant %#v", data, got, recs)
			}
			// From the middle, with a limit.
			got, err = decodeLogChunk(nil, data, 10, 13, 11, 1)
			if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], recs[1]) {
				t.Errorf("from 11, limit 1: %#v, %v", got, err)
			}
		})
	}
}

// Chunks as the migrations write them: SQLite's json_group_array and
// PostgreSQL's json_agg (spaces, booleans, escapes of their own).
func TestLogChunkDecodeForeign(t *testing.T) {
	for _, tc := range []struct {
		data string
		want []model.LogRecord
	}{
		{`[]`, nil},
		{`[[1714564800000000,"target","a\u0001\/b\b\f",0,""]]`,
			[]model.LogRecord{{Index: 5, Time: time.UnixMicro(1714564800000000).UTC(), Level: "target", Message: "a\x01/b\b\f"}}},
		{"[[0, \"results\", \"{\\\"a\\\":1}\", true, \"ns\"], \n [0, \"x\", \"\\ud83d\\ude80 \\uD800 \\udc00x\", false, \"\"]]",
			[]model.LogRecord{{Index: 5, Level: "results", Message: `{"a":1}`, Structured: true, NS: "ns"},
				{Index: 6, Level: "x", Message: "🚀 \ufffd \ufffdx"}}},
		{"[[-1,\"l\",\"raw \xff bytes\",1,\"\"]]",
			[]model.LogRecord{{Index: 5, Time: time.UnixMicro(-1).UTC(), Level: "l", Message: "raw \xff bytes", Structured: true}}},
	} {
		got, err := decodeLogChunk(nil, []byte(tc.data), 5, 5+int64(len(tc.want)), 0, 100)
		if err != nil {
			t.Errorf("%q: %v", tc.data, err)
			continue
		}
		if len(got) != len(tc.want) || (len(got) > 0 && !reflect.DeepEqual(got, tc.want)) {
			t.Errorf("%q:\n got %#v\nwant %#v", tc.data, got, tc.want)
		}
	}
}

func TestLogChunkMalformed(t *testing.T) {
	good := `[[1,"a","b",0,""],[2,"a","b",1,""]]`
	if _, err := decodeLogChunk(nil, []byte(good), 0, 2, 0, 10); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ data, err string }{
		{``, "want '['"},
		{`[`, "record 0: offset 1: want '['"},
		{`[[1,"a","b",0,""]`, "unterminated"},
		{`[[1,"a","b",0,""]] x`, "data after"},
		{`[[1.5,"a","b",0,""]]`, "want ','"},
		{`[["1","a","b",0,""]]`, "integer"},
		{`[[99999999999999999999,"a","b",0,""]]`, "integer"},
		{`[[1,a,"b",0,""]]`, "want a string"},
		{`[[1,"a","b",2,""]]`, "want 0, 1"},
		{`[[1,"a","b",0]]`, "want ','"},
		{`[[1,"a","b",0,"",5]]`, "want ']'"},
		{`[[1,"a","b\q",0,""]]`, `bad escape \q`},
		{`[[1,"a","b\u12",0,""]]`, `bad \u escape`},
		{`[[1,"a","b\`, "unterminated string"},
		{`[[1,"a","b`, "unterminated string"},
		{`[[1,"a","b",0,""],[2,"a","b",1,""],[3,"a","b",1,""]]`, "3 records, want 2"},
		{`[[1,"a","b",0,""]]`, "1 records, want 2"},
	} {
		_, err := decodeLogChunk(nil, []byte(tc.data), 0, 2, 0, 10)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%q: error %v, want %q", tc.data, err, tc.err)
		}
	}
}

// FuzzLogChunk: any records survive appendLogChunk and decodeLogChunk
// (text made valid UTF-8), the encoding is JSON that encoding/json reads
// the same, and decoding any bytes fails or succeeds without panicking.
func FuzzLogChunk(f *testing.F) {
	for _, s := range []string{"", "plain", `"q" \ \\`, "a\nb\r\t\x00\x1f\x7f", "héllo 日本 🚀", "\xff\xfe\xed\xa0\x80", `[[1,"a","b",0,""]]`,
		"\\ud800", `{"a":"\u0000"}`} {
		f.Add(s, "target", "ns", int64(1714564800000000), true)
	}
	f.Add("x", "", "", int64(-1), false)
	f.Add("y", "lvl", "", int64(0), false)
	f.Fuzz(func(t *testing.T, msg, lvl, ns string, dt int64, structured bool) {
		var tm time.Time
		if dt != 0 {
			tm = time.UnixMicro(dt).UTC()
		}
		recs := []model.LogRecord{
			{Time: tm, Level: lvl, Message: msg, Structured: structured, NS: ns},
			{Level: ns, Message: lvl + msg, NS: msg},
		}
		data := appendLogChunk(nil, recs)
		got, err := decodeLogChunk(nil, data, 7, 9, 0, 10)
		if err != nil {
			t.Fatalf("decoding %q: %v", data, err)
		}
		for i := range recs {
			recs[i].Index = int64(7 + i)
			recs[i].Level, recs[i].Message, recs[i].NS = validText(recs[i].Level), validText(recs[i].Message), validText(recs[i].NS)
		}
		if !reflect.DeepEqual(got, recs) {
			t.Fatalf("round trip of %q:\n got %#v\nwant %#v", data, got, recs)
		}
		var std [][]any
		if err := json.Unmarshal(data, &std); err != nil {
			t.Fatalf("encoding/json refuses %q: %v", data, err)
		}
		if len(std) != 2 || std[0][1] != recs[0].Level || std[0][2] != recs[0].Message || std[0][4] != recs[0].NS ||
			std[1][2] != recs[1].Message {
			t.Fatalf("encoding/json reads %q as %#v", data, std)
		}
		// Arbitrary bytes: an error or records, never a panic.
		_, _ = decodeLogChunk(nil, []byte(msg), 0, 3, 1, 2)
	})
}
