package expect

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/lavalab/lavalab/sdk"
)

// LoginIncorrect is the error pattern Login watches for after it sent the
// user name and password.
const LoginIncorrect = "Login incorrect"

// ExpectPatterns compiles patterns and waits for them (see Expect).
func (e *Engine) ExpectPatterns(ctx context.Context, patterns []sdk.Pattern, timeout time.Duration) (Match, error) {
	set, err := Compile(patterns...)
	if err != nil {
		return Match{}, err
	}
	return e.Expect(ctx, set, timeout)
}

// ExpectStep runs an sdk expect step; ctx carries the step's deadline.
func (e *Engine) ExpectStep(ctx context.Context, step sdk.ExpectStep) (Match, error) {
	return e.ExpectPatterns(ctx, step.Patterns, 0)
}

// SendStep runs an sdk send step.
func (e *Engine) SendStep(ctx context.Context, step sdk.SendStep) error {
	return e.Send(ctx, step.Text, step.Newline, ms(step.CharDelayMS))
}

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// compileWithErrors compiles the wanted regexes followed by the error
// regexes as error patterns.
func compileWithErrors(want []string, errs []string) (*Set, error) {
	ps := Regexes(false, "", want...)
	ps = append(ps, Regexes(true, "", errs...)...)
	return Compile(ps...)
}

// Interrupt stops a bootloader: it waits for the interrupt prompt, sends
// the interrupt character (with the line ending when Newline is set), then
// waits for the bootloader prompt. An error message seen on the way fails
// it. ctx carries the step's deadline.
func (e *Engine) Interrupt(ctx context.Context, step sdk.InterruptStep) error {
	if step.Char == "" && !step.Newline {
		return errors.New("interrupt: neither a character nor a newline to send")
	}
	if step.Prompt == "" || step.BootloaderPrompt == "" {
		return errors.New("interrupt: the interrupt prompt and the bootloader prompt are both needed")
	}
	first, err := compileWithErrors([]string{step.Prompt}, step.Errors)
	if err != nil {
		return fmt.Errorf("interrupt: %w", err)
	}
	then, err := compileWithErrors([]string{step.BootloaderPrompt}, step.Errors)
	if err != nil {
		return fmt.Errorf("interrupt: %w", err)
	}
	if _, err := e.Expect(ctx, first, 0); err != nil {
		return fmt.Errorf("interrupt: %w", err)
	}
	if err := e.Send(ctx, step.Char, step.Newline, 0); err != nil {
		return fmt.Errorf("interrupt: %w", err)
	}
	if _, err := e.Expect(ctx, then, 0); err != nil {
		return fmt.Errorf("interrupt: %w", err)
	}
	return nil
}

// Commands sends bootloader commands one by one (LAVA's
// bootloader-commands action): before each command it drops the output not
// yet matched (a stray extra prompt must not count as this command's), sends
// the command with the line ending and, except after the last, waits for
// the prompt. After the last it waits for one of Final, if given. An error
// message fails the command it follows. ctx carries the step's deadline.
func (e *Engine) Commands(ctx context.Context, step sdk.CommandsStep) error {
	return e.CommandsEach(ctx, step, 0)
}

// CommandsEach is Commands with each wait (the prompt after a command, Final
// after the last) bounded by perCommand as well as by ctx: LAVA's
// connection timeout (timeouts.connections.bootloader-commands), so a
// command that never gives the prompt back fails after perCommand, naming
// the command, however long the step may take in total. perCommand <= 0
// leaves ctx alone to bound the waits.
func (e *Engine) CommandsEach(ctx context.Context, step sdk.CommandsStep, perCommand time.Duration) error {
	perCommand = max(perCommand, 0)
	prompt, err := compileWithErrors([]string{step.Prompt}, step.Errors)
	if step.Prompt == "" {
		err = errors.New("no prompt")
	}
	if err != nil {
		return fmt.Errorf("bootloader commands: %w", err)
	}
	var final *Set
	if len(step.Final) > 0 {
		if final, err = compileWithErrors(step.Final, step.Errors); err != nil {
			return fmt.Errorf("bootloader commands: %w", err)
		}
	}
	for i, cmd := range step.Commands {
		e.Discard()
		if err := e.Send(ctx, cmd, true, ms(step.CharDelayMS)); err != nil {
			return fmt.Errorf("bootloader command %d %s: %w", i+1, strconv.Quote(cmd), err)
		}
		if i == len(step.Commands)-1 {
			break
		}
		if _, err := e.Expect(ctx, prompt, perCommand); err != nil {
			return fmt.Errorf("bootloader command %d %s: %w", i+1, strconv.Quote(cmd), err)
		}
	}
	if final != nil {
		if _, err := e.Expect(ctx, final, perCommand); err != nil {
			last := ""
			if n := len(step.Commands); n > 0 {
				last = " " + strconv.Quote(step.Commands[n-1])
			}
			return fmt.Errorf("bootloader commands: after the last command%s: %w", last, err)
		}
	}
	return nil
}

// Login answers a login prompt (LAVA's auto_login): it waits for the login
// prompt and sends the user name; with a password prompt, waits for it and
// sends the password, failing on "Login incorrect"; then sends each login
// command. Whether the login worked shows only later: the next WaitShell
// fails on "Login incorrect". ctx carries the step's deadline.
func (e *Engine) Login(ctx context.Context, step sdk.LoginStep) error {
	if step.LoginPrompt == "" || step.Username == "" {
		return errors.New("login: the login prompt and the user name are both needed")
	}
	if _, err := e.ExpectPatterns(ctx, Regexes(false, "", step.LoginPrompt), 0); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	if err := e.Send(ctx, step.Username, true, 0); err != nil {
		return fmt.Errorf("login: %w", err)
	}
	if step.PasswordPrompt != "" {
		ps := append(Regexes(false, "", step.PasswordPrompt), Regexes(true, "login refused", LoginIncorrect)...)
		if _, err := e.ExpectPatterns(ctx, ps, 0); err != nil {
			return fmt.Errorf("login: %w", err)
		}
		if err := e.send(ctx, step.Password, true, 0, "the password"); err != nil {
			return fmt.Errorf("login: %w", err)
		}
	}
	e.mu.Lock()
	e.loggedIn = true
	e.mu.Unlock()
	for _, cmd := range step.LoginCommands {
		if err := e.Send(ctx, cmd, true, 0); err != nil {
			return fmt.Errorf("login: login command: %w", err)
		}
	}
	return nil
}

// WaitShell waits for one of the shell prompts. After Login it also fails
// on "Login incorrect". ctx carries the step's deadline.
func (e *Engine) WaitShell(ctx context.Context, step sdk.ShellStep) (Match, error) {
	if len(step.Prompts) == 0 {
		return Match{}, errors.New("wait for shell: no prompts")
	}
	ps := Regexes(false, "", step.Prompts...)
	e.mu.Lock()
	if e.loggedIn {
		ps = append(ps, Regexes(true, "login refused", LoginIncorrect)...)
		e.loggedIn = false
	}
	e.mu.Unlock()
	m, err := e.ExpectPatterns(ctx, ps, 0)
	if err != nil {
		return m, fmt.Errorf("wait for shell: %w", err)
	}
	return m, nil
}
