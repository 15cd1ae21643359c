package expect

// Issue 17 (uefi-menu): the menu step, LAVA's uefi-menu selector.

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/lavalab/lavalab/sdk"
)

// MenuError is a menu step's failure to select: the item is not on the
// menu (the message names it and what the menu shows), or the highlight
// does not reach it.
type MenuError struct{ Msg string }

func (e *MenuError) Error() string { return e.Msg }

func menuErrorf(format string, args ...any) error {
	return &MenuError{Msg: fmt.Sprintf(format, args...)}
}

// Keys a highlight menu is driven with (VT100, as EDK2 reads them).
const (
	keyUp    = "\x1b[A"
	keyDown  = "\x1b[B"
	keyEnter = "\r"
)

// menuConsole is what a menu step needs of the console (an *Engine).
type menuConsole interface {
	Raw(from int64) ([]byte, int64)
	RawWait(ctx context.Context, from int64, d time.Duration) bool
	Send(ctx context.Context, text string, newline bool, charDelay time.Duration) error
	Discard()
	Expect(ctx context.Context, set *Set, timeout time.Duration) (Match, error)
}

// menuWalker runs one menu step on a console.
type menuWalker struct {
	con    menuConsole
	step   sdk.MenuStep
	logf   func(format string, args ...any)
	scr    *menuScreen
	off    int64 // raw output fed to scr so far
	settle time.Duration
	delay  time.Duration
	linsep string
}

// Menu runs a menu step (sdk.MenuStep): LAVA's uefi-menu selector, for
// numbered menus or for full-screen menus with a highlighted item. logf,
// if not nil, is told what the step selects and sends. A selection that
// cannot be made is a *MenuError; a wait that fails returns the wait's
// error (a *PatternError, a *TimeoutError, ...), wrapped.
func (e *Engine) Menu(ctx context.Context, step sdk.MenuStep, logf func(format string, args ...any)) error {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	return newMenuWalker(e, step, logf).run(ctx)
}

func newMenuWalker(con menuConsole, s sdk.MenuStep, logf func(string, ...any)) *menuWalker {
	w := &menuWalker{con: con, step: s, logf: logf, scr: newMenuScreen(),
		settle: time.Duration(s.SettleMS) * time.Millisecond, delay: time.Duration(s.CharDelayMS) * time.Millisecond, linsep: s.LineSeparator}
	if w.settle <= 0 {
		w.settle = 300 * time.Millisecond
	}
	if w.linsep == "" {
		w.linsep = "\r\n"
	}
	// The screen starts from the output kept so far: the interrupt step
	// waited for the menu's first prompt, so the menu is already drawn.
	raw, off := con.Raw(0)
	w.scr.feed(raw)
	w.off = off
	return w
}

func (w *menuWalker) run(ctx context.Context) error {
	if err := w.step.Validate(); err != nil {
		return err
	}
	for _, b := range w.step.Blocks {
		for _, item := range b.Items {
			if err := w.selectItem(ctx, item, b.Fallback); err != nil {
				return err
			}
			if err := w.wait(ctx, b.Wait); err != nil {
				return err
			}
		}
		if b.Escape {
			w.logf("Sending escape")
			if err := w.send(ctx, "\x1b"); err != nil {
				return err
			}
			if err := w.wait(ctx, b.Wait); err != nil {
				return err
			}
		}
		if b.Enter != nil {
			w.logf("Sending %q Ctrl-M", *b.Enter)
			if err := w.send(ctx, *b.Enter+"\r"); err != nil {
				return err
			}
			if err := w.wait(ctx, b.Wait); err != nil {
				return err
			}
		}
	}
	return nil
}

// send sends text with the step's character delay; keys (arrows, Enter,
// Escape) go at once: a terminal reads a slow "ESC [ B" as Escape.
func (w *menuWalker) send(ctx context.Context, text string) error {
	w.con.Discard()
	delay := w.delay
	if text == keyUp || text == keyDown || text == keyEnter || text == "\x1b" {
		delay = 0
	}
	if err := w.con.Send(ctx, text, false, delay); err != nil {
		return fmt.Errorf("menu: %w", err)
	}
	return nil
}

// wait waits for a block's prompt (none: no wait) or one of the errors.
func (w *menuWalker) wait(ctx context.Context, prompt string) error {
	if prompt == "" {
		return nil
	}
	pats := Regexes(false, "", prompt)
	pats = append(pats, Regexes(true, "menu error", w.step.Errors...)...)
	set, err := Compile(pats...)
	if err != nil {
		return fmt.Errorf("menu: %w", err)
	}
	w.logf("Waiting for %q", prompt)
	if _, err := w.con.Expect(ctx, set, 0); err != nil {
		return fmt.Errorf("menu: waiting for %q: %w", prompt, err)
	}
	return nil
}

