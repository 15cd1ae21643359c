package dispatch

// Issue 18: a tool step's files (a JLinkExe command script).

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/sandbox"
	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/sdk"
)

func TestToolFiles(t *testing.T) {
	cat := testenv.NeedTool(t, "cat")
	rec := &recorder{}
	j := &run{log: newJobLog(rec), dir: t.TempDir(), id: "18"}
	s := sdk.Step{Kind: sdk.StepTool, Name: "flash-jlink", Tool: &sdk.ToolStep{Name: "cat", Args: []string{sdk.ToolFileRef("cmd.jlink"), "-"}},
		ToolFiles: []sdk.ToolFile{{Name: "cmd.jlink", Text: "r\nloadfile /x/z.bin 0x0\nqc\n"}}}
	if err := s.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := j.runToolStep(ctx, s, &sandbox.Tool{Name: "cat", Path: cat, Args: s.Tool.Args}); err != nil {
		t.Fatalf("%v\n%s", err, rec.text())
	}
	for _, want := range []string{">> r", ">> loadfile /x/z.bin 0x0", ">> qc"} {
		if !rec.has(model.LevelDebug, want) {
			t.Errorf("the tool did not read its file: no %q in\n%s", want, rec.text())
		}
	}
	// The files are gone once the tool has run.
	if left, _ := filepath.Glob(filepath.Join(j.dir, "tool-files-*")); len(left) != 0 {
		t.Errorf("tool files left behind: %v", left)
	}
	if _, err := os.Stat(j.dir); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"../x", "a/b", "{file:x}", ""} {
		s.ToolFiles = []sdk.ToolFile{{Name: bad}}
		if s.Validate() == nil {
			t.Errorf("tool file name %q accepted", bad)
		}
	}
}
