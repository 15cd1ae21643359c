package sdk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
)

// Driver is what a device-type driver implements.
type Driver interface {
	// Describe says who the driver is; the host calls it before it
	// activates a version, and the answer must not depend on any input.
	Describe() Description
	// Plan returns the steps of one job action. An *Error return is
	// reported to the job with its type; any other error as Configuration.
	Plan(req PlanRequest) (Plan, error)
}

// MaxRequestBytes bounds the request a driver accepts on stdin.
const MaxRequestBytes = 16 << 20

// Handle answers one encoded request. It never panics: a panicking driver
// answers a Bug error. Golden tests call it directly; Run wraps it for WASM.
//
// The answer is written without HTML escaping, so U-Boot prompts such as
// "=>" stay readable in logs and golden files.
func Handle(d Driver, in []byte) (out []byte) {
	resp := handle(d, in)
	b, err := marshal(resp)
	if err != nil {
		b, _ = marshal(Response{ABIVersion: ABIVersion, Error: &Error{Type: ErrorBug, Message: "encoding the answer: " + err.Error()}})
	}
	return b
}

// marshal is json.Marshal without HTML escaping and without the encoder's
// trailing newline.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// warmUp runs encoding/json over every request field and the answer
// types once. A fresh Go runtime builds its reflection caches on first use
// (milliseconds in WebAssembly); the host starts instances ahead of calls,
// so work done before stdin is read is off the call's latency.
func warmUp() error {
	var warm Request
	err := json.Unmarshal([]byte(`{"abi_version":2,"op":"plan","plan":{"job_id":"1","action":{"kind":"boot","method":"u-boot","level":"1","namespace":"n","params":{"a":[1,-2.5e3,"x\u00e9\n",true,false,{"k":null}]}},"context":{"k":"v"},"settings":{"k":"v"},"device":{"hostname":"h","device_type":"d"},"worker":{"server_ip":"x","nfs_server_ip":"x","http_base_url":"x","artifacts":{"kernel":{"tftp_path":"x","local_path":"x","url":"x","type":"x","uboot_header":true,"image_arg":"x","format":"x"}}}}}`), &warm)
	all := Step{Power: &PowerStep{}, Connect: &ConnectStep{Serial: &SerialPort{}, Tool: &ToolStep{}}, Expect: &ExpectStep{Patterns: []Pattern{{}}},
		Send: &SendStep{}, Interrupt: &InterruptStep{}, Commands: &CommandsStep{}, Serve: &ServeStep{}, Tool: &ToolStep{}, Flash: &FlashStep{},
		Login: &LoginStep{}, Shell: &ShellStep{}, TestShell: &TestShellStep{}, Host: &HostStep{}, OnFailure: &Failure{}}
	_, _ = marshal(Response{Plan: &Plan{Steps: []Step{all}}, Describe: &Description{Settings: []SettingSpec{{}}}, Error: &Error{}})
	return err
}

func handle(d Driver, in []byte) (resp Response) {
	resp.ABIVersion = ABIVersion
	defer func() {
		if r := recover(); r != nil {
			resp = Response{ABIVersion: ABIVersion, Error: &Error{Type: ErrorBug, Message: fmt.Sprintf("driver panic: %v", r)}}
		}
	}()
	var req Request
	if err := json.Unmarshal(in, &req); err != nil {
		resp.Error = &Error{Type: ErrorBug, Message: "decoding the request: " + err.Error()}
		return resp
	}
	switch req.Op {
	case OpDescribe:
		// describe is the same in every version: answer it whatever
		// version the host names, so the host can negotiate.
		desc := d.Describe()
		desc.ABIVersion = ABIVersion
		desc.ABIVersions = ABIVersions()
		resp.Describe = &desc
		return resp
	}
	if !slices.Contains(ABIVersions(), req.ABIVersion) {
		resp.Error = &Error{Type: ErrorConfiguration, Message: fmt.Sprintf("host asks for ABI version %d, this driver speaks %v", req.ABIVersion, ABIVersions())}
		return resp
	}
	switch req.Op {
	case OpPlan:
		if req.Plan == nil {
			resp.Error = &Error{Type: ErrorBug, Message: "plan request without its plan field"}
			return resp
		}
		plan, err := d.Plan(*req.Plan)
		if err != nil {
			var e *Error
			if asError(err, &e) {
				resp.Error = e
			} else {
				resp.Error = &Error{Type: ErrorConfiguration, Message: err.Error()}
			}
			return resp
		}
		if err := plan.Validate(); err != nil {
			resp.Error = &Error{Type: ErrorBug, Message: "driver made an invalid plan: " + err.Error()}
			return resp
		}
		resp.Plan = &plan
	default:
		resp.Error = &Error{Type: ErrorBug, Message: fmt.Sprintf("unknown operation %q", req.Op)}
	}
	return resp
}

func asError(err error, target **Error) bool {
	for err != nil {
		if e, ok := err.(*Error); ok {
			*target = e
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}

// GCMemoryLimit is the heap size at which a WASM driver's garbage
// collector starts to run (it is off below): under the host's default cap
// of 64 MiB of linear memory.
const GCMemoryLimit = 40 << 20

// PrewarmArg is the argument (os.Args[1]) a host gives a WASM instance it
// starts ahead of its request: start-up work done before stdin is read is
// then off the call's latency. Without it the request is there at once,
// and such work would only delay the answer.
const PrewarmArg = "--prewarm"

// Run makes d a WASM driver: build the main package with
// GOOS=wasip1 GOARCH=wasm and call Run(driver) from main. It reads one
// request on stdin and writes one answer on stdout.
//
// In a prewarmed instance (PrewarmArg) it warms the request decoder and
// encoding/json (for the answer) up before it reads stdin, so the call
// does not pay that cost.
func Run(d Driver) {
	// An instance answers one call and exits: collecting garbage would
	// only cost time (the Go runtime's GC is single-threaded under WASM).
	// It runs only if the heap nears the host's memory cap.
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(GCMemoryLimit)
	if len(os.Args) > 1 && os.Args[1] == PrewarmArg {
		_ = warmUp()
	}
	in, err := io.ReadAll(io.LimitReader(os.Stdin, MaxRequestBytes+1))
	if err != nil {
		in = nil
	}
	if len(in) > MaxRequestBytes {
		in = []byte("request too large")
	}
	if _, err := os.Stdout.Write(Handle(d, in)); err != nil {
		fmt.Fprintln(os.Stderr, "writing the answer:", err)
		os.Exit(1)
	}
}

// Errorf returns a driver error of the given type.
func Errorf(errType, format string, args ...any) *Error {
	return &Error{Type: errType, Message: fmt.Sprintf(format, args...)}
}