// update feeds the screen the output that came since the last update.
func (w *menuWalker) update() {
	raw, off := w.con.Raw(w.off)
	w.scr.feed(raw)
	w.off = off
}

// quiet waits until the console has sent nothing for the settle time,
// first waiting up to first for output to start (a key's answer).
func (w *menuWalker) quiet(ctx context.Context, first time.Duration) error {
	if first > 0 && !w.con.RawWait(ctx, w.off, first) && ctx.Err() != nil {
		return ctx.Err()
	}
	for {
		w.update()
		if !w.con.RawWait(ctx, w.off, w.settle) {
			if err := ctx.Err(); err != nil {
				return err
			}
			w.update()
			return nil
		}
	}
}

func (w *menuWalker) selectItem(ctx context.Context, label, fallback string) error {
	if w.step.Style == sdk.MenuNumbered {
		return w.selectNumbered(ctx, label, fallback)
	}
	return w.selectHighlight(ctx, label, fallback)
}

// selectNumbered is LAVA's SelectorMenu: the latest line "[N] label"
// gives N, which is sent with the line separator.
func (w *menuWalker) selectNumbered(ctx context.Context, label, fallback string) error {
	st := w.step
	re, err := regexp.Compile(regexp.QuoteMeta(st.ItemMarkup[0]) + "([" + st.ItemClass + "]+)" + regexp.QuoteMeta(st.ItemMarkup[1]) + st.Separator + "([" + st.LabelClass + "]*)")
	if err != nil {
		return fmt.Errorf("menu: item markup: %w", err)
	}
	if err := w.quiet(ctx, 0); err != nil {
		return fmt.Errorf("menu: %w", err)
	}
	raw, _ := w.con.Raw(0)
	lines := strings.Split(Clean(string(raw)), "\n")
	pick := func(want string) (string, []string) {
		var seen []string
		for i := len(lines) - 1; i >= 0; i-- {
			m := re.FindStringSubmatch(strings.TrimSpace(lines[i]))
			if m == nil {
				continue
			}
			if m[2] == want {
				return m[1], nil
			}
			seen = append(seen, m[2])
		}
		return "", seen
	}
	n, seen := pick(label)
	if n == "" && fallback != "" {
		n, _ = pick(fallback)
	}
	if n == "" {
		return menuErrorf("menu item %q not found (no selection was made); the menu shows %s", label, quoteList(seen))
	}
	w.logf("Selecting option %s (%s)", n, label)
	return w.send(ctx, n+w.linsep)
}

// selectHighlight reads the screen, moves the highlight onto the item
// with the arrow keys and presses Enter.
func (w *menuWalker) selectHighlight(ctx context.Context, label, fallback string) error {
	if err := w.quiet(ctx, 0); err != nil {
		return fmt.Errorf("menu: waiting for the screen to settle: %w", err)
	}
	target, ok := w.scr.find(label)
	if !ok && fallback != "" {
		target, ok = w.scr.find(fallback)
		label = fallback
	}
	if !ok {
		return menuErrorf("menu item %q not found; the screen shows %s", label, quoteList(w.scr.labels()))
	}
	limit := 2*len(w.scr.rows) + 2
	last := -1
	for range limit {
		h, err := w.scr.highlighted(target.col)
		if err != nil {
			return menuErrorf("menu item %q: %v", label, err)
		}
		if h == target.row {
			w.logf("Selecting %q", label)
			return w.send(ctx, keyEnter)
		}
		if h == last {
			return menuErrorf("menu item %q is on the screen but the highlight does not move onto it (stuck on row %d)", label, h+1)
		}
		last = h
		key := keyDown
		if target.row < h {
			key = keyUp
		}
		if err := w.send(ctx, key); err != nil {
			return err
		}
		if err := w.quiet(ctx, 3*time.Second); err != nil {
			return fmt.Errorf("menu: waiting for the screen after an arrow key: %w", err)
		}
		if target, ok = w.scr.find(label); !ok {
			return menuErrorf("menu item %q left the screen while moving to it; the screen shows %s", label, quoteList(w.scr.labels()))
		}
	}
	return menuErrorf("menu item %q: not highlighted after %d key presses", label, limit)
}

func quoteList(l []string) string {
	if len(l) == 0 {
		return "no items"
	}
	if len(l) > 24 {
		l = append(l[:24:24], "...")
	}
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}
