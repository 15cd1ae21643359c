package dispatch

// Issue 17 (uefi-menu): the menu step, LAVA's uefi-menu selector
// (core/expect's Engine.Menu walks the menu).

import (
	"context"
	"errors"
	"slices"

	"github.com/lavalab/lavalab/core/expect"
	"github.com/lavalab/lavalab/sdk"
)

// keepRawFor makes the console keep its raw output (the screen a firmware
// draws) from the start of a plan that walks a menu, for the rest of the
// job: the screen is drawn by the steps before the menu step. Other jobs'
// consoles keep none (up to 512 KiB each).
func (j *run) keepRawFor(plan sdk.Plan) {
	if j.keepRaw || !slices.ContainsFunc(plan.Steps, func(s sdk.Step) bool { return s.Kind == sdk.StepMenu }) {
		return
	}
	j.keepRaw = true
	if j.eng != nil {
		j.eng.KeepRaw()
	}
}

// menu runs a menu step. As in LAVA (JobError "No selection was made",
// "wait for prompt timed out"), an item that is not on the menu, an error
// message or a prompt that never comes is a job error; a lost console is
// the infrastructure's.
func (j *run) menu(ctx context.Context, s *sdk.MenuStep) error {
	err := j.eng.Menu(ctx, *s, func(f string, a ...any) { j.log.info(f, a...) })
	var me *expect.MenuError
	var pe *expect.PatternError
	var te *expect.TimeoutError
	if err != nil && (errors.As(err, &me) || errors.As(err, &pe) || errors.As(err, &te)) {
		return errorf(sdk.ErrorJob, "%v", err)
	}
	return err
}
