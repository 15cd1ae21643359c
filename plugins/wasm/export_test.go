package wasm

import (
	"context"
	"time"
)

// WaitPrewarmed waits until the module's pool of prewarmed instances is full.
func (m *Module) WaitPrewarmed(ctx context.Context) error {
	for len(m.pool) < cap(m.pool) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Microsecond):
		}
	}
	return nil
}
