//go:build !unix

package artifacts

import "context"

// lockFile is a no-op where flock is unavailable: only the in-process
// de-duplication applies.
func lockFile(ctx context.Context, name string) (func(), error) {
	return func() {}, ctx.Err()
}
