package lavarpc

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

func TestCodecRoundTrip(t *testing.T) {
	at := time.Date(2023, 1, 2, 3, 4, 5, 0, time.UTC)
	params := []any{nil, true, false, int64(42), int64(-7), int64(1) << 40, 1.5, "a<b>&c\n", "", at, Binary("\x00\xffbin"),
		[]any{int64(1), "x", []any{}}, map[string]any{"k": "v", "n": nil, "nested": map[string]any{}}}
	var b bytes.Buffer
	if err := EncodeCall(&b, "scheduler.jobs.list", params...); err != nil {
		t.Fatal(err)
	}
	c, err := DecodeCall(&b)
	if err != nil {
		t.Fatal(err)
	}
	if c.Method != "scheduler.jobs.list" || len(c.Params) != len(params) {
		t.Fatalf("decoded %q with %d params", c.Method, len(c.Params))
	}
	for i := range params {
		if !deepEqual(c.Params[i], params[i]) {
			t.Errorf("param %d = %#v, want %#v", i, c.Params[i], params[i])
		}
	}
}

// Requests as Python's xmlrpc.client writes them (allow_none, the forms
// lavacli sends).
func TestDecodePython(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []any
	}{
		{"no params", "<?xml version='1.0'?>\n<methodCall>\n<methodName>system.version</methodName>\n<params>\n</params>\n</methodCall>\n", []any{}},
		{"no params element", "<methodCall><methodName>system.version</methodName></methodCall>", []any{}},
		{"string and nil", "<?xml version='1.0'?>\n<methodCall>\n<methodName>scheduler.jobs.logs</methodName>\n<params>\n<param>\n<value><string>12</string></value>\n</param>\n<param>\n<value><int>0</int></value>\n</param>\n<param>\n<value><nil/></value></param>\n</params>\n</methodCall>\n",
			[]any{"12", int64(0), nil}},
		{"untyped string", "<methodCall><methodName>x</methodName><params><param><value>plain text</value></param></params></methodCall>", []any{"plain text"}},
		{"i4 and boolean", "<methodCall><methodName>x</methodName><params><param><value><i4>-3</i4></value></param><param><value><boolean>1</boolean></value></param></params></methodCall>", []any{int64(-3), true}},
		{"empty string", "<methodCall><methodName>x</methodName><params><param><value><string/></value></param></params></methodCall>", []any{""}},
		{"base64 with newlines", "<methodCall><methodName>x</methodName><params><param><value><base64>\naGVs\nbG8=\n</base64></value></param></params></methodCall>", []any{Binary("hello")}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := DecodeCall(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			if !deepEqual(c.Params, tc.want) {
				t.Errorf("params = %#v, want %#v", c.Params, tc.want)
			}
		})
	}
}

func TestDecodeRefuses(t *testing.T) {
	deep := "<methodCall><methodName>x</methodName><params><param><value>" + strings.Repeat("<array><data><value>", MaxDepth+2) +
		"1" + strings.Repeat("</value></data></array>", MaxDepth+2) + "</value></param></params></methodCall>"
	tests := []struct {
		name string
		in   string
		code int
	}{
		{"empty", "", CodeInvalidRequest},
		{"not xml", "hello", CodeInvalidRequest},
		{"truncated", "<methodCall><methodName>x</methodName><params>", CodeParseError},
		{"unclosed tag", "<methodCall><methodName>x</methodCall>", CodeParseError},
		{"wrong root", "<methodResponse/>", CodeInvalidRequest},
		{"empty method", "<methodCall><methodName> </methodName></methodCall>", CodeInvalidRequest},
		{"bad int", "<methodCall><methodName>x</methodName><params><param><value><int>1.5</int></value></param></params></methodCall>", CodeInvalidRequest},
		{"i4 overflow", "<methodCall><methodName>x</methodName><params><param><value><i4>9999999999</i4></value></param></params></methodCall>", CodeInvalidRequest},
		{"bad boolean", "<methodCall><methodName>x</methodName><params><param><value><boolean>2</boolean></value></param></params></methodCall>", CodeInvalidRequest},
		{"bad date", "<methodCall><methodName>x</methodName><params><param><value><dateTime.iso8601>yesterday</dateTime.iso8601></value></param></params></methodCall>", CodeInvalidRequest},
		{"bad base64", "<methodCall><methodName>x</methodName><params><param><value><base64>!!</base64></value></param></params></methodCall>", CodeInvalidRequest},
		{"unknown type", "<methodCall><methodName>x</methodName><params><param><value><bigdecimal>1</bigdecimal></value></param></params></methodCall>", CodeInvalidRequest},
		{"too deep", deep, CodeInvalidRequest},
		{"trailing element", "<methodCall><methodName>x</methodName></methodCall><x/>", CodeInvalidRequest},
		{"member without value", "<methodCall><methodName>x</methodName><params><param><value><struct><member><name>a</name></member></struct></value></param></params></methodCall>", CodeInvalidRequest},
		{"entity bomb", `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><methodCall><methodName>&a;</methodName></methodCall>`, CodeParseError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeCall(strings.NewReader(tc.in))
			f, ok := err.(*Fault)
			if !ok || f.Code != tc.code {
				t.Errorf("err = %v, want fault %d", err, tc.code)
			}
		})
	}
}

