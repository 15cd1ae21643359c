package dispatch

// Issue 17 (uefi-menu): the menu step, LAVA's uefi-menu selector
// (core/expect's Engine.Menu walks the menu).

import (
	"context"
	"errors"

	"github.com/lavalab/lavalab/core/expect"
	"github.com/lavalab/lavalab/sdk"
)

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
