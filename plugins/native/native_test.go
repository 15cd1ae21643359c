package native_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/drivers"
	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/plugins/internal/testbuild"
	"github.com/lavalab/lavalab/plugins/native"
	"github.com/lavalab/lavalab/plugins/wasm"
	"github.com/lavalab/lavalab/sdk"
)

func pluginBinary(t testing.TB) (string, string) {
	t.Helper()
	path := testbuild.Build(t, "plugins/native/testdata/plugin", testbuild.Native, "")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return path, wasm.SHA256Hex(b)
}

func load(t testing.TB, opts native.Options) (*native.Driver, *testenv.SyncBuffer) {
	t.Helper()
	path, sha := pluginBinary(t)
	stderr := &testenv.SyncBuffer{}
	opts.Stderr = stderr
	d, err := native.Load(context.Background(), path, sha, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	return d, stderr
}

func req(kind string) sdk.PlanRequest {
	return sdk.PlanRequest{JobID: "7", Action: sdk.Action{Kind: kind}, Device: sdk.DeviceFacts{Hostname: "imx-01"}}
}

func TestNativeDriver(t *testing.T) {
	ctx := context.Background()
	d, stderr := load(t, native.Options{})
	desc := d.Describe()
	if desc.Name != "native-test" || desc.ABIVersion != sdk.ABIVersion || desc.DeviceTypes[0] != "native-board" {
		t.Fatalf("describe = %+v", desc)
	}
	plan, _, err := d.Plan(ctx, req(sdk.ActionDeploy))
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Steps) != 1 || plan.Steps[0].Flash.Command[3] != "imx-01" {
		t.Fatalf("plan = %+v", plan)
	}
	_, _, err = d.Plan(ctx, req("fail"))
	var se *sdk.Error
	if !errors.As(err, &se) || se.Type != sdk.ErrorInfrastructure {
		t.Fatalf("reported error = %v", err)
	}
	waitFor(t, func() bool { return strings.Contains(stderr.String(), "native planning job 7") }, "stderr: "+stderr.String())
}

func TestNativeCrashes(t *testing.T) {
	ctx := context.Background()
	d, _ := load(t, native.Options{Timeout: 2 * time.Second})
	tests := []struct {
		kind  string
		fault string
		want  string
	}{
		{"exit", drivers.FaultCrash, "died or broke the connection"},
		{"crash", drivers.FaultCrash, "panic: native boom"},
		{"sleep", drivers.FaultTimeout, "no answer within"},
	}
	for _, tc := range tests {
		t.Run(tc.kind, func(t *testing.T) {
			_, _, err := d.Plan(ctx, req(tc.kind))
			t.Logf("error: %v", err)
			if drivers.FaultOf(err) != tc.fault {
				t.Fatalf("fault %q, want %q", drivers.FaultOf(err), tc.fault)
			}
			for _, w := range []string{"native-test/1.0.0 (sha256 " + d.SHA256()[:12] + ")", tc.fault, tc.want} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q", w)
				}
			}
			// The host survives; the next call gets a fresh process.
			if _, _, err := d.Plan(ctx, req(sdk.ActionDeploy)); err != nil {
				t.Fatalf("after %s: %v", tc.kind, err)
			}
		})
	}
}

func TestNativeWrongChecksum(t *testing.T) {
	path, sha := pluginBinary(t)
	wrong := strings.Repeat("0", 64)
	tests := []struct {
		name, sha, want string
	}{
		{"wrong", wrong, "checksums did not match: the binary's SHA-256 is " + sha},
		{"not hex", "xyz", "not 64 hex digits"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := native.Load(context.Background(), path, tc.sha, native.Options{})
			if drivers.FaultOf(err) != drivers.FaultChecksum || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestNativeNotAPlugin(t *testing.T) {
	// A real executable that does not speak the handshake.
	path := testenv.NeedTool(t, "true")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = native.Load(context.Background(), path, wasm.SHA256Hex(b), native.Options{StartTimeout: 5 * time.Second})
	if drivers.FaultOf(err) != drivers.FaultStart {
		t.Fatalf("err = %v", err)
	}
	t.Logf("error: %v", err)
}

func BenchmarkNativePlan(b *testing.B) {
	ctx := context.Background()
	d, _ := load(b, native.Options{})
	r := req(sdk.ActionDeploy)
	for b.Loop() {
		if _, _, err := d.Plan(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
}

func waitFor(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
