package wasm

import (
	"bytes"
	"testing"
	"time"
)

func TestMemoryPoolReusesZeroedMappings(t *testing.T) {
	p := newMemoryPool(1)
	defer p.close()
	const max = 1 << 20
	a := p.Allocate(0, max)
	buf := a.Reallocate(4096)
	copy(buf, "dirty")
	grown := a.Reallocate(8192)
	if &grown[0] != &buf[0] || !bytes.HasPrefix(grown, []byte("dirty")) {
		t.Fatal("growing moved or lost the memory")
	}
	grown[8191] = 1
	if a.Reallocate(max+1) != nil {
		t.Fatal("grew past the maximum")
	}
	a.Free()

	b := p.Allocate(0, max)
	got := b.Reallocate(max)
	if &got[0] != &buf[0] {
		t.Fatal("the free mapping was not reused")
	}
	if !bytes.Equal(got, make([]byte, max)) {
		t.Fatal("a reused mapping is not zeroed")
	}
	// A second one while b is in use: a new mapping.
	c := p.Allocate(0, max)
	if cb := c.Reallocate(16); &cb[0] == &got[0] {
		t.Fatal("one mapping handed out twice")
	}
	copy(got, "dirty again")
	b.Free()
	c.Free() // the pool keeps one: c is unmapped

	// Unused for releaseAfter, the free mapping gives its pages back and
	// still reads as zeros when reused.
	deadline := time.Now().Add(10 * time.Second)
	for {
		p.mu.Lock()
		released := len(p.free) == 1 && p.free[0].used == 0
		p.mu.Unlock()
		if released {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the free mapping kept its pages")
		}
		time.Sleep(50 * time.Millisecond)
	}
	d := p.Allocate(0, max)
	if !bytes.Equal(d.Reallocate(max), make([]byte, max)) {
		t.Fatal("a released mapping does not read as zeros")
	}
	d.Free()
}
