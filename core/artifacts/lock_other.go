//go:build !unix

package artifacts

import (
	"context"
	"os"
)

// lockFile is a no-op where flock is unavailable: only the in-process
// de-duplication applies.
func lockFile(ctx context.Context, name string) (func(), error) {
	return func() {}, ctx.Err()
}

// linkCount is 1 where link counts are not known: only the in-process
// uses protect an entry.
func linkCount(fi os.FileInfo) uint64 { return 1 }
