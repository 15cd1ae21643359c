package results

import (
	"errors"
	"testing"
)

func TestResultCodes(t *testing.T) {
	for i, name := range []string{"pass", "fail", "skip", "unknown"} {
		code, ok := ResultCode(name)
		if !ok || code != i {
			t.Errorf("ResultCode(%q) = %d, %v; want %d", name, code, ok, i)
		}
		if got := ResultName(i); got != name {
			t.Errorf("ResultName(%d) = %q", i, got)
		}
	}
	for _, bad := range []string{"PASS", "", "passed", "error"} {
		if _, ok := ResultCode(bad); ok {
			t.Errorf("ResultCode(%q) accepted", bad)
		}
	}
	if ResultName(4) != "" || ResultName(-1) != "" {
		t.Error("ResultName accepts out-of-range codes")
	}
}

func ptr(f float64) *float64 { return &f }

func TestFromRecord(t *testing.T) {
	tests := []struct {
		name    string
		rec     map[string]any
		want    Case
		wantErr string
	}{
		{
			name: "plain pass",
			rec:  map[string]any{"definition": "0_smoke", "case": "pwd", "result": "pass", "level": "3.1"},
			want: Case{Suite: "0_smoke", Name: "pwd", Result: "pass", Level: "3.1", LogStart: 7, LogEnd: 7},
		},
		{
			name: "measurement and set",
			rec: map[string]any{"definition": "0_p", "case": "t5", "result": "pass",
				"measurement": 99.0, "units": "bottles", "set": "s1"},
			want: Case{Suite: "0_p", Name: "t5", Result: "pass", Measurement: ptr(99), Units: "bottles", Set: "s1", LogStart: 7, LogEnd: 7},
		},
		{
			name: "measurement as string, starttc/endtc",
			rec: map[string]any{"definition": "0_p", "case": "t6", "result": "fail",
				"measurement": "-1.5e2", "starttc": 3, "endtc": 5.0},
			want: Case{Suite: "0_p", Name: "t6", Result: "fail", Measurement: ptr(-150), LogStart: 3, LogEnd: 5},
		},
		{
			name: "lava suite duration",
			rec: map[string]any{"definition": "lava", "case": "0_smoke", "result": "pass",
				"duration": "12.34", "uuid": "1_1.2"},
			want: Case{Suite: "lava", Name: "0_smoke", Result: "pass", Measurement: ptr(12.34), Units: "seconds", LogStart: 7, LogEnd: 7},
		},
		{
			name: "reference",
			rec:  map[string]any{"definition": "0_p", "case": "r", "result": "pass", "reference": "http://x/y"},
			want: Case{Suite: "0_p", Name: "r", Result: "pass", Reference: "http://x/y", LogStart: 7, LogEnd: 7},
		},
		{
			name:    "missing result",
			rec:     map[string]any{"definition": "0_p", "case": "r"},
			wantErr: `Missing some keys ("definition", "case" or "result") in {'case': 'r', 'definition': '0_p'}`,
		},
		{
			name:    "bad result",
			rec:     map[string]any{"definition": "0_p", "case": "r", "result": "PASS"},
			wantErr: "Bad test result: PASS",
		},
		{
			name:    "bad measurement",
			rec:     map[string]any{"definition": "0_p", "case": "r", "result": "pass", "measurement": "12 kg"},
			wantErr: `results record r: measurement: not a decimal number: "12 kg"`,
		},
		{
			name:    "nan measurement",
			rec:     map[string]any{"definition": "0_p", "case": "r", "result": "pass", "measurement": "NaN"},
			wantErr: `results record r: measurement: not a finite decimal number: NaN`,
		},
		{
			name:    "hex measurement",
			rec:     map[string]any{"definition": "0_p", "case": "r", "result": "pass", "measurement": "0x10"},
			wantErr: `results record r: measurement: not a decimal number: "0x10"`,
		},
		{
			name:    "bad starttc",
			rec:     map[string]any{"definition": "0_p", "case": "r", "result": "pass", "starttc": "x"},
			wantErr: `results record r: starttc: not a line number: "x"`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FromRecord(tc.rec, 7)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("err = %v; want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Suite != tc.want.Suite || got.Name != tc.want.Name || got.Result != tc.want.Result ||
				got.Units != tc.want.Units || got.Set != tc.want.Set || got.Reference != tc.want.Reference ||
				got.Level != tc.want.Level || got.LogStart != tc.want.LogStart || got.LogEnd != tc.want.LogEnd {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
			if (got.Measurement == nil) != (tc.want.Measurement == nil) ||
				(got.Measurement != nil && *got.Measurement != *tc.want.Measurement) {
				t.Errorf("measurement = %v; want %v", got.Measurement, tc.want.Measurement)
			}
			if got.Metadata["case"] != tc.rec["case"] {
				t.Error("metadata is not the record")
			}
		})
	}
}

func TestRecordErrorType(t *testing.T) {
	_, err := FromRecord(map[string]any{"definition": "x"}, 1)
	var re *RecordError
	if !errors.As(err, &re) {
		t.Fatalf("err %T is not a *RecordError", err)
	}
}

func TestPyRepr(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{nil, "None"},
		{true, "True"},
		{"it's", `"it's"`},
		{`a'b"c`, `'a\'b"c'`},
		{"x\ny", `'x\ny'`},
		{1.0, "1.0"},
		{1.5, "1.5"},
		{3, "3"},
		{[]any{"a", 2}, "['a', 2]"},
		{map[string]any{"b": 1, "a": map[string]any{"c": false}}, "{'a': {'c': False}, 'b': 1}"},
	}
	for _, tc := range tests {
		if got := PyRepr(tc.in); got != tc.want {
			t.Errorf("PyRepr(%#v) = %s; want %s", tc.in, got, tc.want)
		}
	}
}
