package lab

import (
	"strconv"
	"strings"
	"sync"
	"time"
)

// availTTL is how long a positive "devices exist for this job" answer is
// reused. Submissions come in bursts for the same device types; reading
// every device of the type on each one was a sixth of a submission's cost.
// Only positive answers are kept: a job for a type that just got its first
// device is accepted at once, and one for a type whose last device was
// retired in the last availTTL is accepted and waits in the queue (where
// its queue timeout, if any, ends it) instead of being refused.
const availTTL = 2 * time.Second

// availCache remembers positive availability answers for availTTL.
type availCache struct {
	mu   sync.Mutex
	seen map[string]time.Time
	now  func() time.Time
}

func newAvailCache() *availCache {
	return &availCache{seen: make(map[string]time.Time), now: time.Now}
}

func availKey(deviceType string, tags []string, count int) string {
	return deviceType + "\x00" + strings.Join(tags, "\x00") + "\x00" + strconv.Itoa(count)
}

func (c *availCache) ok(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	at, found := c.seen[key]
	return found && c.now().Sub(at) < availTTL
}

func (c *availCache) remember(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if len(c.seen) > 4096 {
		for k, at := range c.seen {
			if now.Sub(at) >= availTTL {
				delete(c.seen, k)
			}
		}
		if len(c.seen) > 4096 {
			clear(c.seen)
		}
	}
	c.seen[key] = now
}
