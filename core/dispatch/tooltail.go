package dispatch

import (
	"fmt"
	"strings"
	"sync"
)

// toolTail keeps the last lines a host tool wrote on stderr, so that a
// tool's failure names the tool's own error (fastboot's "FAILED (remote:
// 'partition does not exist')", uuu's "Fail ...") and not only its exit
// status (issue 19).
type toolTail struct {
	mu    sync.Mutex
	lines []string
}

const toolTailLines = 3

func (t *toolTail) add(line string) {
	line = strings.TrimSpace(line)
	if line == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, line)
	if len(t.lines) > toolTailLines {
		t.lines = t.lines[len(t.lines)-toolTailLines:]
	}
}

// wrap adds the kept lines to a tool's error.
func (t *toolTail) wrap(err error) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err == nil || len(t.lines) == 0 {
		return err
	}
	return fmt.Errorf("%w: %s", err, strings.Join(t.lines, " | "))
}
