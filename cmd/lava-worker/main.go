package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/lavalab/lavalab/core/console"
	"github.com/lavalab/lavalab/core/worker"
)

func main() {
	// Started under nohup (SIGHUP ignored), the console processes would
	// inherit the ignore and outlive the console's close by seconds.
	console.RestoreChildSignals()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	// After the first signal the default action is back: a second SIGTERM
	// or SIGINT ends the worker at once (the first one's stop is bounded
	// anyway: --shutdown-grace plus a few seconds).
	context.AfterFunc(ctx, stop)
	code := worker.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, worker.NewDispatchRunner)
	stop()
	os.Exit(code)
}
