package jsontext

import (
	"encoding/json"
	"strings"
	"testing"
)

// check: AppendString's output is valid JSON that decodes to what
// encoding/json's own encoding of s decodes to.
func check(t *testing.T, s string) {
	t.Helper()
	ours := AppendString(nil, s)
	var a, b string
	if err := json.Unmarshal(ours, &a); err != nil {
		t.Fatalf("%q encodes to invalid JSON %q: %v", s, ours, err)
	}
	theirs, _ := json.Marshal(s)
	_ = json.Unmarshal(theirs, &b)
	if a != b {
		t.Fatalf("%q: ours %q decodes to %q, encoding/json's to %q", s, ours, a, b)
	}
}

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"b\`, "\n\r\t\x00\x1f\x7f", "é日🙂", "\xff\xfe\xed\xa0\x80", "\u2028\u2029", "<&>"} {
		check(t, s)
	}
	if got := string(AppendString([]byte("x="), "a\"b")); got != `x="a\"b"` {
		t.Fatalf("got %s", got)
	}
	if strings.Contains(string(AppendString(nil, "<&>")), `\u003c`) {
		t.Fatal("escaped HTML characters")
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("line 1 \"x\"\n")
	f.Add("\xff\u2028\x01")
	f.Fuzz(check)
}
