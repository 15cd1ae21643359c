package rewrite

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"slices"
)

// Fuel is how many loop iterations run between two calls of the yield
// import: a few hundred microseconds of the tightest loop, far less than a
// call's deadline, and few enough calls to cost nothing.
const Fuel = 100_000

// The import called when the fuel runs out: WASI's sched_yield, which Go's
// runtime imports. Its type is () -> errno (i32).
const (
	yieldModule = "wasi_snapshot_preview1"
	yieldName   = "sched_yield"
)

// ErrUnsupported says the module uses instructions or types the rewrite
// does not know; the module itself may be valid.
var ErrUnsupported = errors.New("not supported by the host's module reader")

// Section ids.
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secGlobal    = 6
	secCode      = 10
	secData      = 11
	secDataCount = 12
)

// order is the position of each known section in a module (custom
// sections, 0, may come anywhere).
var order = [...]int{1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}

type section struct {
	id   byte
	body []byte
}

// Stats says what Instrument did.
type Stats struct {
	Functions int    // function bodies rewritten
	Loops     int    // checks inserted
	Global    uint32 // index of the fuel global
	Yield     uint32 // function index of the yield import
	// DataSegments and MergedSegments count the active data segments
	// before and after merging (equal when they were left alone).
	DataSegments, MergedSegments int
}

// Instrument returns a copy of module with the fuel global and a check at
// every loop head. It does not validate the module beyond what it needs
// to read: the runtime's compiler does that.
func Instrument(module []byte) ([]byte, Stats, error) {
	var st Stats
	if len(module) < 8 || !bytes.Equal(module[:4], []byte("\x00asm")) {
		return nil, st, errors.New("not a WebAssembly module (no \\0asm header)")
	}
	if !bytes.Equal(module[4:8], []byte{1, 0, 0, 0}) {
		return nil, st, fmt.Errorf("binary format version %x: %w", module[4:8], ErrUnsupported)
	}
	var secs []section
	r := reader{b: module, i: 8}
	last := 0
	for !r.done() {
		id := r.byte()
		n := r.u32()
		body := r.bytes(int(n))
		if r.err != nil {
			return nil, st, fmt.Errorf("section %d: %w", id, r.err)
		}
		if id != secCustom {
			if int(id) >= len(order) || order[id] == 0 {
				return nil, st, fmt.Errorf("section id %d: %w", id, ErrUnsupported)
			}
			if order[id] <= last {
				return nil, st, fmt.Errorf("section %d out of order", id)
			}
			last = order[id]
		}
		secs = append(secs, section{id: id, body: body})
	}

	var importedGlobals, definedGlobals uint32
	var types []byte
	yieldType, yield := uint32(0), false
	for _, s := range secs {
		switch s.id {
		case secType:
			types = s.body
		case secImport:
			imp, err := readImports(s.body)
			if err != nil {
				return nil, st, fmt.Errorf("import section: %w", err)
			}
			importedGlobals = imp.globals
			st.Yield, yieldType, yield = imp.yield, imp.yieldType, imp.hasYield
		case secGlobal:
			r := reader{b: s.body}
			definedGlobals = r.u32()
			if r.err != nil {
				return nil, st, fmt.Errorf("global section: %w", r.err)
			}
		}
	}
	if !yield {
		return nil, st, fmt.Errorf("the module does not import %s.%s: %w", yieldModule, yieldName, ErrUnsupported)
	}
	if ok, err := isYieldType(types, yieldType); err != nil {
		return nil, st, fmt.Errorf("type section: %w", err)
	} else if !ok {
		return nil, st, fmt.Errorf("the module imports %s.%s with a type other than () -> i32: %w", yieldModule, yieldName, ErrUnsupported)
	}
	st.Global = importedGlobals + definedGlobals
	check := loopCheck(st.Global, st.Yield)

	global := appendU32(nil, definedGlobals+1)
	var code, data []byte
	var usesDataIndex bool
	for _, s := range secs {
		switch s.id {
		case secGlobal:
			r := reader{b: s.body}
			r.u32()
			global = append(global, s.body[r.i:]...)
		case secCode:
			var err error
			if code, err = instrumentCode(s.body, check, &st, &usesDataIndex); err != nil {
				return nil, st, fmt.Errorf("code section: %w", err)
			}
		}
	}
	global = append(global, 0x7f, 0x01, 0x41) // (mut i32) (i32.const Fuel)
	global = appendS32(global, Fuel)
	global = append(global, 0x0b)

	// Data segments are merged unless an instruction names one by index.
	dataCount := -1
	for _, s := range secs {
		if s.id == secData && !usesDataIndex {
			var err error
			if data, dataCount, err = mergeData(s.body, &st); err != nil {
				return nil, st, fmt.Errorf("data section: %w", err)
			}
		}
	}

	out := make([]byte, 0, len(module)+len(code)-sectionLen(secs, secCode)+len(data)-sectionLen(secs, secData)+64)
	out = append(out, module[:8]...)
	put := func(id byte, body []byte) {
		out = append(out, id)
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
	}
	wroteGlobal := false
	for _, s := range secs {
		if s.id != secCustom && !wroteGlobal && order[s.id] > order[secGlobal] {
			put(secGlobal, global)
			wroteGlobal = true
		}
		switch s.id {
		case secGlobal:
			put(secGlobal, global)
			wroteGlobal = true
		case secCode:
			put(secCode, code)
		case secData:
			if data != nil {
				put(secData, data)
			} else {
				put(secData, s.body)
			}
		case secDataCount:
			if dataCount >= 0 {
				put(secDataCount, appendU32(nil, uint32(dataCount)))
			} else {
				put(secDataCount, s.body)
			}
		default:
			put(s.id, s.body)
		}
	}
	if !wroteGlobal {
		put(secGlobal, global)
	}
	return out, st, nil
}

