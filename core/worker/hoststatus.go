package worker

import (
	"github.com/lavalab/lavalab/core/workerproto"
	"sync"
	"time"
)

// CacheStats are the artifact cache's figures a Runner may give
// (CacheReporter).
type CacheStats struct {
	Bytes, Hits, Misses int64
}

// CacheReporter is a Runner that reports its artifact cache.
type CacheReporter interface {
	ArtifactCacheStats() CacheStats
}

// hostStatusEvery bounds how often the host figures are measured (the
// cache size walks its folder).
const hostStatusEvery = 10 * time.Second

// hostProbe measures the host figures, at most every hostStatusEvery.
type hostProbe struct {
	mu   sync.Mutex
	at   time.Time
	last workerproto.HostStatus
}

func (p *hostProbe) get(w *Worker) workerproto.HostStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.at.IsZero() && time.Since(p.at) < hostStatusEvery {
		st := p.last
		st.JobsRunning = int64(len(w.Jobs()))
		return st
	}
	st := workerproto.HostStatus{DiskFreeBytes: diskFree(w.o.WorkDir), JobsRunning: int64(len(w.Jobs()))}
	if cr, ok := w.o.Runner.(CacheReporter); ok {
		c := cr.ArtifactCacheStats()
		st.ArtifactCacheBytes, st.ArtifactCacheHits, st.ArtifactCacheMisses = c.Bytes, c.Hits, c.Misses
	}
	p.at, p.last = time.Now(), st
	return st
}
