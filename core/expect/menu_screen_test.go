package expect

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// aavmfScreen replays the captured AAVMF output cap-0.raw .. cap-<upto>.raw.
func aavmfScreen(t *testing.T, upto int) *menuScreen {
	t.Helper()
	s := newMenuScreen()
	for i := 0; i <= upto; i++ {
		b, err := os.ReadFile(filepath.Join("testdata", "aavmf", "cap-"+string(rune('0'+i))+".raw"))
		if err != nil {
			t.Fatal(err)
		}
		s.feed(b)
	}
	return s
}

// TestMenuScreenAAVMF reads the real firmware's screens: where each item
// is, and which one is highlighted after each key.
func TestMenuScreenAAVMF(t *testing.T) {
	cases := []struct {
		name        string
		upto        int
		item        string // an item on the screen
		highlighted string // the text of the highlighted item's row
		missing     string
		shows       []string // among the labels a missing item's error lists
	}{
		{"front page", 1, "Boot Manager", "Select Language", "Boot Maintenance", []string{"Device Manager", "Boot Manager", "Boot Maintenance Manager", "Continue", "Reset"}},
		{"front page down", 2, "Boot Manager", "Device Manager", "", nil},
		{"front page down down", 3, "Continue", "Boot Manager", "", nil},
		{"boot manager", 4, "EFI Internal Shell", "UEFI PXEv4 (MAC:525400123456)", "UEFI Shell", []string{"UEFI PXEv4 (MAC:525400123456)", "UEFI HTTPv6 (MAC:525400123456)", "EFI Internal Shell"}},
		{"boot manager down", 5, "UEFI PXEv4 (MAC:525400123456)", "UEFI PXEv6 (MAC:525400123456)", "", nil},
		{"boot manager down up", 6, "EFI Internal Shell", "UEFI PXEv4 (MAC:525400123456)", "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := aavmfScreen(t, c.upto)
			it, ok := s.find(c.item)
			if !ok {
				t.Fatalf("item %q not found on the screen:\n%s", c.item, s.text())
			}
			h, err := s.highlighted(it.col)
			if err != nil {
				t.Fatalf("%v\n%s", err, s.text())
			}
			row := strings.TrimSpace(runesOf(s.rows[h]))
			if !strings.Contains(row, c.highlighted) {
				t.Errorf("highlighted row %d is %q, want %q", h+1, row, c.highlighted)
			}
			if c.missing != "" {
				if _, ok := s.find(c.missing); ok {
					t.Errorf("%q found, but it is not an item of this screen", c.missing)
				}
				labels := s.labels()
				for _, w := range c.shows {
					if !strings.Contains(strings.Join(labels, "\n")+"\n", w+"\n") {
						t.Errorf("labels %q lack %q", labels, w)
					}
				}
			}
		})
	}
}

// TestMenuScreenControls checks the terminal model on small inputs.
func TestMenuScreenControls(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"text and newline", "ab\r\ncd", "ab\ncd\n"},
		{"cursor position", "\x1b[2;3Hxy", "\n  xy\n"},
		{"clear", "old\x1b[2J\x1b[01;01Hnew", "new\n"},
		{"erase line", "abcdef\x1b[1;3H\x1b[K", "ab\n"},
		{"colours ignored in text", "\x1b[0m\x1b[37m\x1b[40mA\x1b[1mB", "AB\n"},
		{"private mode ignored", "\x1b[=3hx", "x\n"},
		{"utf-8 split", "\xe2\x94", "\x80\n"},
		{"backspace", "ab\bc", "ac\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newMenuScreen()
			if c.name == "utf-8 split" {
				s.feed([]byte(c.in))
				s.feed([]byte(c.want[:1]))
				if got := s.text(); got != "─\n" {
					t.Errorf("got %q", got)
				}
				return
			}
			s.feed([]byte(c.in))
			if got := s.text(); got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// FuzzMenuScreen: any console output is read without a panic, and the
// screen stays within its bounds.
func FuzzMenuScreen(f *testing.F) {
	for i := 0; i <= 6; i++ {
		b, err := os.ReadFile(filepath.Join("testdata", "aavmf", "cap-"+string(rune('0'+i))+".raw"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("\x1b[999;999Hx\x1b[2J\x1b[5A\x1b[J\x1b[K\xe2\x94\x1b[1;40m"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := newMenuScreen()
		s.feed(b)
		if len(s.rows) > menuMaxRows {
			t.Fatalf("%d rows", len(s.rows))
		}
		cols := map[int]bool{}
		for _, g := range s.segments() {
			if !cols[g.col] && len(cols) < 8 {
				cols[g.col] = true
				_, _ = s.highlighted(g.col)
			}
		}
		_ = s.labels()
		_ = s.text()
	})
}
