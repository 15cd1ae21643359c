package dispatch

// Issue 18: the files a tool step's tool reads (sdk.Step.ToolFiles).

import (
	"context"
	"os"
	"path/filepath"
	"strings"

	"github.com/lavalab/lavalab/core/sandbox"
	"github.com/lavalab/lavalab/sdk"
)

// runToolStep runs a tool (or flash) step: with tool files, it writes them
// into a fresh folder of the job, replaces {file:NAME} in the arguments
// with their paths, runs the tool and removes the folder.
func (j *run) runToolStep(ctx context.Context, s sdk.Step, t *sandbox.Tool) error {
	if len(s.ToolFiles) == 0 {
		return j.runTool(ctx, t, 0)
	}
	dir, err := os.MkdirTemp(j.dir, "tool-files-")
	if err != nil {
		return errorf(sdk.ErrorInfrastructure, "tool files: %v", err)
	}
	defer os.RemoveAll(dir)
	pairs := make([]string, 0, 2*len(s.ToolFiles))
	for _, f := range s.ToolFiles {
		p := filepath.Join(dir, f.Name)
		if err := os.WriteFile(p, []byte(f.Text), 0o644); err != nil {
			return errorf(sdk.ErrorInfrastructure, "tool file %s: %v", f.Name, err)
		}
		j.log.debug("tool file %s:\n%s", f.Name, strings.TrimRight(f.Text, "\n"))
		pairs = append(pairs, sdk.ToolFileRef(f.Name), p)
	}
	r := strings.NewReplacer(pairs...)
	args := make([]string, len(t.Args))
	for i, a := range t.Args {
		args[i] = r.Replace(a)
	}
	tt := *t
	tt.Args = args
	return j.runTool(ctx, &tt, 0)
}
