package dispatch

import (
	"context"
	"fmt"
	"time"

	"github.com/lavalab/lavalab/core/expect"
	"github.com/lavalab/lavalab/core/testshell"
	"github.com/lavalab/lavalab/sdk"
)

// testShell runs one test stage of the overlay on the shell the boot
// reached: it sends the overlay over the console when no deployed image
// carries it, starts lava-test-runner on the stage and parses the signals
// until the runner exits.
func (j *run) testShell(ctx context.Context, st *stage, s *sdk.TestShellStep) error {
	// Issue 18: a driver plans every test action as the test shell; a
	// monitors test action watches the console instead.
	if ms := sdk.MonitorsOf(st.Action.Params); ms != nil {
		return j.monitors(ctx, st, &sdk.MonitorStep{Monitors: ms})
	}
	if st.Action.Params["interactive"] != nil {
		return j.interactive(ctx, st, s)
	}
	if st.Action.Params["docker"] != nil {
		return j.dockerTest(ctx, st) // issue 21: docker.go
	}
	if st.TestStage < 0 || j.overlay == nil {
		return errorf(sdk.ErrorJob, "test action without definitions: only `definitions` test actions are supported")
	}
	if j.eng == nil {
		return errorf(sdk.ErrorJob, "no shell to run the tests in: the job needs a boot action before its test action")
	}
	prompts := s.Prompts
	if len(prompts) == 0 {
		prompts = j.prompts
	}
	if len(prompts) == 0 {
		return errorf(sdk.ErrorJob, "no shell prompt known: the boot action needs `prompts`")
	}
	pset, err := expect.Compile(expect.Regexes(false, "", prompts...)...)
	if err != nil {
		return errorf(sdk.ErrorJob, "prompts: %v", err)
	}
	delay := time.Duration(s.CharDelayMS) * time.Millisecond
	send := func(line string, wait bool) error {
		if err := j.eng.Send(ctx, line, true, delay); err != nil {
			return err
		}
		if !wait {
			return nil
		}
		_, err := j.eng.Expect(ctx, pset, 0)
		return err
	}
	if !j.overlayOn {
		// One file per job: jobs on one host (local devices) do not collide.
		lines, err := j.overlay.ConsoleCommands(ctx, testshell.ConsoleOptions{TempFile: "/tmp/lava-overlay-" + j.id + ".b64"})
		if err != nil {
			return errorf(sdk.ErrorBug, "overlay over the console: %v", err)
		}
		j.log.info("sending the test overlay over the console (%d lines)", len(lines))
		for _, l := range lines {
			if err := send(l, true); err != nil {
				return errorf(sdk.ErrorInfrastructure, "sending the overlay: %v", err)
			}
		}
		j.overlayOn = true
	}
	var runs []testshell.Run
	for _, r := range j.overlay.Runs {
		if r.Stage == st.TestStage {
			runs = append(runs, r)
		}
	}
	parser, err := testshell.NewParser(testshell.ParserOptions{Runs: runs, Level: st.Action.Level, Namespace: st.Action.Namespace})
	if err != nil {
		return errorf(sdk.ErrorJob, "%v", err)
	}
	found := j.log.startParser(parser)
	defer j.log.stopParser()

	start := j.overlay.StartCommands(st.TestStage)
	for i, l := range start {
		j.log.input(l)
		if err := send(l, i < len(start)-1); err != nil {
			return err
		}
	}
	for {
		select {
		case r := <-found:
			if r.Kind == testshell.KindMultinode {
				if err := j.shellMultinode(ctx, r, delay); err != nil {
					return err
				}
				continue
			}
			if r.Kind == testshell.KindError {
				return errorf(sdk.ErrorTest, "%s", r.Text)
			}
			// The runner exited: wait for the prompt so that the next
			// action starts on a quiet shell.
			_, _ = j.eng.Expect(ctx, pset, 10*time.Second)
			return nil
		case <-j.eng.Done():
			return errorf(sdk.ErrorInfrastructure, "console closed during the test shell: %v", j.eng.Err())
		case <-ctx.Done():
			return fmt.Errorf("lava-test-shell: %w", context.Cause(ctx))
		}
	}
}
