package wasm

import (
	"sync"
	"syscall"
	"time"

	"github.com/tetratelabs/wazero/experimental"
)

// memoryPool backs instances' linear memories with anonymous mappings of
// the memory cap, reused from one instance to the next.
//
// wazero's default keeps a linear memory in a Go slice that it grows by
// copying: a Go driver's few MB of heap, grown a page at a time, leaves
// about 11 MB of garbage per instance, so the host's garbage collector
// runs about once per call, and a call that meets a collection is several
// times slower. A mapping grows in place (nothing copied, nothing left to
// the collector), and a reused one has its pages in memory already (a
// fresh mapping pays a page fault for every page the driver touches). A
// reused mapping is zeroed, as far as its last user wrote, when it is
// handed out: before the module's data is copied in, and in the prewarmed
// instance's start-up rather than in a call.
//
// A free mapping unused for releaseAfter gives its pages back to the system
// (madvise DONTNEED: the mapping stays, reads as zeros, and costs page
// faults again on its next use), so an idle host holds no instance memory.
type memoryPool struct {
	mu    sync.Mutex
	free  []*mappedMemory
	max   int         // free mappings kept
	timer *time.Timer // the next release, while a free mapping holds pages
}

// releaseAfter is how long a free mapping keeps its pages.
const releaseAfter = time.Second

func newMemoryPool(keep int) *memoryPool { return &memoryPool{max: keep} }

// allocator returns the pool as a wazero memory allocator.
func (p *memoryPool) allocator() experimental.MemoryAllocator { return p }

// Allocate implements experimental.MemoryAllocator.
func (p *memoryPool) Allocate(capacity, max uint64) experimental.LinearMemory {
	if max == 0 || max > 1<<32 {
		return &sliceMemory{buf: make([]byte, 0, capacity)}
	}
	p.mu.Lock()
	for i, m := range p.free {
		if uint64(len(m.buf)) == max {
			p.free = append(p.free[:i], p.free[i+1:]...)
			p.mu.Unlock()
			clear(m.buf[:m.used])
			m.used = 0
			return m
		}
	}
	p.mu.Unlock()
	b, err := syscall.Mmap(-1, 0, int(max), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		// No address space left: wazero's way, a slice grown by copying.
		return &sliceMemory{buf: make([]byte, 0, capacity)}
	}
	return &mappedMemory{pool: p, buf: b}
}

// release gives back the pages of the mappings free for releaseAfter, and
// comes back for the others.
func (p *memoryPool) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.timer = nil
	var next time.Duration
	for _, m := range p.free {
		if m.used == 0 {
			continue
		}
		if idle := time.Since(m.freed); idle < releaseAfter {
			if wait := releaseAfter - idle; next == 0 || wait < next {
				next = wait
			}
			continue
		}
		if syscall.Madvise(m.buf[:m.used], syscall.MADV_DONTNEED) == nil {
			m.used = 0 // the kernel hands zero pages from now on
		}
	}
	if next > 0 {
		p.timer = time.AfterFunc(next, p.release)
	}
}

// close unmaps the free mappings.
func (p *memoryPool) close() {
	p.mu.Lock()
	free := p.free
	p.free = nil
	p.max = 0
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	p.mu.Unlock()
	for _, m := range free {
		_ = syscall.Munmap(m.buf)
	}
}

// mappedMemory is one mapping; used is the most of it handed out.
type mappedMemory struct {
	pool  *memoryPool
	buf   []byte
	used  uint64
	freed time.Time // when it went back to the pool
}

func (m *mappedMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(m.buf)) {
		return nil
	}
	m.used = max(m.used, size)
	return m.buf[:size]
}

// Free returns the mapping to the pool, or unmaps it when the pool is full.
func (m *mappedMemory) Free() {
	p := m.pool
	p.mu.Lock()
	if len(p.free) < p.max {
		m.freed = time.Now()
		p.free = append(p.free, m)
		if p.timer == nil {
			p.timer = time.AfterFunc(releaseAfter, p.release)
		}
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	_ = syscall.Munmap(m.buf)
}

// sliceMemory is wazero's default: a slice grown by copying.
type sliceMemory struct{ buf []byte }

func (m *sliceMemory) Reallocate(size uint64) []byte {
	if size > uint64(cap(m.buf)) {
		m.buf = append(m.buf[:cap(m.buf)], make([]byte, size-uint64(cap(m.buf)))...)
	}
	m.buf = m.buf[:size]
	return m.buf
}

func (m *sliceMemory) Free() { m.buf = nil }
