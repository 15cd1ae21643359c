package sandbox

// Issue 17 (uefi-menu): the menu step only reads and writes the console;
// the host checks its size and form.

import (
	"github.com/lavalab/lavalab/sdk"
)

// Bounds of a menu step a driver may ask for.
const (
	maxMenuBlocks = 256
	maxMenuText   = 4096
)

func (sb *Sandbox) admitMenu(m sdk.MenuStep) (Action, error) {
	if err := m.Validate(); err != nil {
		return Action{}, refuse("%v", err)
	}
	if len(m.Blocks) > maxMenuBlocks {
		return Action{}, refuse("menu: %d blocks, at most %d", len(m.Blocks), maxMenuBlocks)
	}
	for i, b := range m.Blocks {
		n := len(b.Fallback) + len(b.Wait)
		for _, it := range b.Items {
			n += len(it)
		}
		if b.Enter != nil {
			n += len(*b.Enter)
		}
		if n > maxMenuText {
			return Action{}, refuse("menu block %d: %d bytes of text, at most %d", i+1, n, maxMenuText)
		}
	}
	return Action{}, nil
}
