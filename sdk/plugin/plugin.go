package plugin

import (
	"context"
	"fmt"

	goplugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/lavalab/lavalab/sdk"
)

// PluginName is the name of the one plugin a driver binary serves.
const PluginName = "driver"

// TransportVersion is the go-plugin protocol version: the transport (one
// gRPC method carrying the JSON request and answer), not the ABI. The ABI
// version is negotiated by describe, as for WASM drivers (sdk.NegotiateABI),
// so a native driver of an older supported ABI keeps working.
const TransportVersion = 1

// Handshake is what the host and a driver binary must agree on.
var Handshake = goplugin.HandshakeConfig{
	ProtocolVersion:  TransportVersion,
	MagicCookieKey:   "LAVALAB_DRIVER_PLUGIN",
	MagicCookieValue: "a2c1a4c6-device-type-driver",
}

// ServiceName and MethodName name the hand-written gRPC service: one unary
// method whose request and answer are wrapperspb.BytesValue holding the JSON
// sdk.Request and sdk.Response.
const (
	ServiceName = "lavalab.driver.v1.Driver"
	MethodName  = "Call"
	fullMethod  = "/" + ServiceName + "/" + MethodName
)

// Caller is the server side of the service.
type Caller interface {
	Call(ctx context.Context, req *wrapperspb.BytesValue) (*wrapperspb.BytesValue, error)
}

// ServiceDesc describes the service for grpc.Server.RegisterService.
var ServiceDesc = grpc.ServiceDesc{
	ServiceName: ServiceName,
	HandlerType: (*Caller)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: MethodName,
		Handler:    callHandler,
	}},
	Streams:  []grpc.StreamDesc{},
	Metadata: "lavalab/driver.proto",
}

func callHandler(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
	in := new(wrapperspb.BytesValue)
	if err := dec(in); err != nil {
		return nil, err
	}
	c := srv.(Caller)
	if interceptor == nil {
		return c.Call(ctx, in)
	}
	info := &grpc.UnaryServerInfo{Server: srv, FullMethod: fullMethod}
	return interceptor(ctx, in, info, func(ctx context.Context, req any) (any, error) {
		return c.Call(ctx, req.(*wrapperspb.BytesValue))
	})
}

// Client is the host side of the service: it sends one encoded request and
// returns the encoded answer.
type Client struct{ conn *grpc.ClientConn }

// Call sends one JSON request and returns the JSON answer.
func (c *Client) Call(ctx context.Context, req []byte) ([]byte, error) {
	out := new(wrapperspb.BytesValue)
	if err := c.conn.Invoke(ctx, fullMethod, wrapperspb.Bytes(req), out); err != nil {
		return nil, err
	}
	return out.GetValue(), nil
}

// server answers calls with sdk.Handle, which never panics: a panicking
// driver answers a Bug error.
type server struct{ d sdk.Driver }

func (s server) Call(_ context.Context, req *wrapperspb.BytesValue) (*wrapperspb.BytesValue, error) {
	return wrapperspb.Bytes(sdk.Handle(s.d, req.GetValue())), nil
}

// GRPCDriver is the go-plugin glue for both ends. The host sets nothing; the
// driver binary sets Driver (Serve does).
type GRPCDriver struct {
	goplugin.NetRPCUnsupportedPlugin
	Driver sdk.Driver
}

// GRPCServer registers the driver's service.
func (p *GRPCDriver) GRPCServer(_ *goplugin.GRPCBroker, s *grpc.Server) error {
	if p.Driver == nil {
		return fmt.Errorf("plugin: no driver to serve")
	}
	s.RegisterService(&ServiceDesc, server{d: p.Driver})
	return nil
}

// GRPCClient returns a *Client on the plugin's connection.
func (p *GRPCDriver) GRPCClient(_ context.Context, _ *goplugin.GRPCBroker, conn *grpc.ClientConn) (any, error) {
	return &Client{conn: conn}, nil
}

// Plugins returns the plugin set a driver binary serves (and the host asks for).
func Plugins(d sdk.Driver) goplugin.PluginSet {
	return goplugin.PluginSet{PluginName: &GRPCDriver{Driver: d}}
}

// Serve makes d a native driver: call it from main. It serves gRPC only and
// returns when the host ends the plugin. Started by hand (not by the lab) it
// prints a message and exits with status 1, as go-plugin does.
func Serve(d sdk.Driver) {
	goplugin.Serve(&goplugin.ServeConfig{
		HandshakeConfig: Handshake,
		Plugins:         Plugins(d),
		GRPCServer:      goplugin.DefaultGRPCServer,
	})
}
