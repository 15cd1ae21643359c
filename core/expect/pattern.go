package expect

import (
	"bytes"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/lavalab/lavalab/sdk"
)

// lookBehind bounds how far before the new text a search starts: a match
// must end in text that arrived since the last search, and may start at most
// this many bytes before it (and, for a pattern that cannot match "\n", not
// before the start of its line).
const lookBehind = 4096

// maxRequired bounds the alternatives of a required-literal pre-filter.
const maxRequired = 16

// Set is a compiled list of patterns, compiled once and used by Expect.
// Patterns are regular expressions (Go RE2 syntax) with multi-line mode on:
// ^ and $ match at line boundaries. They match the cleaned text (see Clean).
type Set struct {
	pats []pattern
}

type pattern struct {
	src sdk.Pattern
	re  *regexp.Regexp
	// lit is the whole pattern when it is a plain string.
	lit []byte
	// req, when not nil, lists literals one of which every match contains.
	req []literal
	// multiline is true when a match may contain "\n".
	multiline bool
}

// Compile compiles patterns. An invalid regular expression is an error that
// names it.
func Compile(patterns ...sdk.Pattern) (*Set, error) {
	if len(patterns) == 0 {
		return nil, fmt.Errorf("expect: no patterns")
	}
	s := &Set{pats: make([]pattern, 0, len(patterns))}
	for i, p := range patterns {
		if p.Regex == "" {
			return nil, fmt.Errorf("expect: pattern %d is empty", i)
		}
		// Compiled without the flag first, so an error quotes the pattern
		// as written.
		if _, err := regexp.Compile(p.Regex); err != nil {
			return nil, fmt.Errorf("expect: pattern %d %q: %w", i, p.Regex, err)
		}
		re, err := regexp.Compile("(?m)" + p.Regex)
		if err != nil {
			return nil, fmt.Errorf("expect: pattern %d %q: %w", i, p.Regex, err)
		}
		cp := pattern{src: p, re: re}
		if prefix, complete := re.LiteralPrefix(); complete {
			cp.lit = []byte(prefix)
			cp.multiline = strings.Contains(prefix, "\n")
		} else if tree, err := syntax.Parse(p.Regex, syntax.Perl); err == nil {
			tree = tree.Simplify()
			cp.multiline = canMatchNL(tree)
			cp.req = required(tree)
		} else {
			cp.multiline = true
		}
		s.pats = append(s.pats, cp)
	}
	return s, nil
}

// Regexes builds patterns from regular expressions given as strings (LAVA's
// prompts and error messages are regular expressions). With fail set they
// are error patterns whose Message is message, or the expression itself.
func Regexes(fail bool, message string, exprs ...string) []sdk.Pattern {
	ps := make([]sdk.Pattern, 0, len(exprs))
	for _, x := range exprs {
		p := sdk.Pattern{Regex: x, Fail: fail}
		if fail {
			p.Message = message
		}
		ps = append(ps, p)
	}
	return ps
}

// Patterns returns the patterns of the set, in order.
func (s *Set) Patterns() []sdk.Pattern {
	out := make([]sdk.Pattern, len(s.pats))
	for i, p := range s.pats {
		out[i] = p.src
	}
	return out
}

// String lists the patterns the way errors name them: "=> " or "TIMEOUT".
func (s *Set) String() string {
	var b strings.Builder
	for i, p := range s.pats {
		if i > 0 {
			b.WriteString(" or ")
		}
		b.WriteString(strconv.Quote(p.src.Regex))
	}
	return b.String()
}

// find searches buf for the leftmost match of any pattern (the first pattern
// wins a tie) that starts at or after consumed and ends after scanned.
func (s *Set) find(buf []byte, consumed, scanned int) (idx, start, end int) {
	idx, start, end = -1, -1, -1
	floor := max(consumed, scanned-lookBehind)
	lineFrom := floor
	if k := bytes.LastIndexByte(buf[floor:scanned], '\n'); k >= 0 {
		lineFrom = floor + k + 1
	}
	for i := range s.pats {
		p := &s.pats[i]
		st, en := -1, -1
		if p.lit != nil {
			from := max(consumed, scanned-len(p.lit)+1)
			if k := bytes.Index(buf[from:], p.lit); k >= 0 {
				st, en = from+k, from+k+len(p.lit)
			}
		} else {
			from := lineFrom
			if p.multiline {
				from = floor
			}
			region := buf[from:]
			if p.req != nil && !containsAny(region, p.req) {
				continue
			}
			if loc := p.re.FindIndex(region); loc != nil {
				st, en = from+loc[0], from+loc[1]
			}
		}
		if st >= 0 && (idx < 0 || st < start) {
			idx, start, end = i, st, en
		}
	}
	return idx, start, end
}

