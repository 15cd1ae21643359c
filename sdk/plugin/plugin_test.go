package plugin

import (
	"context"
	"encoding/json"
	"net"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/lavalab/lavalab/sdk"
)

type echoDriver struct{}

func (echoDriver) Describe() sdk.Description {
	return sdk.Description{Name: "echo", Version: "1", DeviceTypes: []string{"x"}}
}

func (echoDriver) Plan(req sdk.PlanRequest) (sdk.Plan, error) {
	if req.Action.Kind == "panic" {
		panic("boom")
	}
	return sdk.Plan{Steps: []sdk.Step{{Kind: sdk.StepDisconnect, Name: req.JobID}}}, nil
}

// TestService runs the hand-written service over a loopback gRPC connection.
func TestService(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := grpc.NewServer()
	if err := (&GRPCDriver{Driver: echoDriver{}}).GRPCServer(nil, s); err != nil {
		t.Fatal(err)
	}
	go s.Serve(lis)
	defer s.Stop()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	raw, err := (&GRPCDriver{}).GRPCClient(context.Background(), nil, conn)
	if err != nil {
		t.Fatal(err)
	}
	c := raw.(*Client)
	tests := []struct {
		name  string
		req   sdk.Request
		check func(sdk.Response) bool
	}{
		{"describe", sdk.Request{ABIVersion: sdk.ABIVersion, Op: sdk.OpDescribe}, func(r sdk.Response) bool {
			return r.Describe != nil && r.Describe.Name == "echo" && r.Describe.ABIVersion == sdk.ABIVersion
		}},
		{"plan", sdk.Request{ABIVersion: sdk.ABIVersion, Op: sdk.OpPlan, Plan: &sdk.PlanRequest{JobID: "42"}}, func(r sdk.Response) bool {
			return r.Plan != nil && r.Plan.Steps[0].Name == "42"
		}},
		{"panic is a Bug error", sdk.Request{ABIVersion: sdk.ABIVersion, Op: sdk.OpPlan, Plan: &sdk.PlanRequest{Action: sdk.Action{Kind: "panic"}}}, func(r sdk.Response) bool {
			return r.Error != nil && r.Error.Type == sdk.ErrorBug
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, _ := json.Marshal(tc.req)
			out, err := c.Call(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			var resp sdk.Response
			if err := json.Unmarshal(out, &resp); err != nil || !tc.check(resp) {
				t.Fatalf("answer %s (%v)", out, err)
			}
		})
	}
	if err := (&GRPCDriver{}).GRPCServer(nil, grpc.NewServer()); err == nil {
		t.Fatal("served without a driver")
	}
}
