package sandbox

// Issue 17: a menu step is admitted when well formed and of bounded size.

import (
	"strings"
	"testing"

	"github.com/lavalab/lavalab/sdk"
)

func TestAdmitMenu(t *testing.T) {
	sb := &Sandbox{}
	long := strings.Repeat("x", maxMenuText+1)
	many := make([]sdk.MenuBlock, maxMenuBlocks+1)
	for i := range many {
		many[i] = sdk.MenuBlock{Escape: true}
	}
	for _, tc := range []struct {
		name string
		m    sdk.MenuStep
		want string // "" = admitted, else part of the refusal
	}{
		{"highlight", sdk.MenuStep{Style: sdk.MenuHighlight, Blocks: []sdk.MenuBlock{{Items: []string{"Boot Manager"}, Wait: "Boot Manager Menu"}}}, ""},
		{"numbered", sdk.MenuStep{Style: sdk.MenuNumbered, ItemMarkup: []string{"[", "]"}, ItemClass: "0-9", Blocks: []sdk.MenuBlock{{Items: []string{"Shell"}}}}, ""},
		{"unknown style", sdk.MenuStep{Style: "touch", Blocks: []sdk.MenuBlock{{Escape: true}}}, "unknown style"},
		{"too many blocks", sdk.MenuStep{Style: sdk.MenuHighlight, Blocks: many}, "blocks, at most"},
		{"too much text", sdk.MenuStep{Style: sdk.MenuHighlight, Blocks: []sdk.MenuBlock{{Enter: &long}}}, "bytes of text, at most"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sb.Admit(sdk.Step{Kind: sdk.StepMenu, Menu: &tc.m})
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
