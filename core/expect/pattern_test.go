package expect

import (
	"regexp"
	"testing"
	"time"
)

// The pre-filters and the bounded search regions must never change what a
// pattern finds: compare with a plain regexp search of the cleaned text,
// with the text arriving one byte at a time and all at once.
func TestPatternsMatchLikeRegexp(t *testing.T) {
	for _, tc := range []struct{ expr, text string }{
		{"(?i)login incorrect", "x\r\nLOGIN Incorrect\r\n"},
		{"(?i)login:", "debian Login: "},
		{"[Ee]nd of [Tt]race", "---[ end of Trace 0000 ]---"},
		{"(Retry count exceeded|ERROR: can't get kernel image)", "ERROR: can't get kernel image!"},
		{"Linux version [0-9]", "[    0.000000] Linux version 6.1.0-56-arm64"},
		{`root@[a-z0-9-]+:~# `, "\x1b[?2004hroot@deb-12:~# "},
		{`^=> $`, "\r\n=> "},
		{`a\nb`, "xa\r\nb"},
		{`foo\s+bar`, "foo\r\n\r\n  bar"},
		{`[^#]*# `, "line one\nvboard:/# "},
		{"Hit any key", "Hit any key to stop autoboot:  1 \b\b\b 0"},
		{`x{2,}`, "axxxb"},
		{`(?i)ÉCHEC`, "échec"},
	} {
		want := regexp.MustCompile("(?m)" + tc.expr).FindString(Clean(tc.text))
		if want == "" {
			t.Fatalf("bad case: %q does not match %q", tc.expr, Clean(tc.text))
		}
		for _, bytewise := range []bool{false, true} {
			b := newBoard()
			e := New(b, Options{})
			go func() {
				if !bytewise {
					b.say(t, tc.text)
					return
				}
				for i := range len(tc.text) {
					b.say(t, tc.text[i:i+1])
				}
			}()
			m, err := e.Expect(ctxT(t), mustCompile(t, re(tc.expr)), 10*time.Second)
			if err != nil {
				t.Fatalf("%q on %q (bytewise %v): %v", tc.expr, tc.text, bytewise, err)
			}
			if bytewise && m.Text != want && len(m.Text) > len(want) {
				t.Errorf("%q bytewise: %q, longer than %q", tc.expr, m.Text, want)
			}
			if !bytewise && m.Text != want {
				t.Errorf("%q: matched %q, want %q", tc.expr, m.Text, want)
			}
		}
	}
}

func TestCompileErrors(t *testing.T) {
	if _, err := Compile(); err == nil {
		t.Error("Compile() with no patterns succeeded")
	}
	if _, err := Compile(re("ok"), re("(")); err == nil || err.Error() != "expect: pattern 1 \"(\": error parsing regexp: missing closing ): `(`" {
		t.Errorf("bad regex: %v", err)
	}
	if _, err := Compile(re("")); err == nil {
		t.Error("empty pattern compiled")
	}
}
