package expect

// Issue 17 (uefi-menu): a small terminal screen model, enough to read the
// full-screen menus firmware draws on a serial console (EDK2's forms):
// cursor moves, erases and colours, so the step can tell the items apart
// and which one is highlighted.

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Screen bounds: bigger screens are clipped.
const (
	menuMaxRows = 200
	menuMaxCols = 400
)

// cellAttr is a cell's SGR state: colours (-1: the default) and bold.
type cellAttr struct {
	fg, bg int
	bold   bool
}

type cell struct {
	r rune
	a cellAttr
}

// menuScreen is the terminal the console draws on. feed takes raw output
// in any chunks.
type menuScreen struct {
	rows   [][]cell
	r, c   int
	cur    cellAttr
	state  int // 0 text, 1 after ESC, 2 in a CSI sequence, 3 skip one byte
	params []byte
	utf    []byte // an incomplete UTF-8 sequence
}

func newMenuScreen() *menuScreen {
	return &menuScreen{cur: cellAttr{fg: -1, bg: -1}}
}

func (s *menuScreen) feed(p []byte) {
	for _, b := range p {
		switch s.state {
		case 1:
			switch b {
			case '[':
				s.state, s.params = 2, s.params[:0]
			case '(', ')', '#':
				s.state = 3
			default:
				s.state = 0
			}
			continue
		case 2:
			if b >= 0x40 && b <= 0x7e {
				s.csi(b)
				s.state = 0
			} else {
				s.params = append(s.params, b)
			}
			continue
		case 3:
			s.state = 0
			continue
		}
		if len(s.utf) > 0 && b < 0x80 {
			// An incomplete sequence cut by ASCII: one bad character.
			s.utf = s.utf[:0]
			s.put(utf8.RuneError)
		}
		if b >= 0x80 {
			s.utf = append(s.utf, b)
			if !utf8.FullRune(s.utf) {
				if len(s.utf) < utf8.UTFMax {
					continue
				}
			}
			r, _ := utf8.DecodeRune(s.utf)
			s.utf = s.utf[:0]
			s.put(r)
			continue
		}
		switch b {
		case 0x1b:
			s.state = 1
		case '\r':
			s.c = 0
		case '\n':
			s.r = min(s.r+1, menuMaxRows-1)
		case '\b':
			s.c = max(s.c-1, 0)
		case '\t':
			s.c = min((s.c/8+1)*8, menuMaxCols-1)
		default:
			if b >= 0x20 && b != 0x7f {
				s.put(rune(b))
			}
		}
	}
}

func (s *menuScreen) put(r rune) {
	if s.c >= menuMaxCols {
		return
	}
	s.cellAt(s.r, s.c)
	s.rows[s.r][s.c] = cell{r: r, a: s.cur}
	s.c++
}

// cellAt makes sure the cell exists.
func (s *menuScreen) cellAt(r, c int) {
	for len(s.rows) <= r {
		s.rows = append(s.rows, nil)
	}
	for len(s.rows[r]) <= c {
		s.rows[r] = append(s.rows[r], cell{r: ' ', a: cellAttr{fg: -1, bg: -1}})
	}
}

// csi runs one control sequence; private ones (ESC [ = 3 h) are ignored.
func (s *menuScreen) csi(final byte) {
	raw := string(s.params)
	if strings.ContainsAny(raw, "=?>") {
		return
	}
	var n []int
	for _, f := range strings.Split(raw, ";") {
		v, err := strconv.Atoi(f)
		if err != nil {
			v = -1
		}
		n = append(n, v)
	}
	arg := func(i, def int) int {
		if i < len(n) && n[i] > 0 {
			return n[i]
		}
		return def
	}
	switch final {
	case 'H', 'f':
		s.r = min(arg(0, 1)-1, menuMaxRows-1)
		s.c = min(arg(1, 1)-1, menuMaxCols-1)
	case 'A':
		s.r = max(s.r-arg(0, 1), 0)
	case 'B':
		s.r = min(s.r+arg(0, 1), menuMaxRows-1)
	case 'C':
		s.c = min(s.c+arg(0, 1), menuMaxCols-1)
	case 'D':
		s.c = max(s.c-arg(0, 1), 0)
	case 'J':
		if len(n) > 0 && n[0] == 2 {
			s.rows = nil
			return
		}
		if s.r < len(s.rows) {
			s.rows = s.rows[:s.r+1]
			s.eraseLine(s.r, s.c)
		}
	case 'K':
		s.eraseLine(s.r, s.c)
	case 'm':
		for _, v := range n {
			switch {
			case v <= 0:
				s.cur = cellAttr{fg: -1, bg: -1}
			case v == 1:
				s.cur.bold = true
			case v == 22:
				s.cur.bold = false
			case v >= 30 && v <= 37:
				s.cur.fg = v - 30
			case v == 39:
				s.cur.fg = -1
			case v >= 40 && v <= 47:
				s.cur.bg = v - 40
			case v == 49:
				s.cur.bg = -1
			}
		}
	}
}

