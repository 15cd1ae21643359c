//go:build !linux

package wasm

import "github.com/tetratelabs/wazero/experimental"

// memoryPool is Linux's only: elsewhere instances use wazero's own memory.
type memoryPool struct{}

func newMemoryPool(int) *memoryPool { return nil }

func (*memoryPool) allocator() experimental.MemoryAllocator { return nil }

func (*memoryPool) close() {}
