package sdk

import "fmt"

// Issue 17 (uefi-menu): the payload of StepMenu.

// Menu styles: how a menu step picks an item.
const (
	// MenuNumbered is LAVA's SelectorMenu: the menu prints numbered lines
	// ("[2] Shell"); the step sends the number of the line whose label is
	// the item, then the line separator.
	MenuNumbered = "numbered"
	// MenuHighlight is a full-screen menu with a highlighted item and no
	// numbers (EDK2's forms): the step reads the screen the console draws
	// (cursor moves and colours), presses the arrow keys until the item is
	// highlighted, then Enter.
	MenuHighlight = "highlight"
)

// MenuStep walks a firmware menu, LAVA's uefi-menu selector: for each
// block in order, select its items (each by its label), send Escape,
// send its Enter text, and after each of these wait for the block's Wait
// pattern when it has one. The step starts where the previous one (the
// interrupt, which waited for the menu's first prompt) left the console.
// A label that is not on the menu fails the step with the labels that are.
type MenuStep struct {
	Style string `json:"style"`
	// Numbered style: LAVA's item_markup (the two strings around the
	// number), item_class (the number's characters), separator and
	// label_class (the label's characters), all regular expression parts.
	ItemMarkup []string `json:"item_markup,omitempty"`
	ItemClass  string   `json:"item_class,omitempty"`
	Separator  string   `json:"separator,omitempty"`
	LabelClass string   `json:"label_class,omitempty"`
	// LineSeparator ends a sent number or text ("\r\n", LAVA's dos
	// separator, by default). Enter text is followed by "\r" (Ctrl-M)
	// whatever it is, as in LAVA.
	LineSeparator string `json:"line_separator,omitempty"`
	// CharDelayMS is the pause between characters sent.
	CharDelayMS int `json:"char_delay_ms,omitempty"`
	// SettleMS (highlight style) is how long the screen must stay
	// unchanged before the step reads it (default 300).
	SettleMS int         `json:"settle_ms,omitempty"`
	Blocks   []MenuBlock `json:"blocks"`
	// Errors fail the step when one of them is seen during a wait.
	Errors []string `json:"errors,omitempty"`
}

// MenuBlock is one `select` of a LAVA uefi-menu command list.
type MenuBlock struct {
	Items    []string `json:"items,omitempty"`
	Fallback string   `json:"fallback,omitempty"`
	Escape   bool     `json:"escape,omitempty"`
	Enter    *string  `json:"enter,omitempty"`
	Wait     string   `json:"wait,omitempty"`
}

// Validate checks a menu step.
func (m MenuStep) Validate() error {
	switch m.Style {
	case MenuNumbered:
		if len(m.ItemMarkup) != 2 || m.ItemClass == "" {
			return fmt.Errorf("menu: the numbered style needs item_markup (two strings) and item_class")
		}
	case MenuHighlight:
	default:
		return fmt.Errorf("menu: unknown style %q (numbered, highlight)", m.Style)
	}
	if len(m.Blocks) == 0 {
		return fmt.Errorf("menu: no blocks")
	}
	for i, b := range m.Blocks {
		if len(b.Items) == 0 && !b.Escape && b.Enter == nil {
			return fmt.Errorf("menu block %d: selects nothing (items, escape or enter)", i+1)
		}
	}
	return nil
}