func (s *menuScreen) eraseLine(r, c int) {
	if r < len(s.rows) && c < len(s.rows[r]) {
		s.rows[r] = s.rows[r][:c]
	}
}

// menuSegment is a piece of text on one row: words separated by single
// spaces, with a leading marker (EDK2's ">" of a submenu) taken off.
type menuSegment struct {
	row, col int
	text     string
}

// segments returns the screen's text pieces, top to bottom.
func (s *menuScreen) segments() []menuSegment {
	var out []menuSegment
	for r, row := range s.rows {
		c := 0
		for c < len(row) {
			if row[c].r == ' ' {
				c++
				continue
			}
			start := c
			for c < len(row) && (row[c].r != ' ' || (c+1 < len(row) && row[c+1].r != ' ')) {
				c++
			}
			text := runesOf(row[start:c])
			// A marker ("> Device Manager"): the label starts after it.
			if i := strings.IndexFunc(text, func(r rune) bool {
				return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '<' || r == '[' || r == '('
			}); i > 0 && strings.TrimSpace(text[:i]) != "" && strings.Trim(text[:i], "> -*") == "" {
				start += utf8.RuneCountInString(text[:i])
				text = text[i:]
			}
			out = append(out, menuSegment{row: r, col: start, text: text})
		}
	}
	return out
}

func runesOf(cs []cell) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteRune(c.r)
	}
	return b.String()
}

// find returns the segment whose text is label.
func (s *menuScreen) find(label string) (menuSegment, bool) {
	for _, g := range s.segments() {
		if g.text == label {
			return g, true
		}
	}
	return menuSegment{}, false
}

// labels lists the screen's text pieces for an error message (not the
// frames: pieces without a letter or a digit).
func (s *menuScreen) labels() []string {
	var out []string
	for _, g := range s.segments() {
		if strings.IndexFunc(g.text, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }) >= 0 && !slices.Contains(out, g.text) {
			out = append(out, g.text)
		}
	}
	return out
}

// highlighted returns the row of the highlighted item among the rows whose
// text starts in column col (the menu's item column): the one row drawn
// with a colour no other such row uses.
func (s *menuScreen) highlighted(col int) (int, error) {
	var items []int
	for _, g := range s.segments() {
		if g.col == col && !slices.Contains(items, g.row) {
			items = append(items, g.row)
		}
	}
	if len(items) == 1 {
		return items[0], nil
	}
	uses := map[cellAttr][]int{}
	for _, r := range items {
		seen := map[cellAttr]bool{}
		for _, c := range s.rows[r] {
			if c.r != ' ' && !seen[c.a] {
				seen[c.a] = true
				uses[c.a] = append(uses[c.a], r)
			}
		}
	}
	var rows []int
	for _, rs := range uses {
		if len(rs) == 1 && !slices.Contains(rows, rs[0]) {
			rows = append(rows, rs[0])
		}
	}
	if len(rows) != 1 {
		return 0, fmt.Errorf("cannot tell which of the menu's %d items is highlighted (%d candidates)", len(items), len(rows))
	}
	return rows[0], nil
}

// text is the screen as lines, for tests and logs.
func (s *menuScreen) text() string {
	var b strings.Builder
	for _, row := range s.rows {
		b.WriteString(strings.TrimRight(runesOf(row), " "))
		b.WriteByte('\n')
	}
	return b.String()
}
