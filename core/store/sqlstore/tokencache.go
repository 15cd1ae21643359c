package sqlstore

import (
	"slices"
	"sync"
	"time"

	"github.com/lavalab/lavalab/core/model"
)

// TokenCacheTTL is how long UserByTokenHash answers a token it has just
// looked up from memory. Authentication runs on every API request: two
// queries per submission were a sixth of the server's CPU. Changes made
// through this store (token deleted, admin rights, group membership)
// empty the cache at once; a change made by another process (another
// server instance on the same PostgreSQL database) is seen within this
// time.
const TokenCacheTTL = 2 * time.Second

// maxCachedTokens bounds the cache; past it, the cache starts over.
const maxCachedTokens = 4096

// tokenCache remembers recent token lookups (found ones only: a token
// just created is found by the database).
type tokenCache struct {
	mu  sync.Mutex
	gen uint64 // bumped by every invalidation
	m   map[string]cachedUser
}

type cachedUser struct {
	u     model.User
	until time.Time
}

// generation returns the current generation, to pass to put: an entry
// read from the database before an invalidation is not stored after it.
func (c *tokenCache) generation() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gen
}

func (c *tokenCache) get(hash []byte, now time.Time) (model.User, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[string(hash)]
	if !ok || !now.Before(e.until) {
		return model.User{}, false
	}
	u := e.u
	u.Groups = slices.Clone(u.Groups)
	return u, true
}

func (c *tokenCache) put(hash []byte, u model.User, gen uint64, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if c.m == nil || len(c.m) >= maxCachedTokens {
		c.m = make(map[string]cachedUser)
	}
	u.Groups = slices.Clone(u.Groups)
	c.m[string(hash)] = cachedUser{u: u, until: now.Add(TokenCacheTTL)}
}

// invalidate forgets every entry; callers call it after committing a
// change to users, tokens or group membership.
func (c *tokenCache) invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	c.m = nil
}

// ForgetCached drops what the store caches from the database (the API
// token cache): for a backend that learns another process changed the
// database (SQLite's change watcher), so a token that process deleted stops
// working at once rather than after TokenCacheTTL.
func (s *DB) ForgetCached() { s.tokens.invalidate() }