func sectionLen(secs []section, id byte) int {
	n := 0
	for _, s := range secs {
		if s.id == id {
			n += len(s.body)
		}
	}
	return n
}

// loopCheck is the code put at each loop head:
//
//	global.get $fuel  i32.const 1  i32.sub  global.set $fuel
//	global.get $fuel  i32.eqz
//	if
//	  i32.const Fuel  global.set $fuel
//	  call $sched_yield  drop
//	end
func loopCheck(fuel, yield uint32) []byte {
	b := appendU32([]byte{0x23}, fuel)
	b = append(b, 0x41, 0x01, 0x6b, 0x24)
	b = appendU32(b, fuel)
	b = append(b, 0x23)
	b = appendU32(b, fuel)
	b = append(b, 0x45, 0x04, 0x40, 0x41)
	b = appendS32(b, Fuel)
	b = append(b, 0x24)
	b = appendU32(b, fuel)
	b = append(b, 0x10)
	b = appendU32(b, yield)
	return append(b, 0x1a, 0x0b)
}

// imports is what Instrument needs of the import section.
type imports struct {
	globals   uint32 // imported globals
	yield     uint32 // function index of sched_yield
	yieldType uint32 // its type index
	hasYield  bool
}

// readImports reads an import section.
func readImports(b []byte) (imports, error) {
	var imp imports
	r := reader{b: b}
	n := r.u32()
	var funcs uint32
	for i := uint32(0); i < n && r.err == nil; i++ {
		mod, name, kind, typ := r.importEntry()
		switch kind {
		case importFunc:
			if string(mod) == yieldModule && string(name) == yieldName && !imp.hasYield {
				imp.yield, imp.yieldType, imp.hasYield = funcs, typ, true
			}
			funcs++
		case importGlobal:
			imp.globals++
		}
	}
	return imp, r.err
}

// Import kinds.
const (
	importFunc   = 0
	importGlobal = 3
)

