package workerproto

import (
	"sync"
	"time"
)

// HostStatus is what a worker reports of its host on each poll, beside
// its spools (PollRequest.Host); the server shows the last report of each
// worker in /metrics and on the workers page, and the worker in its own
// /metrics.
type HostStatus struct {
	// DiskFreeBytes is the space free (to the worker's user) in its work
	// folder's file system; -1 where unknown.
	DiskFreeBytes int64 `json:"disk_free_bytes"`
	// ArtifactCacheBytes is the size of the artifact download cache;
	// ArtifactCacheHits and ArtifactCacheMisses count the cached
	// downloads served from it or fetched since the worker started.
	ArtifactCacheBytes  int64 `json:"artifact_cache_bytes"`
	ArtifactCacheHits   int64 `json:"artifact_cache_hits"`
	ArtifactCacheMisses int64 `json:"artifact_cache_misses"`
	// JobsRunning is how many jobs the worker runs or still reports.
	JobsRunning int64 `json:"jobs_running"`
}

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
	last HostStatus
}

func (p *hostProbe) get(w *Worker) HostStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.at.IsZero() && time.Since(p.at) < hostStatusEvery {
		st := p.last
		st.JobsRunning = int64(len(w.Jobs()))
		return st
	}
	st := HostStatus{DiskFreeBytes: diskFree(w.o.WorkDir), JobsRunning: int64(len(w.Jobs()))}
	if cr, ok := w.o.Runner.(CacheReporter); ok {
		c := cr.ArtifactCacheStats()
		st.ArtifactCacheBytes, st.ArtifactCacheHits, st.ArtifactCacheMisses = c.Bytes, c.Hits, c.Misses
	}
	p.at, p.last = time.Now(), st
	return st
}
