package rewrite

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// A small assembler for hand-made modules.

func leb(v uint32) []byte { return appendU32(nil, v) }

func sec(id byte, body ...[]byte) []byte {
	b := bytes.Join(body, nil)
	return append(append([]byte{id}, leb(uint32(len(b)))...), b...)
}

func vec(items ...[]byte) []byte {
	return append(leb(uint32(len(items))), bytes.Join(items, nil)...)
}

func name(s string) []byte { return append(leb(uint32(len(s))), s...) }

func module(sections ...[]byte) []byte {
	return append([]byte("\x00asm\x01\x00\x00\x00"), bytes.Join(sections, nil)...)
}

// body is a function body without locals.
func body(code ...byte) []byte {
	b := append([]byte{0x00}, code...)
	return append(leb(uint32(len(b))), b...)
}

var (
	typeVoid     = []byte{0x60, 0x00, 0x00}       // () -> ()
	typeI32      = []byte{0x60, 0x00, 0x01, 0x7f} // () -> i32
	importYield  = append(append(name("wasi_snapshot_preview1"), name("sched_yield")...), 0x00, 0x01)
	importYield0 = append(append(name("wasi_snapshot_preview1"), name("sched_yield")...), 0x00, 0x00)
)

// yieldHost is the wasi_snapshot_preview1 stand-in the tests instantiate:
// sched_yield counts its calls and can be told to stop the caller.
type yieldHost struct {
	calls int
	stop  bool
}

func newRuntime(t *testing.T, h *yieldHost) (context.Context, wazero.Runtime) {
	t.Helper()
	ctx := context.Background()
	rt := wazero.NewRuntime(ctx)
	t.Cleanup(func() { _ = rt.Close(ctx) })
	_, err := rt.NewHostModuleBuilder("wasi_snapshot_preview1").
		NewFunctionBuilder().WithFunc(func() int32 {
		h.calls++
		if h.stop {
			panic(errors.New("stopped"))
		}
		return 0
	}).Export("sched_yield").
		Instantiate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return ctx, rt
}

// countdown is a module whose exported "run" loops n times (n from its
// global 0, i32, mutable, exported as "n"), then returns.
func countdown(n int32) []byte {
	global := append([]byte{0x7f, 0x01, 0x41}, appendS32(nil, n)...)
	global = append(global, 0x0b)
	code := []byte{
		0x03, 0x40, // loop
		0x23, 0x00, 0x41, 0x01, 0x6b, 0x24, 0x00, // n = n - 1
		0x23, 0x00, 0x0d, 0x00, // br_if 0 (n != 0)
		0x0b, // end
		0x0b, // end of body
	}
	return module(
		sec(1, vec(typeVoid, typeI32)),
		sec(2, vec(importYield)),
		sec(3, vec([]byte{0x00})),
		sec(6, vec(global)),
		sec(7, vec(append(name("run"), 0x00, 0x01), append(name("n"), 0x03, 0x00))),
		sec(10, vec(body(code...))),
	)
}

func TestInstrumentCountsLoopsAndYields(t *testing.T) {
	out, st, err := Instrument(countdown(3*Fuel + 5))
	if err != nil {
		t.Fatal(err)
	}
	if st.Loops != 1 || st.Functions != 1 || st.Global != 1 || st.Yield != 0 {
		t.Fatalf("stats %+v", st)
	}
	h := &yieldHost{}
	ctx, rt := newRuntime(t, h)
	mod, err := rt.Instantiate(ctx, out)
	if err != nil {
		t.Fatalf("the rewritten module does not instantiate: %v", err)
	}
	if _, err := mod.ExportedFunction("run").Call(ctx); err != nil {
		t.Fatal(err)
	}
	if got := int32(mod.ExportedGlobal("n").Get()); got != 0 {
		t.Fatalf("n = %d after the loop, want 0 (the rewrite changed what the module computes)", got)
	}
	// 3*Fuel+5 iterations pass the loop head that many times: the fuel
	// runs out 3 times.
	if h.calls != 3 {
		t.Fatalf("sched_yield called %d times, want 3", h.calls)
	}
}

// spin is a module whose "run" never returns.
func spin() []byte {
	return module(
		sec(1, vec(typeVoid, typeI32)),
		sec(2, vec(importYield)),
		sec(3, vec([]byte{0x00})),
		sec(7, vec(append(name("run"), 0x00, 0x01))),
		sec(10, vec(body(0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b))), // loop br 0 end
	)
}

func TestInstrumentStopsASpinningModule(t *testing.T) {
	out, _, err := Instrument(spin())
	if err != nil {
		t.Fatal(err)
	}
	h := &yieldHost{stop: true}
	ctx, rt := newRuntime(t, h)
	mod, err := rt.Instantiate(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	_, err = mod.ExportedFunction("run").Call(ctx)
	if err == nil || !strings.Contains(err.Error(), "stopped") {
		t.Fatalf("err = %v, want the yield's panic", err)
	}
	if h.calls != 1 {
		t.Fatalf("sched_yield called %d times, want 1", h.calls)
	}
}

func TestInstrumentRefuses(t *testing.T) {
	loopBody := body(0x03, 0x40, 0x0b, 0x0b)
	tests := []struct {
		name        string
		mod         []byte
		unsupported bool
		want        string
	}{
		{"not wasm", []byte("hello, world"), false, "not a WebAssembly module"},
		{"truncated", countdown(5)[:30], false, "unexpected end"},
		{"no yield import", module(sec(1, vec(typeVoid)), sec(3, vec([]byte{0x00})), sec(10, vec(loopBody))), true, "does not import"},
		{"yield of another type", module(sec(1, vec(typeVoid)), sec(2, vec(importYield0)), sec(3, vec([]byte{0x00})), sec(10, vec(loopBody))),
			true, "type other than"},
		{"SIMD", module(sec(1, vec(typeVoid, typeI32)), sec(2, vec(importYield)), sec(3, vec([]byte{0x00})),
			sec(10, vec(body(0xfd, 0x0c, 0x0b)))), true, "opcode 0xfd"},
		{"exception handling", module(sec(1, vec(typeVoid, typeI32)), sec(2, vec(importYield)), sec(3, vec([]byte{0x00})),
			sec(10, vec(body(0x06, 0x40, 0x0b, 0x0b)))), true, "opcode 0x06"},
		{"sections out of order", module(sec(3, vec([]byte{0x00})), sec(1, vec(typeVoid))), false, "out of order"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Instrument(tc.mod)
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, ErrUnsupported) != tc.unsupported || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v (unsupported %v), want %q (unsupported %v)", err, errors.Is(err, ErrUnsupported), tc.want, tc.unsupported)
			}
		})
	}
}

