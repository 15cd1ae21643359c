package workerserver

import (
	"encoding/json"
	"fmt"
	"github.com/lavalab/lavalab/core/workerproto"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode"
)

// sameBatch reports how a and b differ ("" if they do not): reflect.DeepEqual
// with times compared by Equal (and their zone offsets).
func sameBatch(a, b workerproto.LogBatch) string {
	if a.First != b.First {
		return fmt.Sprintf("first %d != %d", a.First, b.First)
	}
	if (a.Records == nil) != (b.Records == nil) || len(a.Records) != len(b.Records) {
		return fmt.Sprintf("records %#v != %#v", a.Records, b.Records)
	}
	for i := range a.Records {
		ra, rb := a.Records[i], b.Records[i]
		if !ra.Time.Equal(rb.Time) {
			return fmt.Sprintf("records[%d].dt %v != %v", i, ra.Time, rb.Time)
		}
		_, oa := ra.Time.Zone()
		_, ob := rb.Time.Zone()
		if oa != ob {
			return fmt.Sprintf("records[%d].dt offset %d != %d", i, oa, ob)
		}
		ra.Time, rb.Time = time.Time{}, time.Time{}
		if !reflect.DeepEqual(ra, rb) {
			return fmt.Sprintf("records[%d] %#v != %#v", i, ra, rb)
		}
	}
	return ""
}

const dt1 = `"2024-05-06T07:08:09.123456789Z"`

var t1 = time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)

type batchCase struct {
	name string
	in   string
	// err: the input is refused.
	err bool
	// slow: the fast decoder hands the input to encoding/json.
	slow bool
	// want, when set, is the expected batch (else only agreement with
	// encoding/json is checked).
	want *workerproto.LogBatch
}

