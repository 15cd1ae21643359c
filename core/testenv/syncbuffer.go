package testenv

import (
	"bytes"
	"strings"
	"sync"
	"time"
)

// SyncBuffer is a bytes.Buffer a process or goroutine may write while a test
// reads it.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// WaitFor waits (at most within) until the buffer holds sub; false if it
// never does.
func (s *SyncBuffer) WaitFor(sub string, within time.Duration) bool {
	for end := time.Now().Add(within); ; time.Sleep(50 * time.Millisecond) {
		if strings.Contains(s.String(), sub) {
			return true
		}
		if time.Now().After(end) {
			return false
		}
	}
}
