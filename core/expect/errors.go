package expect

import (
	"strconv"
	"time"
)

// PatternError is returned when an error pattern (sdk.Pattern.Fail) matched.
type PatternError struct {
	Pattern string
	// Message is the pattern's message; empty means the pattern names it.
	Message string
	// Text is the matched text.
	Text string
}

func (e *PatternError) Error() string {
	if e.Message != "" {
		return e.Message + " (matched " + strconv.Quote(e.Text) + ")"
	}
	return "error pattern " + strconv.Quote(e.Pattern) + " matched " + strconv.Quote(e.Text)
}

// TimeoutError is returned when no pattern matched in time. It unwraps to
// context.DeadlineExceeded.
type TimeoutError struct {
	// Patterns lists what was waited for ("=> " or "TIMEOUT").
	Patterns string
	// Last is the end of the unmatched output (cleaned), at most 256 bytes.
	Last string
	// Timeout is the timeout given to Expect, 0 when the context's deadline
	// ended the wait.
	Timeout time.Duration
	Err     error
}

func (e *TimeoutError) Error() string {
	s := "timed out"
	if e.Timeout > 0 {
		s += " after " + e.Timeout.String()
	}
	s += " waiting for " + e.Patterns
	if e.Last == "" {
		return s + "; no output since the last match"
	}
	return s + "; last output: " + strconv.Quote(e.Last)
}

func (e *TimeoutError) Unwrap() error { return e.Err }
