package bytesize

import "testing"

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Size
		bad  bool
	}{
		{"0", 0, false},
		{"1024", 1024, false},
		{"512MiB", 512 << 20, false},
		{"2GiB", 2 << 30, false},
		{"2G", 2 << 30, false},
		{"3GB", 3e9, false},
		{" 10 KiB ", 10 << 10, false},
		{"-1", 0, true},
		{"lots", 0, true},
		{"1.5GiB", 0, true},
		{"99999999999TiB", 0, true},
	} {
		got, err := Parse(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("Parse(%q) = %d, %v; want %d, error %v", tc.in, got, err, tc.want, tc.bad)
		}
	}
	if s := Size(2 << 30).String(); s != "2GiB" {
		t.Errorf("String = %q", s)
	}
}
