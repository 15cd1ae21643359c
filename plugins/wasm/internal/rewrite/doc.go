// Package rewrite rewrites a WebAssembly module so that its host can stop
// it at any time, cheaply: it adds a mutable i32 global, the fuel, and puts
// at the head of every loop
//
//	fuel -= 1
//	if fuel == 0 {
//	  fuel = Fuel
//	  call wasi_snapshot_preview1.sched_yield
//	}
//
// so the module calls its host every Fuel loop iterations (a fraction of a
// millisecond), through an import Go's runtime already has. The host's
// sched_yield (wazero's ModuleConfig.WithOsyield) checks whether the call
// is past its deadline and, if so, panics, which ends the call with an
// error. Every unbounded computation in WebAssembly runs through a loop
// (or recursion, which ends when the stack or memory runs out), so a
// looping module cannot outrun the check; and since the call returns to
// Go code, the Go runtime can stop the thread for a garbage collection
// (compiled WebAssembly cannot be preempted: a module spinning without
// host calls would hold up every stop-the-world of the host process).
//
// wazero's WithCloseOnContextDone does the same with a call into a
// trampoline at every loop head, which makes Go-compiled modules (most Go
// function bodies are loops) about four times slower; a decrement and a
// branch cost a few percent.
//
// The rewrite keeps every index of the module (the global comes after the
// existing ones; no function is added). A module without the import, or
// with instructions the rewrite does not know (SIMD, threads, exception
// handling, GC), gets ErrUnsupported: the caller then runs it with
// wazero's own check.
//
// Check, run first, refuses a module whose counts claim more than it
// holds, before the runtime's decoder allocates for them.
//
// Its imports are checked by internal/archtest (rules.go).
package rewrite
