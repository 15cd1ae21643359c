package registry_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/plugins/registry"
	"github.com/lavalab/lavalab/plugins/wasm"
	"github.com/lavalab/lavalab/sdk"
)

func planReq() sdk.PlanRequest {
	return sdk.PlanRequest{JobID: "1", Action: sdk.Action{Kind: sdk.ActionDeploy}}
}

func TestDirStore(t *testing.T) {
	ctx := context.Background()
	st, err := registry.NewDirStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("module bytes")
	sha := wasm.SHA256Hex(data)
	if err := st.PutModule(ctx, sha, "x", data); err != nil {
		t.Fatal(err)
	}
	if err := st.PutModule(ctx, sha, "x", data); err != nil { // idempotent
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		sha     string
		want    string
		wantErr error
	}{
		{"stored", sha, string(data), nil},
		{"unknown", strings.Repeat("a", 64), "", registry.ErrNotFound},
		{"path escape", "../../etc/passwd", "", registry.ErrNotFound},
		{"upper case", strings.ToUpper(sha), "", registry.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := st.GetModule(ctx, tc.sha)
			if !errors.Is(err, tc.wantErr) || string(got) != tc.want {
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}
	if err := st.PutModule(ctx, "../x", "x", data); err == nil {
		t.Fatal("stored under a bad name")
	}
	if l, err := st.ListModules(ctx); err != nil || !reflect.DeepEqual(l, []string{sha}) {
		t.Fatalf("list = %v, %v", l, err)
	}
	if err := st.SaveActivations(ctx, "a", []string{sha}); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveActivations(ctx, "b", []string{sha, sha}); err != nil {
		t.Fatal(err)
	}
	got, err := st.LoadActivations(ctx)
	if err != nil || !reflect.DeepEqual(got, map[string][]string{"a": {sha}, "b": {sha, sha}}) {
		t.Fatalf("activations = %v, %v", got, err)
	}
}