// FuzzDecodeCall: the decoder never panics, and whatever it accepts
// encodes and decodes back to the same call.
func FuzzDecodeCall(f *testing.F) {
	seeds := []string{
		"<?xml version='1.0'?>\n<methodCall>\n<methodName>system.version</methodName>\n<params>\n</params>\n</methodCall>\n",
		"<methodCall><methodName>scheduler.jobs.logs</methodName><params><param><value><string>12</string></value></param><param><value><int>0</int></value></param><param><value><nil/></value></param></params></methodCall>",
		"<methodCall><methodName>x</methodName><params><param><value><struct><member><name>a</name><value><array><data><value><double>1.5</double></value><value><boolean>1</boolean></value></data></array></value></member></struct></value></param></params></methodCall>",
		"<methodCall><methodName>x</methodName><params><param><value><dateTime.iso8601>20230102T03:04:05</dateTime.iso8601></value></param><param><value><base64>aGVsbG8=</base64></value></param></params></methodCall>",
		"<methodCall><methodName>x</methodName><params><param><value>text</value></param></params></methodCall>",
		"<methodCall>",
		"",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := DecodeCall(bytes.NewReader(in))
		if err != nil {
			if _, ok := err.(*Fault); !ok {
				t.Fatalf("error %T is not a fault: %v", err, err)
			}
			return
		}
		var b bytes.Buffer
		if err := EncodeCall(&b, c.Method, c.Params...); err != nil {
			// NaN/Inf doubles cannot be encoded back; nothing else.
			if !strings.Contains(err.Error(), "<double>") {
				t.Fatalf("re-encoding %#v: %v", c, err)
			}
			return
		}
		c2, err := DecodeCall(&b)
		if err != nil {
			t.Fatalf("re-decoding: %v\n%s", err, b.String())
		}
		if len(c2.Params) != len(c.Params) {
			t.Fatalf("%d params became %d", len(c.Params), len(c2.Params))
		}
	})
}

func BenchmarkCall(b *testing.B) {
	e := newEnv(b)
	u, err := e.st.User(context.Background(), "admin")
	if err != nil {
		b.Fatal(err)
	}
	c := &Caller{User: &u}
	run := func(b *testing.B, method string, params ...any) {
		var body bytes.Buffer
		if err := EncodeCall(&body, method, params...); err != nil {
			b.Fatal(err)
		}
		raw := body.Bytes()
		b.ReportAllocs()
		b.ResetTimer()
		for b.Loop() {
			call, err := DecodeCall(bytes.NewReader(raw))
			if err != nil {
				b.Fatal(err)
			}
			v, f := e.srv.Call(context.Background(), c, call)
			if f != nil {
				b.Fatal(f)
			}
			var out bytes.Buffer
			if err := EncodeResponse(&out, v); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
	}
	b.Run("jobs.submit", func(b *testing.B) { run(b, "scheduler.jobs.submit", qemuJob) })
	b.Run("jobs.show", func(b *testing.B) { run(b, "scheduler.jobs.show", itoa(e.publicJob)) })
}

// BenchmarkHTTP is the same over HTTP with Basic auth (what lavacli pays).
func BenchmarkHTTP(b *testing.B) {
	e := newEnv(b)
	run := func(b *testing.B, method string, params ...any) {
		b.ReportAllocs()
		for b.Loop() {
			if _, f, _ := e.call(b, "admin", method, params...); f != nil {
				b.Fatal(f)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
	}
	b.Run("jobs.submit", func(b *testing.B) { run(b, "scheduler.jobs.submit", qemuJob) })
	b.Run("jobs.show", func(b *testing.B) { run(b, "scheduler.jobs.show", itoa(e.publicJob)) })
}
