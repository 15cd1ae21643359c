package expect

import (
	"strings"
	"testing"
)

func TestClean(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "hello\n", "hello\n"},
		{"crlf", "a\r\nb\r\n", "a\nb\n"},
		{"cr redraw", "Loading: 10%\rLoading: 55%\rdone\n", "done\n"},
		{"cr pending at end", "abc\r", "abc"},
		{"uboot countdown", "Hit any key to stop autoboot:  3 \b\b\b 2 \b\b\b 1 \b\b\b 0 \r\n",
			"Hit any key to stop autoboot:  0 \n"},
		{"backspace stops at line start", "ab\n\b\bc", "ab\nc"},
		{"backspace utf-8", "né\bx", "nx"},
		{"csi colour", "\x1b[0;32mOK\x1b[0m\n", "OK\n"},
		{"cursor position query", "\x1b[6nvboard:/# ", "vboard:/# "},
		{"csi with private marker", "\x1b[?2004hroot@x:~# ", "root@x:~# "},
		{"osc title bel", "\x1b]0;root@x: ~\aroot@x:~# ", "root@x:~# "},
		{"osc title st", "\x1b]2;t\x1b\\$ ", "$ "},
		{"charset select", "\x1b(Bok", "ok"},
		{"two-byte escape", "\x1b7saved\x1b8", "saved"},
		{"cr then erase line", "old text\r\x1b[Knew\n", "new\n"},
		{"controls dropped", "a\x00b\x07c\x7fd\te", "abcd\te"},
		{"cut csi", "\x1b[12\nx", "\nx"},
		{"newline ends a broken osc", "\x1b]0;title\nx", "\nx"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Clean(tc.in); got != tc.want {
				t.Fatalf("Clean(%q) = %q, want %q", tc.in, got, tc.want)
			}
			// Any split of the input gives the same text.
			for i := 0; i <= len(tc.in); i++ {
				if got := cleanSplit(tc.in, i); got != tc.want {
					t.Fatalf("split at %d: %q, want %q", i, got, tc.want)
				}
			}
		})
	}
}

func cleanSplit(s string, i int) string {
	var sc screen
	var c cleaner
	c.feed(&sc, []byte(s[:i]))
	c.feed(&sc, []byte(s[i:]))
	return string(sc.buf)
}

func FuzzClean(f *testing.F) {
	for _, s := range []string{
		"Hit any key to stop autoboot:  2 \b\b\b 1 ",
		"\x1b[6nvboard:/# \r\n",
		"\x1b]0;title\a\x1b[1;31mred\x1b[0m\r\r\nx",
		"a\rb\r\nc\b\bd",
		"\x1b[", "\x1b]", "\x1b(", "\xff\xfe\r\b", "\x1bX\n",
	} {
		f.Add(s, 3)
	}
	f.Fuzz(func(t *testing.T, s string, split int) {
		out := Clean(s)
		for _, b := range []byte(out) {
			if (b < 0x20 && b != '\n' && b != '\t') || b == 0x7f {
				t.Fatalf("Clean(%q) = %q keeps control byte %#x", s, out, b)
			}
		}
		if again := Clean(out); again != out {
			t.Fatalf("Clean is not idempotent on %q: %q then %q", s, out, again)
		}
		if strings.Count(out, "\n") != strings.Count(s, "\n") {
			t.Fatalf("Clean(%q) = %q changes the line count", s, out)
		}
		if len(s) > 0 {
			i := split % (len(s) + 1)
			if i < 0 {
				i = -i
			}
			if got := cleanSplit(s, i); got != out {
				t.Fatalf("split %d of %q: %q, want %q", i, s, got, out)
			}
		}
	})
}