// literal is a required piece of text; fold means ASCII case-insensitive
// (text is then lower case).
type literal struct {
	text []byte
	fold bool
}

func containsAny(b []byte, lits []literal) bool {
	for _, l := range lits {
		if l.fold {
			if containsFold(b, l.text) {
				return true
			}
		} else if bytes.Contains(b, l.text) {
			return true
		}
	}
	return false
}

// containsFold reports whether b contains lit (lower-case ASCII, not empty)
// ignoring ASCII case.
func containsFold(b, lit []byte) bool {
	lo := lit[0]
	up := lo
	if 'a' <= lo && lo <= 'z' {
		up = lo - 'a' + 'A'
	}
	for len(b) >= len(lit) {
		i := bytes.IndexByte(b, lo)
		if up != lo {
			if j := bytes.IndexByte(b, up); j >= 0 && (i < 0 || j < i) {
				i = j
			}
		}
		if i < 0 || len(b)-i < len(lit) {
			return false
		}
		if bytes.EqualFold(b[i:i+len(lit)], lit) {
			return true
		}
		b = b[i+1:]
	}
	return false
}

// canMatchNL reports whether a match of re may contain a newline.
func canMatchNL(re *syntax.Regexp) bool {
	switch re.Op {
	case syntax.OpLiteral:
		for _, r := range re.Rune {
			if r == '\n' {
				return true
			}
		}
		return false
	case syntax.OpCharClass:
		for i := 0; i+1 < len(re.Rune); i += 2 {
			if re.Rune[i] <= '\n' && '\n' <= re.Rune[i+1] {
				return true
			}
		}
		return false
	case syntax.OpAnyChar:
		return true
	case syntax.OpAnyCharNotNL:
		return false
	}
	for _, sub := range re.Sub {
		if canMatchNL(sub) {
			return true
		}
	}
	return false
}

// required returns literals one of which every match of re contains, or nil
// when no such short list is known. A case-folded literal gives one only
// when it is ASCII.
func required(re *syntax.Regexp) []literal {
	switch re.Op {
	case syntax.OpLiteral:
		if len(re.Rune) == 0 {
			return nil
		}
		if re.Flags&syntax.FoldCase == 0 {
			return []literal{{text: []byte(string(re.Rune))}}
		}
		low := make([]byte, len(re.Rune))
		for i, r := range re.Rune {
			if r >= utf8.RuneSelf {
				return nil
			}
			low[i] = byte(unicode.ToLower(r))
		}
		return []literal{{text: low, fold: true}}
	case syntax.OpCharClass:
		if re.Flags&syntax.FoldCase != 0 {
			return nil
		}
		var out []literal
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if len(out) == maxRequired || !utf8.ValidRune(r) {
					return nil
				}
				out = append(out, literal{text: []byte(string(r))})
			}
		}
		return out
	case syntax.OpCapture, syntax.OpPlus:
		return required(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return required(re.Sub[0])
		}
		return nil
	case syntax.OpConcat:
		var best []literal
		bestLen := 0
		for _, sub := range re.Sub {
			r := required(sub)
			if r == nil {
				continue
			}
			if m := shortest(r); m > bestLen {
				best, bestLen = r, m
			}
		}
		return best
	case syntax.OpAlternate:
		var out []literal
		for _, sub := range re.Sub {
			r := required(sub)
			if r == nil || len(out)+len(r) > maxRequired {
				return nil
			}
			out = append(out, r...)
		}
		return out
	}
	return nil
}

func shortest(lits []literal) int {
	m := -1
	for _, l := range lits {
		if m < 0 || len(l.text) < m {
			m = len(l.text)
		}
	}
	return m
}
