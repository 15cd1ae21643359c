package main

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/sdk"
	"github.com/lavalab/lavalab/sdk/sdktest"
)

// shell is a scripted sh in a pty: it prints "$ ", echoes what it
// receives and, when answer is set, changes its prompt on export PS1.
func shell(answer bool) *sdktest.Console {
	con := &sdktest.Console{Connect: "$ ", Echo: true, Otherwise: "$ "}
	if answer {
		con.Replies = []sdktest.Reply{sdktest.Prefix("export PS1=", "lava-local: # ")}
	}
	return con
}

// TestKitBoot builds the driver to WASM, loads it as a worker does and
// boots a scripted shell: the driver sets the prompt and waits for it; the
// user command and the test shell are recorded, not run.
func TestKitBoot(t *testing.T) {
	d := sdktest.BuildAndLoad(t, ".").AllowTools(t, "sh@local")
	job := sdktest.Job{Dictionary: sdk.Values{"user_commands": map[string]any{"hello": map[string]any{"do": "echo hello"}}}}
	res := d.Run(t, shell(true),
		d.Request(job, sdktest.Deploy("local", nil)),
		d.Request(job, sdktest.Boot("local", nil)),
		d.Request(job, sdktest.Command("hello")),
		d.Request(job, sdktest.Test(nil)))
	if got, want := strings.Join(res.Kinds(), " "), "connect send wait_shell host test_shell"; got != want {
		t.Errorf("steps: %s\nwant:  %s", got, want)
	}
	if len(res.Received) != 1 || !strings.HasPrefix(res.Received[0], "export PS1=") {
		t.Errorf("the shell received %q, want the prompt's export", res.Received)
	}
	if i := slices.IndexFunc(res.Steps, func(s sdktest.StepRun) bool { return s.Kind == sdk.StepHost }); i < 0 || res.Steps[i].Ran {
		t.Errorf("the user command should be recorded, not run: %+v", res.Steps)
	}
}

// The echo of the export command does not count as the new prompt: a
// shell that ignores the export leaves the driver waiting.
func TestKitPromptNotInEcho(t *testing.T) {
	d := sdktest.BuildAndLoad(t, ".").AllowTools(t, "sh@local")
	con := shell(false)
	con.Timeout = 300 * time.Millisecond
	_, err := d.Exec(context.Background(), con, d.Request(sdktest.Job{}, sdktest.Boot("local", nil)))
	var se *sdktest.StepError
	if !errors.As(err, &se) || se.Step.Kind != sdk.StepShell {
		t.Fatalf("want the wait for the prompt to fail, got %v\n%s", err, con.Transcript())
	}
}

// The kit applies a worker's sandbox: without the shell allowed (as on a
// worker started without --allow-tool sh@local) the boot plan is refused,
// and nothing reaches the console.
func TestKitShellNeedsAllowing(t *testing.T) {
	d := sdktest.BuildAndLoad(t, ".")
	con := shell(true)
	res, err := d.Exec(t.Context(), con, d.Request(sdktest.Job{}, sdktest.Boot("local", nil)))
	if err == nil || !strings.Contains(err.Error(), "lava-worker --allow-tool sh@local") {
		t.Fatalf("want the sandbox's refusal naming the flag, got %v", err)
	}
	if len(res.Steps) != 0 || len(con.Received()) != 0 {
		t.Fatalf("a refused plan ran steps: %+v", res.Steps)
	}
}
