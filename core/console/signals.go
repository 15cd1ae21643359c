package console

import (
	"os"
	"os/signal"
	"syscall"
)

// RestoreChildSignals makes the console processes this program starts get
// SIGHUP's default action, even when the program itself was started with
// SIGHUP ignored (under nohup, or a supervisor that ignores it). An ignored
// signal stays ignored across exec, so an interactive shell (the `local`
// device type's console), which ignores SIGTERM itself, would then outlive
// Close's SIGTERM and SIGHUP until the SIGKILL after killGrace: every job
// would end seconds after its work. A signal the program catches is reset to
// its default in a child, so when SIGHUP is ignored at start this catches it
// (and drops it: the program keeps ignoring it, as its starter asked). It
// returns whether SIGHUP was ignored. Call it once, at start, from main.
func RestoreChildSignals() bool {
	if !signal.Ignored(syscall.SIGHUP) {
		return false
	}
	signal.Notify(make(chan os.Signal, 1), syscall.SIGHUP)
	return true
}
