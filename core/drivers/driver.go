package drivers

import (
	"context"
	"errors"
	"fmt"

	"github.com/lavalab/lavalab/sdk"
)

// Driver is one loaded driver version, WASM or native.
type Driver interface {
	// Describe returns the describe answer the host checked at load time.
	Describe() sdk.Description
	// SHA256 is the hex SHA-256 of the module or binary.
	SHA256() string
	// Plan asks the driver for the steps of one job action. It returns the
	// driver's diagnostics (stderr, bounded) for the job log, also on error.
	// A fault is an *Error; a failure the driver reports itself is an *Error
	// of Fault FaultReported that wraps the *sdk.Error (errors.As finds it).
	Plan(ctx context.Context, req sdk.PlanRequest) (sdk.Plan, []byte, error)
	// Close releases the driver. Calls after Close fail with FaultClosed.
	Close(ctx context.Context) error
	// Kind is KindWASM (untrusted, sandboxed) or KindNative (trusted,
	// admin-installed). It is part of the interface so that a wrapper
	// that embeds a Driver cannot lose it.
	Kind() string
}

// Kinds of drivers.
const (
	KindWASM   = "wasm"
	KindNative = "native"
)

// Faults: what went wrong with a driver.
const (
	FaultCompile     = "invalid module"       // the module does not compile or instantiate
	FaultTimeout     = "timeout"              // the call ran past its deadline (and was stopped)
	FaultCanceled    = "canceled"             // the caller's context was canceled
	FaultTrap        = "trap"                 // a WebAssembly trap (unreachable, bad memory access, ...)
	FaultPanic       = "panic"                // the driver panicked (Go runtime panic message on stderr)
	FaultOutOfMemory = "out of memory"        // the driver hit the memory cap
	FaultExit        = "non-zero exit"        // the driver exited with a non-zero status
	FaultCrash       = "crashed"              // a native driver process died or broke the connection
	FaultOversized   = "oversized answer"     // the answer is larger than the cap
	FaultMalformed   = "malformed answer"     // the answer is not one valid JSON response
	FaultABI         = "ABI version mismatch" // the driver speaks another ABI version
	FaultInvalidPlan = "invalid plan"         // the plan fails sdk.Plan.Validate
	FaultInvalidDesc = "invalid description"  // describe lacks a name, a version or a device type
	FaultReported    = "driver error"         // the driver answered an sdk.Error itself
	FaultChecksum    = "checksum mismatch"    // a native binary does not match its pinned SHA-256
	FaultStart       = "start failed"         // a native driver could not be started
	FaultClosed      = "driver closed"        // the driver was closed
)

// Error is a driver fault. Its message names the driver and the fault:
//
//	driver u-boot-generic/1.2.0 (sha256 1a2b3c4d5e6f): timeout: no answer within 2s
type Error struct {
	// Driver names the driver: name/version and the SHA-256 prefix.
	Driver string
	// Fault is one of the Fault constants.
	Fault string
	// Err is the detail; for FaultReported it is the *sdk.Error.
	Err error
}

func (e *Error) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("driver %s: %s", e.Driver, e.Fault)
	}
	return fmt.Sprintf("driver %s: %s: %v", e.Driver, e.Fault, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// FaultOf returns the Fault of err if it is (or wraps) an *Error, else "".
func FaultOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Fault
	}
	return ""
}

// Label names a driver for messages: "name/version (sha256 0123456789ab)".
// Before describe answered, name is whatever the caller knows (a file name).
func Label(name, version, sha string) string {
	s := name
	if s == "" {
		s = "?"
	}
	if version != "" {
		s += "/" + version
	}
	if len(sha) > 12 {
		sha = sha[:12]
	}
	return s + " (sha256 " + sha + ")"
}

// KindOf returns the kind of d: KindNative only for a driver that says so,
// else KindWASM, so that anything unexpected gets the sandbox's rules.
func KindOf(d Driver) string {
	if d != nil && d.Kind() == KindNative {
		return KindNative
	}
	return KindWASM
}

// ABIOf returns the ABI version the host uses with a driver that described
// itself as d (0 if they share none, which CheckDescription refuses).
func ABIOf(d sdk.Description) int {
	v, _ := sdk.NegotiateABI(sdk.HostABIVersions(), d)
	return v
}
