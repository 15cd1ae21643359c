//go:build linux || darwin || freebsd || netbsd || openbsd

package worker

import "syscall"

// diskFree is the space free to unprivileged users in dir's file system
// (-1 if unknown).
func diskFree(dir string) int64 {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return -1
	}
	return int64(uint64(st.Bavail) * uint64(st.Bsize))
}