// dataModule has one page of memory, exported, and the given active data
// segments (offset, bytes).
func dataModule(code []byte, segs ...[]byte) []byte {
	return module(
		sec(1, vec(typeVoid, typeI32)),
		sec(2, vec(importYield)),
		sec(3, vec([]byte{0x00})),
		sec(5, vec([]byte{0x00, 0x01})),
		sec(7, vec(append(name("mem"), 0x02, 0x00))),
		sec(12, leb(uint32(len(segs)))), // data count
		sec(10, vec(body(code...))),
		sec(11, vec(segs...)),
	)
}

// dataSegments counts the segments of a module's data section.
func dataSegments(t *testing.T, mod []byte) int {
	t.Helper()
	r := reader{b: mod, i: 8}
	for !r.done() {
		id := r.byte()
		b := r.bytes(int(r.u32()))
		if id == secData {
			rr := reader{b: b}
			return int(rr.u32())
		}
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	return 0
}

func seg(off int32, data string) []byte {
	b := append([]byte{0x00, 0x41}, appendS32(nil, off)...)
	b = append(b, 0x0b)
	return append(append(b, leb(uint32(len(data)))...), data...)
}

func memoryOf(t *testing.T, mod []byte) []byte {
	t.Helper()
	ctx, rt := newRuntime(t, &yieldHost{})
	m, err := rt.Instantiate(ctx, mod)
	if err != nil {
		t.Fatal(err)
	}
	b, ok := m.ExportedMemory("mem").Read(0, 65536)
	if !ok {
		t.Fatal("memory read")
	}
	return bytes.Clone(b)
}

func TestMergeData(t *testing.T) {
	end := []byte{0x0b}
	memInit := []byte{0x41, 0x00, 0x41, 0x00, 0x41, 0x00, 0xfc, 0x08, 0x00, 0x00, 0x0b} // memory.init 0
	tests := []struct {
		name   string
		code   []byte
		segs   [][]byte
		merged int
	}{
		{"adjacent and small gaps, out of order", end, [][]byte{seg(100, "abc"), seg(0, "hello"), seg(8, "x"), seg(5000, "far"), seg(103, "d")}, 2},
		{"gap of exactly MaxDataGap", end, [][]byte{seg(0, "a"), seg(1+MaxDataGap, "b")}, 1},
		{"gap past MaxDataGap", end, [][]byte{seg(0, "a"), seg(2+MaxDataGap, "b")}, 2},
		{"overlapping: left alone", end, [][]byte{seg(0, "hello"), seg(2, "XY")}, 2},
		{"a segment used by memory.init: left alone", memInit, [][]byte{seg(0, "a"), seg(1, "b")}, 2},
		{"empty segments", end, [][]byte{seg(10, ""), seg(10, "z"), seg(40000, "")}, 2},
		{"no segments", end, nil, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			orig := dataModule(tc.code, tc.segs...)
			out, st, err := Instrument(orig)
			if err != nil {
				t.Fatal(err)
			}
			if got := dataSegments(t, out); got != tc.merged {
				t.Errorf("%d segments after merging, want %d (stats %+v)", got, tc.merged, st)
			}
			if !bytes.Equal(memoryOf(t, orig), memoryOf(t, out)) {
				t.Fatal("the rewritten module's memory differs from the original's")
			}
		})
	}
}

// FuzzInstrument: any input is refused with an error or rewritten into a
// module the runtime accepts whenever it accepts the original, and never
// panics.
func FuzzInstrument(f *testing.F) {
	f.Add(countdown(7))
	f.Add(spin())
	f.Add(dataModule([]byte{0x0b}, seg(0, "hello"), seg(9, "world"), seg(3, "X")))
	f.Add(dataModule([]byte{0x03, 0x7f, 0x41, 0x01, 0x0b, 0x1a, 0x0b}, seg(-1, "")))
	f.Fuzz(func(t *testing.T, in []byte) {
		if Check(in) != nil {
			return // the host refuses it before the runtime sees it
		}
		out, _, err := Instrument(in)
		if err != nil {
			return
		}
		ctx := context.Background()
		rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().WithCoreFeatures(api.CoreFeaturesV2))
		defer rt.Close(ctx)
		if _, err := rt.CompileModule(ctx, in); err != nil {
			return // not a valid module: what the rewrite made of it does not matter
		}
		if _, err := rt.CompileModule(ctx, out); err != nil {
			t.Fatalf("the original compiles, its rewrite does not: %v", err)
		}
	})
}
