package native

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/lavalab/lavalab/core/drivers"
	"github.com/lavalab/lavalab/plugins"
	"github.com/lavalab/lavalab/sdk"
	sdkplugin "github.com/lavalab/lavalab/sdk/plugin"
)

// Defaults of Options.
const (
	DefaultTimeout        = 10 * time.Second
	DefaultStartTimeout   = 10 * time.Second
	DefaultMaxAnswerBytes = 8 << 20
)

// Options configure a native driver.
type Options struct {
	// Stderr receives the plugin process's stderr (its own writes and any
	// crash trace). Nil discards it.
	Stderr io.Writer
	// Timeout bounds each call (default 10 s).
	Timeout time.Duration
	// StartTimeout bounds the process start and handshake (default 10 s).
	StartTimeout time.Duration
	// MaxAnswerBytes caps the answer (default 8 MiB).
	MaxAnswerBytes int
	// Logger gets the host's own log lines (default slog.Default()).
	Logger *slog.Logger
}

// Driver is one native driver binary, pinned by SHA-256. It is safe for
// concurrent use: calls share the plugin process.
type Driver struct {
	path string
	sum  []byte
	sha  string
	opts Options
	tail *tailBuffer

	desc  sdk.Description
	label string

	mu     sync.Mutex
	client *goplugin.Client
	caller *sdkplugin.Client
	closed bool
}

var _ drivers.Driver = (*Driver)(nil)

// Load starts the binary at path after checking that its SHA-256 is
// sha256Hex, calls describe and checks the answer.
func Load(ctx context.Context, path, sha256Hex string, opts Options) (*Driver, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	if opts.MaxAnswerBytes <= 0 {
		opts.MaxAnswerBytes = DefaultMaxAnswerBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	d := &Driver{path: path, sha: sha256Hex, opts: opts, tail: &tailBuffer{max: 8 << 10}}
	d.label = drivers.Label(path, "", sha256Hex)
	sum, err := hex.DecodeString(sha256Hex)
	if err != nil || len(sum) != sha256.Size {
		return nil, &drivers.Error{Driver: d.label, Fault: drivers.FaultChecksum, Err: fmt.Errorf("pinned SHA-256 %q is not 64 hex digits", sha256Hex)}
	}
	d.sum = sum
	resp, err := d.call(ctx, plugins.DescribeRequest())
	if err != nil {
		_ = d.Close(ctx)
		return nil, err
	}
	d.desc = *resp.Describe
	d.label = drivers.Label(d.desc.Name, d.desc.Version, sha256Hex)
	return d, nil
}

// Describe returns the checked describe answer.
func (d *Driver) Describe() sdk.Description { return d.desc }

// Kind says the driver is native: trusted, admin-installed code.
func (d *Driver) Kind() string { return drivers.KindNative }

// SHA256 returns the binary's pinned hex SHA-256.
func (d *Driver) SHA256() string { return d.sha }

// Path returns the binary's path.
func (d *Driver) Path() string { return d.path }

// Plan asks the driver for the steps of one action. Native drivers' stderr
// goes to Options.Stderr as it comes, so the diagnostics returned are nil.
func (d *Driver) Plan(ctx context.Context, req sdk.PlanRequest) (sdk.Plan, []byte, error) {
	resp, err := d.call(ctx, plugins.PlanRequest(d.Describe(), req))
	if err != nil {
		return sdk.Plan{}, nil, err
	}
	return *resp.Plan, nil, nil
}

// Close ends the plugin process.
func (d *Driver) Close(context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed = true
	if d.client != nil {
		d.client.Kill()
		d.client, d.caller = nil, nil
	}
	return nil
}

// conn returns the live plugin connection, starting a fresh process when
// there is none or the last one exited.
func (d *Driver) conn() (*sdkplugin.Client, *goplugin.Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, nil, &drivers.Error{Driver: d.label, Fault: drivers.FaultClosed}
	}
	if d.client != nil && !d.client.Exited() {
		return d.caller, d.client, nil
	}
	if d.client != nil {
		d.opts.Logger.Warn("native driver: process gone, starting a new one", "driver", d.label)
		d.client.Kill()
		d.client, d.caller = nil, nil
	}
	var stderr io.Writer = d.tail
	if d.opts.Stderr != nil {
		stderr = io.MultiWriter(d.opts.Stderr, d.tail)
	}
	client := goplugin.NewClient(&goplugin.ClientConfig{
		HandshakeConfig:  sdkplugin.Handshake,
		Plugins:          sdkplugin.Plugins(nil),
		Cmd:              exec.Command(d.path),
		SecureConfig:     &goplugin.SecureConfig{Checksum: d.sum, Hash: sha256.New()},
		AllowedProtocols: []goplugin.Protocol{goplugin.ProtocolGRPC},
		StartTimeout:     d.opts.StartTimeout,
		Stderr:           stderr,
		SyncStderr:       stderr,
		SyncStdout:       io.Discard,
		Logger:           hclog.NewNullLogger(),
		GRPCDialOptions: []grpc.DialOption{
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(d.opts.MaxAnswerBytes + 1024)),
		},
	})
	proto, err := client.Client()
	if err != nil {
		client.Kill()
		fault := drivers.FaultStart
		if errors.Is(err, goplugin.ErrChecksumsDoNotMatch) {
			fault = drivers.FaultChecksum
			if got, herr := FileSHA256(d.path); herr == nil {
				err = fmt.Errorf("%w: the binary's SHA-256 is %s, the pin is %s", err, got, d.sha)
			}
		}
		return nil, nil, &drivers.Error{Driver: d.label, Fault: fault, Err: err}
	}
	raw, err := proto.Dispense(sdkplugin.PluginName)
	if err != nil {
		client.Kill()
		return nil, nil, &drivers.Error{Driver: d.label, Fault: drivers.FaultStart, Err: err}
	}
	caller, ok := raw.(*sdkplugin.Client)
	if !ok {
		client.Kill()
		return nil, nil, &drivers.Error{Driver: d.label, Fault: drivers.FaultStart, Err: fmt.Errorf("plugin gave a %T", raw)}
	}
	d.client, d.caller = client, caller
	return caller, client, nil
}

