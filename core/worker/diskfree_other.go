//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package worker

// diskFree is unknown here.
func diskFree(string) int64 { return -1 }
