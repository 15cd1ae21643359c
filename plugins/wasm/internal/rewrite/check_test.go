package rewrite

import (
	"errors"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	huge := leb(0xffffffff)
	tests := []struct {
		name string
		mod  []byte
		want string // "" for a module that passes
	}{
		{"countdown", countdown(5), ""},
		{"data", dataModule([]byte{0x0b}, seg(0, "hello"), seg(9, "x")), ""},
		{"export count", module(sec(7, huge)), "vector of 4294967295 entries"},
		{"import count", module(sec(2, huge)), "vector of"},
		{"type params", module(sec(1, vec(append([]byte{0x60}, huge...)))), "vector of"},
		{"export name length", module(sec(7, vec(huge))), "unexpected end"},
		{"data bytes", module(sec(11, vec(append([]byte{0x01}, huge...)))), "unexpected end"},
		{"locals", module(sec(1, vec(typeVoid)), sec(3, vec([]byte{0x00})),
			sec(10, vec(append(append(leb(7), 0x01), append(leb(4000000000), 0x7f, 0x0b)...)))), "4000000000 locals"},
		{"element count", module(sec(9, vec(append([]byte{0x01, 0x00}, huge...)))), "vector of"},
		{"name section", module(sec(0, name("name"), []byte{0x01, 0x05}, huge)), "name section"},
		{"section past the end", append(module(), 0x07, 0x7f), "unexpected end"},
		{"unknown section", module(sec(42, []byte{0x00})), "unknown section"},
		{"trailing bytes in a section", module(sec(3, vec([]byte{0x00}), []byte{0x00})), "after its last entry"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Check(tc.mod)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if strings.Contains(tc.want, "vector") && !errors.Is(err, errCount) {
				t.Fatalf("err = %v, not errCount", err)
			}
		})
	}
}