// importEntry reads one import: its module and name, its kind, and a
// function's type index.
func (r *reader) importEntry() (mod, name []byte, kind byte, typ uint32) {
	mod, name, kind = r.name(), r.name(), r.byte()
	switch kind {
	case importFunc: // type index
		typ = r.u32()
	case 1: // table: reference type, limits
		r.byte()
		r.limits()
	case 2: // memory: limits
		r.limits()
	case importGlobal: // value type, mutability
		r.valtype()
		r.byte()
	case 4: // tag: attribute, type index
		r.byte()
		r.u32()
	default:
		r.fail(fmt.Errorf("import kind %d: %w", kind, ErrUnsupported))
	}
	return mod, name, kind, typ
}

// isYieldType says whether type idx of the type section b is () -> i32.
func isYieldType(b []byte, idx uint32) (bool, error) {
	r := reader{b: b}
	n := r.u32()
	if idx >= n {
		return false, fmt.Errorf("type index %d of %d", idx, n)
	}
	for i := uint32(0); i <= idx && r.err == nil; i++ {
		if form := r.byte(); form != 0x60 {
			return false, fmt.Errorf("type %d: form 0x%02x: %w", i, form, ErrUnsupported)
		}
		params := r.u32()
		for j := uint32(0); j < params && r.err == nil; j++ {
			r.valtype()
		}
		results := r.u32()
		var res []byte
		for j := uint32(0); j < results && r.err == nil; j++ {
			at := r.i
			r.valtype()
			if r.err == nil {
				res = append(res, r.b[at])
			}
		}
		if i == idx && r.err == nil {
			return params == 0 && len(res) == 1 && res[0] == 0x7f, nil
		}
	}
	return false, r.err
}

// instrumentCode rewrites a code section; usesData is set when an
// instruction names a data segment.
func instrumentCode(b []byte, check []byte, st *Stats, usesData *bool) ([]byte, error) {
	r := reader{b: b}
	n := r.u32()
	if r.err != nil {
		return nil, r.err
	}
	out := make([]byte, 0, len(b)+len(b)/8)
	out = appendU32(out, n)
	var body []byte
	for i := uint32(0); i < n; i++ {
		size := r.u32()
		fn := r.bytes(int(size))
		if r.err != nil {
			return nil, fmt.Errorf("function body %d: %w", i, r.err)
		}
		var err error
		if body, err = instrumentBody(body[:0], fn, check, st, usesData); err != nil {
			return nil, fmt.Errorf("function body %d: %w", i, err)
		}
		out = appendU32(out, uint32(len(body)))
		out = append(out, body...)
		st.Functions++
	}
	if !r.done() {
		return nil, fmt.Errorf("%d bytes after the last function body", len(b)-r.i)
	}
	return out, nil
}

