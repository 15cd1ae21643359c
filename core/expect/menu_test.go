package expect

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/sdk"
)

// aavmfConsole replays the captured AAVMF screens: each key the walker
// sends moves it to the capture the real firmware answered that key with.
type aavmfConsole struct {
	t       *testing.T
	state   int
	out     []byte
	mark    int // Discard
	sent    []string
	answers map[[2]string]int // {state, key} -> capture
}

func newAAVMFConsole(t *testing.T) *aavmfConsole {
	c := &aavmfConsole{t: t, answers: map[[2]string]int{
		{"1", keyDown}: 2, {"2", keyDown}: 3, {"3", keyEnter}: 4,
		{"4", keyDown}: 5, {"5", keyUp}: 6, {"6", keyDown}: 5,
	}}
	c.load(0)
	c.load(1)
	return c
}

func (c *aavmfConsole) load(i int) {
	b, err := os.ReadFile(filepath.Join("testdata", "aavmf", "cap-"+string(rune('0'+i))+".raw"))
	if err != nil {
		c.t.Fatal(err)
	}
	c.out = append(c.out, b...)
	c.state = i
}

func (c *aavmfConsole) Raw(from int64) ([]byte, int64) {
	from = min(from, int64(len(c.out)))
	return append([]byte(nil), c.out[from:]...), int64(len(c.out))
}

func (c *aavmfConsole) RawWait(ctx context.Context, from int64, d time.Duration) bool {
	return int64(len(c.out)) > from
}

func (c *aavmfConsole) Send(ctx context.Context, text string, newline bool, charDelay time.Duration) error {
	c.sent = append(c.sent, text)
	if next, ok := c.answers[[2]string{string(rune('0' + c.state)), text}]; ok {
		c.load(next)
	}
	return nil
}

func (c *aavmfConsole) Discard() { c.mark = len(c.out) }

func (c *aavmfConsole) Expect(ctx context.Context, set *Set, timeout time.Duration) (Match, error) {
	text := Clean(string(c.out[c.mark:]))
	for i, p := range set.Patterns() {
		if regexp.MustCompile(p.Regex).MatchString(text) {
			c.mark = len(c.out)
			return Match{Index: i}, nil
		}
	}
	return Match{}, errors.New("timed out (the capture has no more output)")
}

// TestMenuWalkerAAVMF walks the real firmware's menus as captured: from the
// front page to the Boot Manager, then to a boot option.
func TestMenuWalkerAAVMF(t *testing.T) {
	cases := []struct {
		name    string
		blocks  []sdk.MenuBlock
		keys    []string
		errText string
	}{
		{"boot manager then pxe", []sdk.MenuBlock{
			{Items: []string{"Boot Manager"}, Wait: "Boot Manager Menu"},
			{Items: []string{"UEFI PXEv4 (MAC:525400123456)"}},
		}, []string{keyDown, keyDown, keyEnter, keyEnter}, ""},
		{"an item further down", []sdk.MenuBlock{
			{Items: []string{"Boot Manager"}, Wait: "Boot Manager Menu"},
			{Items: []string{"UEFI PXEv6 (MAC:525400123456)"}},
		}, []string{keyDown, keyDown, keyEnter, keyDown, keyEnter}, ""},
		{"fallback", []sdk.MenuBlock{
			{Items: []string{"Boot Options"}, Fallback: "Boot Manager", Wait: "Boot Manager Menu"},
		}, []string{keyDown, keyDown, keyEnter}, ""},
		{"missing item", []sdk.MenuBlock{
			{Items: []string{"Boot Manager"}, Wait: "Boot Manager Menu"},
			{Items: []string{"UEFI Shell"}},
		}, []string{keyDown, keyDown, keyEnter}, `menu item "UEFI Shell" not found; the screen shows`},
		{"wait not seen", []sdk.MenuBlock{
			{Items: []string{"Device Manager"}, Wait: "Device Manager Menu"},
		}, []string{keyDown, keyEnter}, `waiting for "Device Manager Menu"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			con := newAAVMFConsole(t)
			w := newMenuWalker(con, sdk.MenuStep{Style: sdk.MenuHighlight, Blocks: c.blocks, SettleMS: 1}, t.Logf)
			err := w.run(context.Background())
			if c.errText == "" && err != nil {
				t.Fatal(err)
			}
			if c.errText != "" {
				if err == nil || !strings.Contains(err.Error(), c.errText) {
					t.Fatalf("error %v, want %q", err, c.errText)
				}
				var me *MenuError
				if c.name == "missing item" && !errors.As(err, &me) {
					t.Errorf("error %v is not a *MenuError", err)
				}
				if c.name == "missing item" && !strings.Contains(err.Error(), `"EFI Internal Shell"`) {
					t.Errorf("the error does not list the items seen: %v", err)
				}
			}
			if strings.Join(con.sent, "|") != strings.Join(c.keys, "|") {
				t.Errorf("keys sent %q, want %q", con.sent, c.keys)
			}
		})
	}
}

// TestMenuWalkerNumbered is LAVA's SelectorMenu on a numbered menu (the
// ARM BDS menu of LAVA's juno-uefi and mustang-uefi templates).
func TestMenuWalkerNumbered(t *testing.T) {
	menu := "[1] Linux from NOR Flash\r\n[2] Shell\r\n[3] Boot Manager\r\nStart: "
	cases := []struct {
		label, fallback, want, errText string
	}{
		{"Shell", "", "2\r\n", ""},
		{"Boot Manager", "", "3\r\n", ""},
		{"Reboot", "Shell", "2\r\n", ""},
		{"Reboot", "", "", `menu item "Reboot" not found (no selection was made); the menu shows "Boot Manager", "Shell", "Linux from NOR Flash"`},
	}
	for _, c := range cases {
		t.Run(c.label+c.fallback, func(t *testing.T) {
			con := &aavmfConsole{t: t, out: []byte(menu)}
			step := sdk.MenuStep{Style: sdk.MenuNumbered, ItemMarkup: []string{"[", "]"}, ItemClass: "0-9", Separator: " ",
				LabelClass: `a-zA-Z0-9\s\:`, SettleMS: 1, Blocks: []sdk.MenuBlock{{Items: []string{c.label}, Fallback: c.fallback}}}
			err := newMenuWalker(con, step, t.Logf).run(context.Background())
			if c.errText != "" {
				if err == nil || !strings.Contains(err.Error(), c.errText) {
					t.Fatalf("error %v, want %q", err, c.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(con.sent) != 1 || con.sent[0] != c.want {
				t.Errorf("sent %q, want %q", con.sent, c.want)
			}
		})
	}
}
