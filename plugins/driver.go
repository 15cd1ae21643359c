package plugins

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

// DescribeRequest is the describe request every host sends: the oldest ABI
// version it speaks, since describe has the same shape in every version.
func DescribeRequest() sdk.Request {
	return sdk.Request{ABIVersion: sdk.MinABIVersion, Op: sdk.OpDescribe}
}

// PlanRequest is the plan request for a driver that described itself as d,
// in the ABI version the host and the driver negotiated.
func PlanRequest(d sdk.Description, req sdk.PlanRequest) sdk.Request {
	return sdk.Request{ABIVersion: ABIOf(d), Op: sdk.OpPlan, Plan: &req}
}

// CheckDescription checks what every host checks on a describe answer: an
// ABI version both speak, a name, a version and at least one device type.
func CheckDescription(d sdk.Description) (fault string, err error) {
	if _, err := sdk.NegotiateABI(sdk.HostABIVersions(), d); err != nil {
		return FaultABI, err
	}
	switch {
	case d.Name == "":
		return FaultInvalidDesc, errors.New("describe gave no name")
	case d.Version == "":
		return FaultInvalidDesc, errors.New("describe gave no version")
	case len(d.DeviceTypes) == 0:
		return FaultInvalidDesc, errors.New("describe lists no device type")
	}
	for _, dt := range d.DeviceTypes {
		if dt == "" {
			return FaultInvalidDesc, errors.New("describe lists an empty device type")
		}
	}
	return "", nil
}

// DecodeResponse decodes and checks one answer of a driver to req. It is
// shared by the hosts so that both judge answers alike. A plan answer must
// be in the request's ABI version; a describe answer names the driver's
// newest version (CheckDescription negotiates).
func DecodeResponse(out []byte, req sdk.Request) (sdk.Response, string, error) {
	op := req.Op
	var resp sdk.Response
	if len(out) == 0 {
		return resp, FaultMalformed, errors.New("empty answer on stdout")
	}
	if err := decodeStrict(out, &resp); err != nil {
		return resp, FaultMalformed, fmt.Errorf("answer is not one JSON response: %w (answer starts %q)", err, head(out, 80))
	}
	if op != sdk.OpDescribe && resp.ABIVersion != req.ABIVersion {
		return resp, FaultABI, fmt.Errorf("answer has ABI version %d, the host asked for %d", resp.ABIVersion, req.ABIVersion)
	}
	if resp.Error != nil {
		return resp, FaultReported, resp.Error
	}
	switch op {
	case sdk.OpDescribe:
		if resp.Describe == nil {
			return resp, FaultMalformed, errors.New("describe answer without its describe field")
		}
		if f, err := CheckDescription(*resp.Describe); err != nil {
			return resp, f, err
		}
	case sdk.OpPlan:
		if resp.Plan == nil {
			return resp, FaultMalformed, errors.New("plan answer without its plan field")
		}
		if err := resp.Plan.Validate(); err != nil {
			return resp, FaultInvalidPlan, err
		}
	}
	return resp, "", nil
}

func head(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}