// instrumentBody appends fn to out with check after every loop's block type.
func instrumentBody(out, fn, check []byte, st *Stats, usesData *bool) ([]byte, error) {
	r := reader{b: fn}
	groups := r.u32()
	for i := uint32(0); i < groups && r.err == nil; i++ {
		r.u32()
		r.valtype()
	}
	copied := 0
	for r.err == nil && !r.done() {
		at := r.i
		op := r.byte()
		switch {
		case op == 0x03: // loop
			r.blocktype()
			if r.err == nil {
				out = append(out, fn[copied:r.i]...)
				out = append(out, check...)
				copied = r.i
				st.Loops++
			}
		case op == 0x02, op == 0x04: // block, if
			r.blocktype()
		case op == 0x00, op == 0x01, op == 0x05, op == 0x0b, op == 0x0f, op == 0x1a, op == 0x1b, op == 0xd1:
			// unreachable nop else end return drop select ref.is_null
		case op == 0x0c, op == 0x0d, op == 0x10, op == 0x12, // br br_if call return_call
			op >= 0x20 && op <= 0x26, // local.* global.* table.get table.set
			op == 0x3f, op == 0x40,   // memory.size memory.grow
			op == 0xd2: // ref.func
			r.u32()
		case op == 0x0e: // br_table
			n := r.u32()
			for j := uint32(0); j <= n && r.err == nil; j++ {
				r.u32()
			}
		case op == 0x11, op == 0x13: // call_indirect return_call_indirect
			r.u32()
			r.u32()
		case op == 0x1c: // select t*
			n := r.u32()
			for j := uint32(0); j < n && r.err == nil; j++ {
				r.valtype()
			}
		case op >= 0x28 && op <= 0x3e: // loads and stores
			r.memarg()
		case op == 0x41: // i32.const
			r.leb(5)
		case op == 0x42: // i64.const
			r.leb(10)
		case op == 0x43:
			r.bytes(4)
		case op == 0x44:
			r.bytes(8)
		case op >= 0x45 && op <= 0xc4: // numeric, sign extension
		case op == 0xd0: // ref.null
			r.valtype()
		case op == 0xfc:
			switch sub := r.u32(); {
			case sub <= 7: // saturating truncation
			case sub == 8: // memory.init
				r.u32()
				r.u32()
				*usesData = true
			case sub == 9: // data.drop
				r.u32()
				*usesData = true
			case sub == 11, sub == 13, sub == 15, sub == 16, sub == 17:
				// data.drop memory.fill elem.drop table.grow table.size table.fill
				r.u32()
			case sub == 10, sub == 12, sub == 14: // memory.copy table.init table.copy
				r.u32()
				r.u32()
			default:
				return nil, fmt.Errorf("instruction 0xfc %d at offset %d: %w", sub, at, ErrUnsupported)
			}
		default:
			return nil, fmt.Errorf("opcode 0x%02x at offset %d: %w", op, at, ErrUnsupported)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	return append(out, fn[copied:]...), nil
}

// MaxDataGap is the largest run of zeros merging puts between two data
// segments (linear memory starts zeroed, so the zeros change nothing).
const MaxDataGap = 4096

// segment is an active data segment of memory 0 at a constant offset.
type segment struct {
	off  uint64
	init []byte
}

// mergeData merges the active data segments of a data section into as
// few as gaps of at most MaxDataGap allow. A Go module has tens of
// thousands (its linker splits data at every run of zeros), each of which
// costs the runtime an allocation when it decodes the module and another
// when it instantiates it. It returns nil (leave the section as it is)
// when a segment is passive, names a memory, has an offset other than a
// constant, or overlaps another (then their order matters).
func mergeData(b []byte, st *Stats) ([]byte, int, error) {
	r := reader{b: b}
	n := r.u32()
	segs := make([]segment, 0, min(n, 1<<20))
	for i := uint32(0); i < n && r.err == nil; i++ {
		if flag := r.u32(); flag != 0 {
			return nil, -1, r.err
		}
		if r.byte() != 0x41 { // i32.const
			return nil, -1, r.err
		}
		off := r.s32()
		if r.byte() != 0x0b {
			return nil, -1, r.err
		}
		init := r.bytes(int(r.u32()))
		segs = append(segs, segment{off: uint64(uint32(off)), init: init})
	}
	if r.err != nil {
		return nil, -1, r.err
	}
	if !r.done() {
		return nil, -1, fmt.Errorf("%d bytes after the last segment", len(b)-r.i)
	}
	st.DataSegments = len(segs)
	st.MergedSegments = len(segs)
	slices.SortStableFunc(segs, func(a, b segment) int { return cmp.Compare(a.off, b.off) })
	for i := 1; i < len(segs); i++ {
		if segs[i-1].off+uint64(len(segs[i-1].init)) > segs[i].off {
			return nil, -1, nil // overlapping: their order matters
		}
	}
	var merged []segment
	var buf []byte
	for i, s := range segs {
		if i > 0 {
			last := &merged[len(merged)-1]
			end := last.off + uint64(len(buf))
			if s.off-end <= MaxDataGap {
				buf = append(buf, make([]byte, s.off-end)...)
				buf = append(buf, s.init...)
				continue
			}
			last.init = buf
		}
		merged = append(merged, segment{off: s.off})
		buf = append([]byte(nil), s.init...)
	}
	if len(merged) > 0 {
		merged[len(merged)-1].init = buf
	}
	st.MergedSegments = len(merged)
	out := appendU32(nil, uint32(len(merged)))
	for _, s := range merged {
		out = append(out, 0x00, 0x41)
		out = appendS32(out, int32(uint32(s.off)))
		out = append(out, 0x0b)
		out = appendU32(out, uint32(len(s.init)))
		out = append(out, s.init...)
	}
	return out, len(merged), nil
}

// reader reads the binary format; the first error sticks.
type reader struct {
	b   []byte
	i   int
	err error
}

var errShort = errors.New("unexpected end of the module")

func (r *reader) done() bool { return r.i >= len(r.b) }

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
	r.i = len(r.b)
}

func (r *reader) byte() byte {
	if r.i >= len(r.b) {
		r.fail(errShort)
		return 0
	}
	c := r.b[r.i]
	r.i++
	return c
}

func (r *reader) bytes(n int) []byte {
	if n < 0 || n > len(r.b)-r.i {
		r.fail(errShort)
		return nil
	}
	s := r.b[r.i : r.i+n]
	r.i += n
	return s
}

// leb skips a LEB128 number of at most max bytes.
func (r *reader) leb(max int) {
	for k := 0; k < max; k++ {
		if r.byte()&0x80 == 0 {
			return
		}
	}
	r.fail(errors.New("LEB128 number too long"))
}

func (r *reader) u32() uint32 {
	var v uint32
	for shift := 0; shift < 35; shift += 7 {
		c := r.byte()
		v |= uint32(c&0x7f) << shift
		if c&0x80 == 0 {
			return v
		}
	}
	r.fail(errors.New("LEB128 u32 too long"))
	return 0
}

func (r *reader) name() []byte { return r.bytes(int(r.u32())) }

// s32 reads a signed LEB128 number of 32 bits.
func (r *reader) s32() int32 {
	var v int64
	for shift := 0; shift < 35; shift += 7 {
		c := r.byte()
		v |= int64(c&0x7f) << shift
		if c&0x80 == 0 {
			if c&0x40 != 0 {
				v |= -1 << (shift + 7)
			}
			if v < -1<<31 || v > 1<<31-1 {
				r.fail(errors.New("LEB128 i32 out of range"))
				return 0
			}
			return int32(v)
		}
	}
	r.fail(errors.New("LEB128 i32 too long"))
	return 0
}

func (r *reader) limits() {
	flags := r.u32()
	if flags > 7 {
		r.fail(fmt.Errorf("limits flags %d: %w", flags, ErrUnsupported))
		return
	}
	r.leb(10)
	if flags&1 != 0 {
		r.leb(10)
	}
}

// valtype reads a one-byte value type (numbers, v128, funcref, externref).
func (r *reader) valtype() {
	switch t := r.byte(); t {
	case 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f:
	default:
		r.fail(fmt.Errorf("value type 0x%02x: %w", t, ErrUnsupported))
	}
}

// blocktype reads an empty type, a value type or a type index (s33).
func (r *reader) blocktype() {
	if r.i < len(r.b) {
		switch c := r.b[r.i]; {
		case c == 0x40:
			r.i++
			return
		case c >= 0x40 && c < 0x80:
			r.valtype()
			return
		}
	}
	r.leb(5)
}

func (r *reader) memarg() {
	if align := r.u32(); align&0x40 != 0 {
		r.fail(fmt.Errorf("memory index in a memarg (multiple memories): %w", ErrUnsupported))
		return
	}
	r.leb(10)
}

func appendU32(b []byte, v uint32) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// appendS32 appends v as a signed LEB128 number.
func appendS32(b []byte, v int32) []byte {
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}
