package registry_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/plugins"
	"github.com/lavalab/lavalab/plugins/internal/testbuild"
	"github.com/lavalab/lavalab/plugins/registry"
	"github.com/lavalab/lavalab/plugins/wasm"
)

func TestNativeEntry(t *testing.T) {
	ctx := context.Background()
	path := testbuild.Build(t, "plugins/native/testdata/plugin", testbuild.Native, "")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sha := wasm.SHA256Hex(b)
	st, err := registry.NewDirStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r, err := registry.New(ctx, registry.Options{Host: newHost(t), Store: st, Native: []registry.NativeSpec{
		{Path: path, SHA256: sha},
		{Path: path, SHA256: strings.Repeat("0", 64)}, // wrong pin: refused, logged
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close(ctx)
	d, info, err := r.ForDeviceType("native-board")
	if err != nil || info.Kind != plugins.KindNative || info.SHA256 != sha || !info.Active {
		t.Fatalf("native: %+v %v", info, err)
	}
	if _, _, err := d.Plan(ctx, planReq()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Module(ctx, sha); err == nil || !strings.Contains(err.Error(), "native driver") {
		t.Fatalf("module of a native driver: %v", err)
	}
	if len(r.List()) != 1 {
		t.Fatalf("list = %+v", r.List())
	}
}
