// Package outbox sends the notifications the store queued (core/notify):
// a Sender, run by lava-server, claims the due ones, sends each in a
// goroutine of its own with a timeout (at most Concurrency at once, so a
// slow or dead receiver neither delays the scheduler nor the other
// receivers), records every attempt's status code or error, and retries
// with exponential backoff up to MaxAttempts, across restarts (the state
// is in the store).
package outbox
