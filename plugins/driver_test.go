package plugins_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/drivers"
	"github.com/lavalab/lavalab/plugins"
	"github.com/lavalab/lavalab/sdk"
)

func TestDecodeResponse(t *testing.T) {
	tests := []struct {
		name  string
		out   string
		op    string
		fault string
	}{
		{"plan", `{"abi_version":1,"plan":{"steps":[{"kind":"disconnect"}]}}`, sdk.OpPlan, ""},
		{"describe", `{"abi_version":1,"describe":{"name":"a","version":"1","abi_version":1,"device_types":["x"]}}`, sdk.OpDescribe, ""},
		{"empty", ``, sdk.OpPlan, drivers.FaultMalformed},
		{"garbage", `nope`, sdk.OpPlan, drivers.FaultMalformed},
		{"two documents", `{"abi_version":1,"plan":{"steps":[]}} {}`, sdk.OpPlan, drivers.FaultMalformed},
		{"wrong abi", `{"abi_version":9,"plan":{"steps":[]}}`, sdk.OpPlan, drivers.FaultABI},
		{"reported", `{"abi_version":1,"error":{"type":"Job","message":"no"}}`, sdk.OpPlan, drivers.FaultReported},
		{"plan missing", `{"abi_version":1}`, sdk.OpPlan, drivers.FaultMalformed},
		{"describe missing", `{"abi_version":1}`, sdk.OpDescribe, drivers.FaultMalformed},
		{"invalid plan", `{"abi_version":1,"plan":{"steps":[{"kind":"warp"}]}}`, sdk.OpPlan, drivers.FaultInvalidPlan},
		{"describe abi none in common", `{"abi_version":9,"describe":{"name":"a","version":"1","abi_version":9,"device_types":["x"]}}`, sdk.OpDescribe, drivers.FaultABI},
		{"describe abi list none in common", `{"abi_version":2,"describe":{"name":"a","version":"1","abi_version":9,"abi_versions":[7,9],"device_types":["x"]}}`, sdk.OpDescribe, drivers.FaultABI},
		{"describe abi list", `{"abi_version":9,"describe":{"name":"a","version":"1","abi_version":9,"abi_versions":[1,9],"device_types":["x"]}}`, sdk.OpDescribe, ""},
		{"plan in another version than asked", `{"abi_version":2,"plan":{"steps":[]}}`, sdk.OpPlan, drivers.FaultABI},
		{"no name", `{"abi_version":1,"describe":{"version":"1","abi_version":1,"device_types":["x"]}}`, sdk.OpDescribe, drivers.FaultInvalidDesc},
		{"no version", `{"abi_version":1,"describe":{"name":"a","abi_version":1,"device_types":["x"]}}`, sdk.OpDescribe, drivers.FaultInvalidDesc},
		{"no device type", `{"abi_version":1,"describe":{"name":"a","version":"1","abi_version":1}}`, sdk.OpDescribe, drivers.FaultInvalidDesc},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, fault, err := plugins.DecodeResponse([]byte(tc.out), sdk.Request{ABIVersion: 1, Op: tc.op})
			if fault != tc.fault || (err == nil) != (tc.fault == "") {
				t.Fatalf("fault %q err %v, want fault %q", fault, err, tc.fault)
			}
			if tc.fault == drivers.FaultReported {
				var se *sdk.Error
				if !errors.As(err, &se) || se.Type != sdk.ErrorJob {
					t.Fatalf("reported error lost its type: %v", err)
				}
			}
		})
	}
}

func FuzzDecodeResponse(f *testing.F) {
	for _, s := range []string{
		`{"abi_version":1,"plan":{"steps":[{"kind":"disconnect"}]}}`,
		`{"abi_version":1,"describe":{"name":"a","version":"1","abi_version":1,"device_types":["x"]}}`,
		`{"abi_version":1,"error":{"message":"x"}}`, `[]`, `null`, ``,
	} {
		f.Add([]byte(s), true)
		f.Add([]byte(s), false)
	}
	f.Fuzz(func(t *testing.T, b []byte, plan bool) {
		op := sdk.OpDescribe
		if plan {
			op = sdk.OpPlan
		}
		resp, fault, err := plugins.DecodeResponse(b, sdk.Request{ABIVersion: 1, Op: op})
		if (fault == "") != (err == nil) {
			t.Fatalf("fault %q with err %v", fault, err)
		}
		if err == nil && plan && (resp.Plan == nil || resp.Plan.Validate() != nil) {
			t.Fatal("accepted an invalid plan")
		}
	})
}

// The host picks the highest version both sides speak; a driver that gives
// only abi_version (built before version 2) speaks that one version.
func TestNegotiateABI(t *testing.T) {
	for _, tc := range []struct {
		name string
		host []int
		d    sdk.Description
		want int
	}{
		{"old driver, new host", []int{1, 2}, sdk.Description{ABIVersion: 1}, 1},
		{"new driver, new host", []int{1, 2}, sdk.Description{ABIVersion: 2, ABIVersions: []int{2}}, 2},
		{"driver of both, host of both", []int{1, 2}, sdk.Description{ABIVersion: 2, ABIVersions: []int{1, 2}}, 2},
		{"new driver, old host", []int{1}, sdk.Description{ABIVersion: 2, ABIVersions: []int{1, 2}}, 1},
		{"newer driver only", []int{1, 2}, sdk.Description{ABIVersion: 3, ABIVersions: []int{3}}, 0},
		{"no version", []int{1, 2}, sdk.Description{}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := sdk.NegotiateABI(tc.host, tc.d)
			if got != tc.want || (err != nil) != (tc.want == 0) {
				t.Fatalf("got %d, %v; want %d", got, err, tc.want)
			}
		})
	}
	if got := sdk.HostABIVersions(); !slices.Equal(got, []int{1, 2, 3, 4}) || got[len(got)-1] != sdk.ABIVersion {
		t.Fatalf("host versions %v", got)
	}
}

func TestErrorNamesDriverAndFault(t *testing.T) {
	err := error(&drivers.Error{Driver: drivers.Label("u-boot", "1.2.0", strings.Repeat("ab", 32)), Fault: drivers.FaultTimeout, Err: errors.New("no answer within 2s")})
	want := "driver u-boot/1.2.0 (sha256 abababababab): timeout: no answer within 2s"
	if err.Error() != want {
		t.Fatalf("got %q, want %q", err, want)
	}
	if drivers.FaultOf(err) != drivers.FaultTimeout || drivers.FaultOf(errors.New("x")) != "" {
		t.Fatal("FaultOf")
	}
}

func TestBoundedBufferAndSummary(t *testing.T) {
	b := &plugins.BoundedBuffer{Max: 10}
	for range 3 {
		if n, err := b.Write([]byte("12345678")); n != 8 || err != nil {
			t.Fatal(n, err)
		}
	}
	if got := string(b.Bytes()); !strings.HasPrefix(got, "1234567812\n[14 more bytes") {
		t.Fatalf("bounded = %q", got)
	}
	tests := []struct{ in, want string }{
		{"", ""},
		{"a\nb\n\n", "b"},
		{"x\npanic: boom\n\ngoroutine 1 [running]:\nmain.main()\n", "panic: boom"},
		{"fatal error: out of memory\nruntime stack:\n", "fatal error: out of memory"},
		{strings.Repeat("z", 300), strings.Repeat("z", 200) + "..."},
	}
	for _, tc := range tests {
		if got := plugins.StderrSummary([]byte(tc.in)); got != tc.want {
			t.Errorf("summary(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
