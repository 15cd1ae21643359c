package sqlstore

import (
	"context"
	"sync"
)

// group commits concurrent calls together (group commit): a call queues
// its request; the first caller to find no commit under way becomes the
// committer and commits the queued requests, at most max at a time, until
// the queue is empty; every caller returns once its request is answered
// (commit closes the request's done channel). A committer does not stop
// when its own context ends: the requests it took must be answered.
type group[R any] struct {
	mu         sync.Mutex
	pending    []R
	committing bool
}

// do queues r and returns when done is closed.
func (g *group[R]) do(ctx context.Context, r R, done <-chan struct{}, max int, commit func(context.Context, []R)) {
	g.mu.Lock()
	g.pending = append(g.pending, r)
	if g.committing {
		g.mu.Unlock()
		<-done
		return
	}
	g.committing = true
	g.mu.Unlock()
	cctx := context.WithoutCancel(ctx)
	for {
		g.mu.Lock()
		n := min(len(g.pending), max)
		batch := g.pending[:n:n]
		g.pending = g.pending[n:]
		if n == 0 {
			g.committing = false
			g.pending = nil
			g.mu.Unlock()
			break
		}
		g.mu.Unlock()
		commit(cctx, batch)
	}
	<-done
}
