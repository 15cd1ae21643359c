package expect

import "unicode/utf8"

// maxEscape bounds the bytes of one escape sequence (a CSI's parameters, an
// OSC's text) the cleaner skips before it gives up and goes back to text.
const maxEscape = 1024

type cleanState uint8

const (
	csText   cleanState = iota
	csEsc               // after ESC
	csInter             // ESC + intermediate bytes (ESC ( B): wait for the final byte
	csCSI               // ESC [ ... final byte
	csStr               // OSC, DCS, SOS, PM, APC: until BEL or ESC \
	csStrEsc            // ESC inside a string
)

// screen is the cleaned text the cleaner writes to. Its current line starts
// at lineStart; carriage return and backspace edit that line only.
type screen struct {
	buf       []byte
	lineStart int
	// beforeEdit, if set, runs before carriage return or backspace removes
	// text, so that a pattern can match what was shown before it goes.
	beforeEdit func()
	// onLine, if set, receives each complete line (without its "\n").
	onLine func(line []byte)
}

func (s *screen) newline() {
	if s.onLine != nil {
		s.onLine(s.buf[s.lineStart:])
	}
	s.buf = append(s.buf, '\n')
	s.lineStart = len(s.buf)
}

// carriageReturn moves to the start of the line: what follows overwrites
// the line, which the cleaned text shows as erasing it.
func (s *screen) carriageReturn() {
	if len(s.buf) == s.lineStart {
		return
	}
	if s.beforeEdit != nil {
		s.beforeEdit()
	}
	s.buf = s.buf[:s.lineStart]
}

// backspace removes the last character (rune) of the line, if any.
func (s *screen) backspace() {
	if len(s.buf) == s.lineStart {
		return
	}
	if s.beforeEdit != nil {
		s.beforeEdit()
	}
	_, size := utf8.DecodeLastRune(s.buf[s.lineStart:])
	s.buf = s.buf[:len(s.buf)-size]
}

// cleaner turns raw console bytes into the text patterns match: ANSI escape
// sequences (CSI such as ESC[6n and ESC[0m, OSC, other ESC sequences) are
// removed; "\r\n" ends a line; a bare "\r" followed by more text restarts the
// line; backspace removes the character before it; other control bytes but
// tab are dropped. It is a state machine, so input may be split anywhere.
type cleaner struct {
	state     cleanState
	escLen    int
	pendingCR bool
}

func (c *cleaner) feed(s *screen, p []byte) {
	for i := 0; i < len(p); i++ {
		b := p[i]
		switch c.state {
		case csText:
			if b >= 0x20 && b != 0x7f {
				j := i + 1
				for j < len(p) && p[j] >= 0x20 && p[j] != 0x7f {
					j++
				}
				if c.pendingCR {
					c.pendingCR = false
					s.carriageReturn()
				}
				s.buf = append(s.buf, p[i:j]...)
				i = j - 1
				continue
			}
			switch b {
			case '\n':
				c.pendingCR = false
				s.newline()
			case '\r':
				c.pendingCR = true
			case '\b':
				if c.pendingCR {
					c.pendingCR = false
					s.carriageReturn()
				}
				s.backspace()
			case '\t':
				if c.pendingCR {
					c.pendingCR = false
					s.carriageReturn()
				}
				s.buf = append(s.buf, '\t')
			case 0x1b:
				c.state = csEsc
			}
		case csEsc:
			c.escLen = 0
			switch {
			case b == '[':
				c.state = csCSI
			case b == ']' || b == 'P' || b == 'X' || b == '^' || b == '_':
				c.state = csStr
			case b >= 0x20 && b <= 0x2f:
				c.state = csInter
			case b == 0x1b:
				// ESC ESC: stay
			default:
				// A two-byte sequence (ESC 7, ESC c, ESC =), or a control
				// byte that cancels the sequence.
				c.state = csText
				if b < 0x20 {
					i--
				}
			}
		case csInter:
			c.escLen++
			switch {
			case b >= 0x30 && b <= 0x7e:
				c.state = csText
			case b >= 0x20 && b <= 0x2f && c.escLen < maxEscape:
			default:
				c.state = csText
				i--
			}
		case csCSI:
			c.escLen++
			switch {
			case b >= 0x40 && b <= 0x7e:
				c.state = csText
			case b >= 0x20 && b <= 0x3f && c.escLen < maxEscape:
			default:
				// Not a CSI byte: the sequence was cut; reprocess the byte.
				c.state = csText
				i--
			}
		case csStr:
			c.escLen++
			switch {
			case b == 0x07:
				c.state = csText
			case b == 0x1b:
				c.state = csStrEsc
			case b == '\n' || c.escLen >= maxEscape:
				// A line end never disappears inside a broken string.
				c.state = csText
				i--
			}
		case csStrEsc:
			if b == '\\' {
				c.state = csText
			} else {
				c.state = csStr
				i--
			}
		}
	}
}

// Clean returns the text the expect engine matches for raw console output
// s. See Engine for the rules; a trailing "\r" is kept pending, as it is
// when the output continues.
func Clean(s string) string {
	var sc screen
	var c cleaner
	c.feed(&sc, []byte(s))
	return string(sc.buf)
}