var batchCases = []batchCase{
	// Valid shapes.
	{name: "common", in: `{"first":3,"records":[{"dt":` + dt1 + `,"lvl":"target","msg":"hello"},{"dt":` + dt1 + `,"lvl":"results","msg":"{\"a\":1}","structured":true,"ns":"lava-test"}]}`,
		want: &workerproto.LogBatch{First: 3, Records: []workerproto.Record{{Time: t1, Level: "target", Message: "hello"}, {Time: t1, Level: "results", Message: `{"a":1}`, Structured: true, NS: "lava-test"}}}},
	{name: "empty object", in: `{}`, want: &workerproto.LogBatch{}},
	{name: "empty records", in: `{"first":0,"records":[]}`, want: &workerproto.LogBatch{Records: []workerproto.Record{}}},
	{name: "records null", in: `{"records":null}`, want: &workerproto.LogBatch{}},
	{name: "first null", in: `{"first":null,"records":[]}`, want: &workerproto.LogBatch{Records: []workerproto.Record{}}},
	{name: "top-level null", in: `null`, want: &workerproto.LogBatch{}},
	{name: "top-level null spaced", in: " \n null \t", want: &workerproto.LogBatch{}},
	{name: "whitespace everywhere", in: " \t\r\n{ \"first\" \n: 7 ,\r\"records\"\t:[ { \"lvl\" : \"info\" , \"msg\":\"x\" } , null ] } \n",
		want: &workerproto.LogBatch{First: 7, Records: []workerproto.Record{{Level: "info", Message: "x"}, {}}}},
	{name: "keys any order", in: `{"records":[{"ns":"n","msg":"m","structured":false,"lvl":"debug","dt":` + dt1 + `}],"first":2}`,
		want: &workerproto.LogBatch{First: 2, Records: []workerproto.Record{{Time: t1, Level: "debug", Message: "m", NS: "n"}}}},
	{name: "record null element", in: `{"records":[null,{"msg":"a"}]}`, want: &workerproto.LogBatch{Records: []workerproto.Record{{}, {Message: "a"}}}},
	{name: "record field nulls", in: `{"records":[{"dt":null,"lvl":null,"msg":null,"structured":null,"ns":null}]}`, want: &workerproto.LogBatch{Records: []workerproto.Record{{}}}},
	{name: "null keeps earlier value", in: `{"first":5,"first":null,"records":[{"msg":"a","msg":null,"dt":` + dt1 + `,"dt":null,"structured":true,"structured":null}]}`,
		want: &workerproto.LogBatch{First: 5, Records: []workerproto.Record{{Message: "a", Time: t1, Structured: true}}}},
	{name: "duplicate keys last wins", in: `{"first":1,"first":2,"records":[{"msg":"a","msg":"b","lvl":"info","lvl":"error","structured":true,"structured":false}]}`,
		want: &workerproto.LogBatch{First: 2, Records: []workerproto.Record{{Message: "b", Level: "error"}}}},
	{name: "duplicate records", in: `{"records":[{"msg":"a","lvl":"info"}],"records":[{"lvl":"error"}]}`, slow: true,
		want: &workerproto.LogBatch{Records: []workerproto.Record{{Message: "a", Level: "error"}}}},
	{name: "duplicate records case-folded", in: `{"records":[{"msg":"a"}],"Records":[]}`, slow: true, want: &workerproto.LogBatch{Records: []workerproto.Record{}}},
	{name: "unknown keys", in: `{"x":1,"first":4,"y":{"a":[1,-2.5e+3,true,false,null,"s\n",{}],"b":{"c":[[]]}},"records":[{"zz":[{"q":"\u00e9"}],"msg":"m","w":-0,"v":0.5E-2}],"z":"records"}`,
		want: &workerproto.LogBatch{First: 4, Records: []workerproto.Record{{Message: "m"}}}},
	{name: "case-different keys", in: `{"First":9,"RECORDS":[{"DT":` + dt1 + `,"Lvl":"info","MSG":"m","Structured":true,"nS":"x"}]}`,
		want: &workerproto.LogBatch{First: 9, Records: []workerproto.Record{{Time: t1, Level: "info", Message: "m", Structured: true, NS: "x"}}}},
	{name: "unicode folded keys", in: "{\"record\u017f\":[{\"n\u017f\":\"x\",\"\u017ftructured\":true}],\"fir\u017ft\":1}",
		want: &workerproto.LogBatch{First: 1, Records: []workerproto.Record{{NS: "x", Structured: true}}}},
	{name: "kelvin sign is not a key", in: "{\"records\":[{\"\u212a\":\"x\"}]}", want: &workerproto.LogBatch{Records: []workerproto.Record{{}}}},
	{name: "escaped keys", in: `{"\u0066irst":1,"rec\u006frds":[{"m\u0073g":"a","\u006Cvl":"info"}]}`,
		want: &workerproto.LogBatch{First: 1, Records: []workerproto.Record{{Message: "a", Level: "info"}}}},
	{name: "key with invalid UTF-8", in: "{\"first\xff\":1,\"records\":[]}", want: &workerproto.LogBatch{Records: []workerproto.Record{}}},
	{name: "exact key wins over folded", in: `{"FIRST":1,"first":2,"First":3}`, want: &workerproto.LogBatch{First: 3}},
	{name: "first negative", in: `{"first":-12}`, want: &workerproto.LogBatch{First: -12}},
	{name: "first minus zero", in: `{"first":-0}`, want: &workerproto.LogBatch{}},
	{name: "first max", in: `{"first":9223372036854775807}`, want: &workerproto.LogBatch{First: 1<<63 - 1}},
	{name: "first min", in: `{"first":-9223372036854775808}`, want: &workerproto.LogBatch{First: -1 << 63}},

	// Strings: every escape, unicode.
	{name: "every escape", in: `{"records":[{"msg":"q\" b\\ s\/ \b\f\n\r\t \u0041\u00e9\u20AC\ud83d\ude00 end"}]}`,
		want: &workerproto.LogBatch{Records: []workerproto.Record{{Message: "q\" b\\ s/ \b\f\n\r\t Aé€😀 end"}}}},
	{name: "raw unicode", in: `{"records":[{"msg":"héllo € 😀 日本"}]}`, want: &workerproto.LogBatch{Records: []workerproto.Record{{Message: "héllo € 😀 日本"}}}},
	{name: "escape then unicode", in: `{"records":[{"msg":"\tа\u0431в"}]}`, want: &workerproto.LogBatch{Records: []workerproto.Record{{Message: "\tабв"}}}},
	{name: "lone high surrogate", in: `{"records":[{"msg":"a\ud83db"}]}`, want: &workerproto.LogBatch{Records: []workerproto.Record{{Message: "a\uFFFDb"}}}},
	{name: "lone low surrogate", in: `{"records":[{"msg":"a\ude00b"}]}`, want: &workerproto.LogBatch{Records: []workerproto.Record{{Message: "a\uFFFDb"}}}},
	{name: "high surrogate then non-surrogate escape", in: `{"records":[{"msg":"\ud83d\u0041"}]}`, want: &workerproto.LogBatch{Records: []workerproto.Record{{Message: "\uFFFDA"}}}},
	{name: "two high surrogates", in: `{"records":[{"msg":"\ud83d\ud83d\ude00"}]}`, want: &workerproto.LogBatch{Records: []workerproto.Record{{Message: "\uFFFD😀"}}}},
	{name: "surrogate then newline escape", in: `{"records":[{"msg":"\ud83d\n"}]}`, want: &workerproto.LogBatch{Records: []workerproto.Record{{Message: "\uFFFD\n"}}}},
	{name: "invalid UTF-8", in: "{\"records\":[{\"msg\":\"a\xffb\xc3\x28c\xed\xa0\x80\"}]}", want: &workerproto.LogBatch{Records: []workerproto.Record{{Message: "a\uFFFDb\uFFFD(c\uFFFD\uFFFD\uFFFD"}}}},
	{name: "invalid UTF-8 at end", in: "{\"records\":[{\"msg\":\"ab\xe2\x82\"}]}", want: &workerproto.LogBatch{Records: []workerproto.Record{{Message: "ab\uFFFD\uFFFD"}}}},
	{name: "DEL raw", in: "{\"records\":[{\"msg\":\"a\x7fb\"}]}", want: &workerproto.LogBatch{Records: []workerproto.Record{{Message: "a\x7fb"}}}},
	{name: "unknown level kept", in: `{"records":[{"lvl":"nope"}]}`, want: &workerproto.LogBatch{Records: []workerproto.Record{{Level: "nope"}}}},
	{name: "escaped level", in: `{"records":[{"lvl":"\u0074arget"}]}`, want: &workerproto.LogBatch{Records: []workerproto.Record{{Level: "target"}}}},

	// Times (the lenient ones are accepted by time.Time.UnmarshalJSON too).
	{name: "time offset", in: `{"records":[{"dt":"2024-05-06T09:08:09+02:00"}]}`, want: &workerproto.LogBatch{Records: []workerproto.Record{{Time: time.Date(2024, 5, 6, 9, 8, 9, 0, time.FixedZone("", 2*3600))}}}},
	{name: "time lower-case t z", in: `{"records":[{"dt":"2024-05-06t07:08:09z"}]}`, err: true},
	{name: "time escaped", in: `{"records":[{"dt":"2024-05-06T07:08:09\u005a"}]}`, err: true},
	{name: "time not RFC 3339", in: `{"records":[{"dt":"2024-05-06 07:08:09Z"}]}`, err: true},
	{name: "time hour 24", in: `{"records":[{"dt":"2024-05-06T24:08:09Z"}]}`, err: true},
	{name: "time one-digit hour", in: `{"records":[{"dt":"2024-05-06T7:08:09Z"}]}`},          // as lenient as time.Time.UnmarshalJSON
	{name: "time comma fraction", in: `{"records":[{"dt":"2024-05-06T07:08:09,5Z"}]}`},       // as lenient as time.Time.UnmarshalJSON
	{name: "time zone out of range", in: `{"records":[{"dt":"2024-05-06T07:08:09+24:00"}]}`}, // as lenient as time.Time.UnmarshalJSON
	{name: "time number", in: `{"records":[{"dt":12}]}`, err: true},
	{name: "time object", in: `{"records":[{"dt":{}}]}`, err: true},
	{name: "time empty string", in: `{"records":[{"dt":""}]}`, err: true},

	// Bad inputs.
	{name: "empty", in: ``, err: true},
	{name: "only spaces", in: "  \n", err: true},
	{name: "truncated object", in: `{"first":1`, err: true},
	{name: "truncated key", in: `{"fir`, err: true},
	{name: "truncated after colon", in: `{"first":`, err: true},
	{name: "truncated records", in: `{"records":[{"msg":"a"}`, err: true},
	{name: "truncated string", in: `{"records":[{"msg":"abc`, err: true},
	{name: "truncated escape", in: `{"records":[{"msg":"abc\`, err: true},
	{name: "truncated unicode escape", in: `{"records":[{"msg":"\u00`, err: true},
	{name: "truncated literal", in: `{"records":[{"structured":tru`, err: true},
	{name: "truncated null", in: `nul`, err: true},
	{name: "trailing garbage", in: `{"first":1} x`, err: true},
	{name: "trailing object", in: `{}{}`, err: true},
	{name: "trailing null", in: `null null`, err: true},
	{name: "top-level array", in: `[]`, err: true},
	{name: "top-level string", in: `"x"`, err: true},
	{name: "top-level number", in: `1`, err: true},
	{name: "top-level true", in: `true`, err: true},
	{name: "BOM", in: "\xef\xbb\xbf{}", err: true},
	{name: "first string", in: `{"first":"1"}`, err: true},
	{name: "first float", in: `{"first":1.5}`, err: true},
	{name: "first exponent", in: `{"first":1e3}`, err: true},
	{name: "first float zero fraction", in: `{"first":1.0}`, err: true},
	{name: "first overflow", in: `{"first":9223372036854775808}`, err: true},
	{name: "first underflow", in: `{"first":-9223372036854775809}`, err: true},
	{name: "first huge", in: `{"first":123456789012345678901234567890}`, err: true},
	{name: "first bool", in: `{"first":true}`, err: true},
	{name: "first leading zero", in: `{"first":01}`, err: true},
	{name: "first plus", in: `{"first":+1}`, err: true},
	{name: "first minus alone", in: `{"first":-}`, err: true},
	{name: "records object", in: `{"records":{}}`, err: true},
	{name: "records string", in: `{"records":"x"}`, err: true},
	{name: "record number", in: `{"records":[1]}`, err: true},
	{name: "record array", in: `{"records":[[]]}`, err: true},
	{name: "msg number", in: `{"records":[{"msg":1}]}`, err: true},
	{name: "lvl bool", in: `{"records":[{"lvl":false}]}`, err: true},
	{name: "ns object", in: `{"records":[{"ns":{}}]}`, err: true},
	{name: "structured string", in: `{"records":[{"structured":"true"}]}`, err: true},
	{name: "structured number", in: `{"records":[{"structured":1}]}`, err: true},
	{name: "control character", in: "{\"records\":[{\"msg\":\"a\nb\"}]}", err: true},
	{name: "control character tab", in: "{\"records\":[{\"msg\":\"a\tb\"}]}", err: true},
	{name: "control character NUL in key", in: "{\"fi\x00rst\":1}", err: true},
	{name: "control character in unknown", in: "{\"x\":\"\x1f\"}", err: true},
	{name: "control character in time", in: "{\"records\":[{\"dt\":\"2024\x01\"}]}", err: true},
	{name: "bad escape", in: `{"records":[{"msg":"\x"}]}`, err: true},
	{name: "single-quote escape", in: `{"records":[{"msg":"\'"}]}`, err: true},
	{name: "bad unicode escape", in: `{"records":[{"msg":"\u12g4"}]}`, err: true},
	{name: "bad escape after surrogate", in: `{"records":[{"msg":"\ud83d\uzzzz"}]}`, err: true},
	{name: "bad escape in unknown", in: `{"x":"\q"}`, err: true},
	{name: "trailing comma object", in: `{"first":1,}`, err: true},
	{name: "trailing comma array", in: `{"records":[{},]}`, err: true},
	{name: "missing comma", in: `{"first":1 "records":[]}`, err: true},
	{name: "missing colon", in: `{"first" 1}`, err: true},
	{name: "unquoted key", in: `{first:1}`, err: true},
	{name: "single quotes", in: `{'first':1}`, err: true},
	{name: "bad literal", in: `{"x":nul}`, err: true},
	{name: "bad literal in record", in: `{"records":[{"structured":truth}]}`, err: true},
	{name: "bad number in unknown", in: `{"x":1.}`, err: true},
	{name: "bad exponent in unknown", in: `{"x":1e}`, err: true},
	{name: "leading dot in unknown", in: `{"x":.5}`, err: true},
	{name: "NaN in unknown", in: `{"x":NaN}`, err: true},
	{name: "nested unclosed", in: `{"x":[{"a":[1,2}]}`, err: true},
	{name: "syntax error after type error", in: `{"first":"x","records":[}`, err: true},
	{name: "deep nesting", in: `{"x":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`, slow: true},
	{name: "too deep for encoding/json", in: `{"x":` + strings.Repeat("[", 10001) + strings.Repeat("]", 10001) + `}`, slow: true, err: true},
}

func TestDecodeLogBatch(t *testing.T) {
	for _, c := range batchCases {
		t.Run(c.name, func(t *testing.T) {
			got, slow, err := readLogBatch([]byte(c.in))
			if slow != c.slow {
				t.Errorf("slow path %v, want %v (err %v)", slow, c.slow, err)
			}
			if (err != nil) != c.err {
				t.Fatalf("error %v, want error: %v", err, c.err)
			}
			var ref workerproto.LogBatch
			refErr := json.Unmarshal([]byte(c.in), &ref)
			if (refErr != nil) != (err != nil) {
				t.Fatalf("error %v, encoding/json's %v", err, refErr)
			}
			if err != nil {
				return
			}
			if d := sameBatch(got, ref); d != "" {
				t.Errorf("differs from encoding/json: %s", d)
			}
			if c.want != nil {
				if d := sameBatch(got, *c.want); d != "" {
					t.Errorf("differs from want: %s", d)
				}
			}
		})
	}
}

func TestDecodeLogBatchErrorNamesField(t *testing.T) {
	for in, want := range map[string]string{
		`{"first":1.5}`:                           "offset 9 (first): 1.5 is not an integer",
		`{"records":[{},{"structured":"x"}]}`:     "(records[1].structured): want true or false, found a string",
		`{"records":[{"dt":"yesterday"}]}`:        "(records[0].dt): parsing time",
		`{"records":[{"msg":"a` + "\x01" + `"}]}`: "offset 21 (records[0].msg): invalid control character",
		`{"first":1}]`:                            "offset 11: invalid character ']' after the top-level value",
		``:                                        "offset 0: unexpected end of JSON input",
	} {
		_, err := decodeLogBatch([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want it to contain %q", in, err, want)
		}
	}
}

// TestDecodeLogBatchKeyFolding checks keys with any case-folding rune in
// place of a field name's letter against encoding/json's matching.
func TestDecodeLogBatchKeyFolding(t *testing.T) {
	var folding []rune
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if unicode.SimpleFold(r) != r {
			folding = append(folding, r)
		}
	}
	body := func(key string) string {
		return `{"` + key + `":1,"records":[{"` + key + `":"x"}]}`
	}
	for _, name := range []string{"first", "records", "dt", "lvl", "msg", "structured", "ns"} {
		for i := range name {
			for _, r := range folding {
				in := []byte(body(name[:i] + string(r) + name[i+1:]))
				got, _, err := readLogBatch(in)
				var ref workerproto.LogBatch
				refErr := json.Unmarshal(in, &ref)
				if (err != nil) != (refErr != nil) {
					t.Fatalf("%s: error %v, encoding/json's %v", in, err, refErr)
				}
				if err == nil {
					if d := sameBatch(got, ref); d != "" {
						t.Fatalf("%s: differs from encoding/json: %s", in, d)
					}
				}
			}
		}
	}
}

func FuzzDecodeLogBatch(f *testing.F) {
	for _, c := range batchCases {
		f.Add([]byte(c.in))
	}
	f.Add(benchBatch(f, 3))
	f.Fuzz(func(t *testing.T, in []byte) {
		got, _, err := readLogBatch(in)
		var ref workerproto.LogBatch
		refErr := json.Unmarshal(in, &ref)
		if refErr != nil {
			if err == nil {
				t.Fatalf("accepted %q, encoding/json refuses it: %v", in, refErr)
			}
			return
		}
		if err != nil {
			t.Fatalf("refused %q (%v), encoding/json accepts it", in, err)
		}
		if d := sameBatch(got, ref); d != "" {
			t.Fatalf("%q: differs from encoding/json: %s", in, d)
		}
	})
}

// benchBatch is a batch as the worker sends it: n records of 80-byte
// messages (200 ms at 144 records/s is 29).
func benchBatch(tb testing.TB, n int) []byte {
	tb.Helper()
	b := workerproto.LogBatch{First: 12345}
	t0 := time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.UTC)
	for i := range n {
		msg := fmt.Sprintf("line %d ", 12345+i)
		msg += strings.Repeat("x", 80-len(msg))
		b.Records = append(b.Records, workerproto.Record{Time: t0.Add(time.Duration(i) * 6944 * time.Microsecond), Level: "target", Message: msg})
	}
	body, err := json.Marshal(b)
	if err != nil {
		tb.Fatal(err)
	}
	return body
}

func BenchmarkDecodeLogBatch(b *testing.B) {
	body := benchBatch(b, 29)
	b.Run("fast", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			batch, err := decodeLogBatch(body)
			if err != nil || len(batch.Records) != 29 {
				b.Fatal(err, len(batch.Records))
			}
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var batch workerproto.LogBatch
			if err := json.Unmarshal(body, &batch); err != nil || len(batch.Records) != 29 {
				b.Fatal(err, len(batch.Records))
			}
		}
	})
}
