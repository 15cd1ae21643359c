package rewrite

import (
	"errors"
	"fmt"
)

// MaxLocals bounds the locals a function may declare (the limit browsers
// use): the runtime allocates them all before it reads the code.
const MaxLocals = 50_000

// errCount is a vector count or a byte length beyond what is left to read.
var errCount = errors.New("declares more entries or bytes than the module holds")

// Check walks the module's structure and refuses one whose counts and
// lengths claim more than it holds: wazero's decoder allocates what a
// count says before it reads the entries, so a module of a few dozen bytes
// declaring four billion exports, locals or data bytes would make the host
// allocate gigabytes and die. Every vector count is bounded by the bytes
// left (each entry takes at least one), every byte length by the bytes
// left, and a function's locals by MaxLocals. A module that passes may
// still be invalid: the runtime's validation says so.
func Check(module []byte) error {
	if len(module) < 8 || string(module[:4]) != "\x00asm" {
		return errors.New("not a WebAssembly module (no \\0asm header)")
	}
	r := reader{b: module, i: 8}
	for !r.done() {
		id := r.byte()
		body := r.bytes(int(r.u32()))
		if r.err != nil {
			return fmt.Errorf("section %d: %w", id, r.err)
		}
		if err := checkSection(id, body); err != nil {
			return fmt.Errorf("section %d: %w", id, err)
		}
	}
	return nil
}

func checkSection(id byte, b []byte) error {
	if int(id) >= len(order) || (id != 0 && order[id] == 0) {
		return fmt.Errorf("unknown section: %w", ErrUnsupported)
	}
	r := &reader{b: b}
	switch id {
	case 0: // custom: wazero decodes the "name" section
		if n := r.name(); r.err == nil && string(n) == "name" {
			checkNames(r)
		}
		return r.err
	case 8, 12: // start, data count: one number
		r.u32()
		return r.err
	}
	n := r.count()
	for i := uint32(0); i < n && r.err == nil; i++ {
		switch id {
		case 1: // type
			if form := r.byte(); form != 0x60 {
				return fmt.Errorf("type %d: form 0x%02x: %w", i, form, ErrUnsupported)
			}
			r.skipCount(1)
			r.skipCount(1)
		case 2: // import
			r.importEntry()
		case 3: // function
			r.u32()
		case 4: // table
			r.byte()
			r.limits()
		case 5: // memory
			r.limits()
		case 6: // global
			r.byte()
			r.byte()
			r.constExpr()
		case 7: // export
			r.name()
			r.byte()
			r.u32()
		case 9: // element
			r.element()
		case 10: // code
			r.function()
		case 11: // data
			switch flag := r.u32(); flag {
			case 0:
				r.constExpr()
			case 1:
			case 2:
				r.u32()
				r.constExpr()
			default:
				return fmt.Errorf("data segment %d: flag %d: %w", i, flag, ErrUnsupported)
			}
			r.bytes(int(r.u32()))
		case 13: // tag
			r.byte()
			r.u32()
		default:
			return fmt.Errorf("unknown section: %w", ErrUnsupported)
		}
	}
	if r.err != nil {
		return r.err
	}
	if !r.done() {
		return fmt.Errorf("%d bytes after its last entry", len(b)-r.i)
	}
	return nil
}

// count reads a vector count and bounds it by the bytes left.
func (r *reader) count() uint32 {
	n := r.u32()
	if r.err == nil && uint64(n) > uint64(len(r.b)-r.i) {
		r.fail(fmt.Errorf("a vector of %d entries in %d bytes: %w", n, len(r.b)-r.i, errCount))
		return 0
	}
	return n
}

// skipCount skips a vector of entries of size bytes each.
func (r *reader) skipCount(size int) {
	n := r.count()
	r.bytes(int(n) * size)
}

// constExpr skips a constant expression up to its end.
func (r *reader) constExpr() {
	for r.err == nil {
		switch op := r.byte(); {
		case op == 0x0b:
			return
		case op == 0x41:
			r.leb(5)
		case op == 0x42:
			r.leb(10)
		case op == 0x43:
			r.bytes(4)
		case op == 0x44:
			r.bytes(8)
		case op == 0x23, op == 0xd2: // global.get, ref.func
			r.u32()
		case op == 0xd0: // ref.null
			r.byte()
		case op == 0x6a, op == 0x6b, op == 0x6c, op == 0x7c, op == 0x7d, op == 0x7e: // extended constants
		case op == 0xfd: // v128.const
			if r.u32() != 12 {
				r.fail(fmt.Errorf("a vector instruction in a constant expression: %w", ErrUnsupported))
				return
			}
			r.bytes(16)
		default:
			r.fail(fmt.Errorf("opcode 0x%02x in a constant expression: %w", op, ErrUnsupported))
		}
	}
}

// element skips one element segment.
func (r *reader) element() {
	flag := r.u32()
	if flag > 7 {
		r.fail(fmt.Errorf("element segment flag %d: %w", flag, ErrUnsupported))
		return
	}
	if flag&2 != 0 && flag&1 == 0 { // 2, 6: explicit table
		r.u32()
	}
	if flag&1 == 0 { // 0, 2, 4, 6: active, with an offset
		r.constExpr()
	}
	if flag != 0 && flag != 4 { // an element kind or a reference type
		r.byte()
	}
	n := r.count()
	for j := uint32(0); j < n && r.err == nil; j++ {
		if flag&4 != 0 {
			r.constExpr()
		} else {
			r.u32()
		}
	}
}

// function skips one code entry, bounding its locals.
func (r *reader) function() {
	size := r.u32()
	body := r.bytes(int(size))
	if r.err != nil {
		return
	}
	f := reader{b: body}
	groups := f.count()
	var locals uint64
	for g := uint32(0); g < groups && f.err == nil; g++ {
		locals += uint64(f.u32())
		f.byte()
	}
	if f.err == nil && locals > MaxLocals {
		f.fail(fmt.Errorf("a function declares %d locals, over the %d allowed", locals, MaxLocals))
	}
	if f.err != nil {
		r.fail(f.err)
	}
}

// checkNames bounds the counts of the name section's function and local
// names (its other subsections are skipped by size).
func checkNames(r *reader) {
	for !r.done() && r.err == nil {
		id := r.byte()
		sub := reader{b: r.bytes(int(r.u32()))}
		if r.err != nil {
			return
		}
		switch id {
		case 1: // function names: (index, name)*
			n := sub.count()
			for i := uint32(0); i < n && sub.err == nil; i++ {
				sub.u32()
				sub.name()
			}
		case 2: // local names: (index, (index, name)*)*
			n := sub.count()
			for i := uint32(0); i < n && sub.err == nil; i++ {
				sub.u32()
				m := sub.count()
				for j := uint32(0); j < m && sub.err == nil; j++ {
					sub.u32()
					sub.name()
				}
			}
		}
		if sub.err != nil {
			r.fail(fmt.Errorf("name section: %w", sub.err))
		}
	}
}
