package main

import (
	"reflect"
	"testing"
)

func TestSplitWords(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
		err  bool
	}{
		{"qemu-system-aarch64 -m 512", []string{"qemu-system-aarch64", "-m", "512"}, false},
		{`-kernel /k --append "console=ttyAMA0 root=/dev/vda rw"`, []string{"-kernel", "/k", "--append", "console=ttyAMA0 root=/dev/vda rw"}, false},
		{`a  'b c'  d`, []string{"a", "b c", "d"}, false},
		{`a "x\"y" b\ c`, []string{"a", `x"y`, "b c"}, false},
		{`a "" b`, []string{"a", "", "b"}, false},
		{`a "b`, nil, true},
		{`a 'b`, nil, true},
		{"   ", nil, true},
	} {
		got, err := splitWords(tc.in)
		if (err != nil) != tc.err || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("splitWords(%q) = %q, %v; want %q (error %v)", tc.in, got, err, tc.want, tc.err)
		}
	}
}