// call sends one request and judges the answer.
func (d *Driver) call(ctx context.Context, req sdk.Request) (sdk.Response, error) {
	fail := func(fault string, err error) error {
		return &drivers.Error{Driver: d.label, Fault: fault, Err: err}
	}
	in, err := json.Marshal(req)
	if err != nil {
		return sdk.Response{}, fail(drivers.FaultMalformed, fmt.Errorf("encoding the request: %w", err))
	}
	caller, client, err := d.conn()
	if err != nil {
		return sdk.Response{}, err
	}
	cctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	defer cancel()
	start := time.Now()
	out, err := caller.Call(cctx, in)
	if err != nil {
		took := time.Since(start).Round(time.Millisecond)
		switch {
		case ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded):
			return sdk.Response{}, fail(drivers.FaultCanceled, ctx.Err())
		case cctx.Err() != nil || status.Code(err) == codes.DeadlineExceeded:
			// A plugin past its deadline may be stuck: end it, the next
			// call starts a fresh one. (gRPC's own deadline timer may
			// fire a moment before the context reports it.)
			d.kill(client)
			return sdk.Response{}, fail(drivers.FaultTimeout, fmt.Errorf("no answer within %s, process ended", took))
		case status.Code(err) == codes.ResourceExhausted:
			return sdk.Response{}, fail(drivers.FaultOversized, err)
		}
		// Anything else: the process died or broke the connection.
		d.kill(client)
		time.Sleep(50 * time.Millisecond) // let the last stderr lines arrive
		detail := fmt.Errorf("the plugin process died or broke the connection during the call: %w", err)
		if s := plugins.StderrSummary(d.tail.Bytes()); s != "" {
			detail = fmt.Errorf("%w (stderr: %s)", detail, s)
		}
		return sdk.Response{}, fail(drivers.FaultCrash, detail)
	}
	if len(out) > d.opts.MaxAnswerBytes {
		return sdk.Response{}, fail(drivers.FaultOversized, fmt.Errorf("answer of %d bytes, the cap is %d", len(out), d.opts.MaxAnswerBytes))
	}
	resp, fault, err := plugins.DecodeResponse(out, req)
	if err != nil {
		return resp, fail(fault, err)
	}
	return resp, nil
}

// kill ends client if it is still the current process.
func (d *Driver) kill(client *goplugin.Client) {
	d.mu.Lock()
	defer d.mu.Unlock()
	client.Kill()
	if d.client == client {
		d.client, d.caller = nil, nil
	}
}

// FileSHA256 returns the hex SHA-256 of a file: how a native driver's pin
// is checked.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// tailBuffer keeps the last max bytes written (for crash messages).
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = bytes.Clone(t.buf[len(t.buf)-t.max:])
	}
	return len(p), nil
}

func (t *tailBuffer) Bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return bytes.Clone(t.buf)
}
