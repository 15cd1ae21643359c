package wasm

import (
	"sync"
	"syscall"

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
type memoryPool struct {
	mu   sync.Mutex
	free []*mappedMemory
	max  int // free mappings kept
}

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

// close unmaps the free mappings.
func (p *memoryPool) close() {
	p.mu.Lock()
	free := p.free
	p.free = nil
	p.max = 0
	p.mu.Unlock()
	for _, m := range free {
		_ = syscall.Munmap(m.buf)
	}
}

// mappedMemory is one mapping; used is the most of it handed out.
type mappedMemory struct {
	pool *memoryPool
	buf  []byte
	used uint64
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
		p.free = append(p.free, m)
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
