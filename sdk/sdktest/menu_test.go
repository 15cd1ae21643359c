package sdktest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/sdk"
)

// TestExecuteMenu (issue 17): the kit runs menu steps through the lab's
// own menu walker: a numbered menu (LAVA's SelectorMenu) on a scripted
// firmware, each number sent with the dos line separator, then a typed
// text with Ctrl-M; a missing item fails with the labels the menu shows.
func TestExecuteMenu(t *testing.T) {
	bds := "[1] Linux from NOR Flash\r\n[2] Shell\r\n[3] Boot Manager\r\nStart: "
	menu := func(items ...string) sdk.Step {
		enter := "ls"
		blocks := []sdk.MenuBlock{}
		for _, it := range items {
			blocks = append(blocks, sdk.MenuBlock{Items: []string{it}, Wait: "Shell>"})
		}
		blocks = append(blocks, sdk.MenuBlock{Enter: &enter, Wait: "Image"})
		return step(sdk.StepMenu, func(s *sdk.Step) {
			s.Menu = &sdk.MenuStep{Style: sdk.MenuNumbered, ItemMarkup: []string{"[", "]"}, ItemClass: "0-9", Separator: " ",
				LabelClass: `a-zA-Z0-9\s\:`, LineSeparator: "\r\n", SettleMS: 20, Blocks: blocks}
		})
	}
	con := &Console{Connect: bds, Replies: []Reply{Line("2", "UEFI Interactive Shell\r\nShell> "), Keys("ls\r", "Image  initrd\r\nShell> ")}, Timeout: 2 * time.Second}
	res, err := Execute(context.Background(), con, sdk.Plan{Steps: []sdk.Step{connect, menu("Shell")}})
	if err != nil {
		t.Fatalf("%v\n%s", err, failureReport(res))
	}
	if !slices.Equal(res.Received, []string{"2", "ls\r"}) {
		t.Errorf("received %q", res.Received)
	}
	con = &Console{Connect: bds, Timeout: 2 * time.Second}
	_, err = Execute(context.Background(), con, sdk.Plan{Steps: []sdk.Step{connect, menu("Reboot")}})
	if err == nil || !strings.Contains(err.Error(), `menu item "Reboot" not found`) || !strings.Contains(err.Error(), `"Boot Manager"`) {
		t.Errorf("error %v, want the missing item and the menu's labels", err)
	}
}
