package registry_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lavalab/lavalab/core/drivers"
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
	if err != nil || info.Kind != drivers.KindNative || info.SHA256 != sha || !info.Active {
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
	if in, ok := r.Lookup(sha); !ok || in.Kind != drivers.KindNative || in.Name != "native-test" {
		t.Fatalf("Lookup(native) = %+v, %v", in, ok)
	}
	if _, ok := r.Lookup(strings.Repeat("0", 64)); ok {
		t.Fatal("Lookup of an unknown SHA-256 found one")
	}
}

func TestReadNativeList(t *testing.T) {
	sha := strings.Repeat("ab", 32)
	tests := []struct {
		name, text, want string
	}{
		{"good", "- {path: /opt/drv, sha256: " + sha + "}\n", ""},
		{"empty", "[]\n", ""},
		{"relative", "- {path: drv, sha256: " + sha + "}\n", "entry 1: want an absolute path"},
		{"short", "- {path: /opt/drv, sha256: " + sha[:60] + "}\n", "entry 1: want an absolute path and a 64-hex-digit sha256"},
		{"not hex", "- {path: /opt/a, sha256: " + sha + "}\n- {path: /opt/b, sha256: " + strings.Repeat("zz", 32) + "}\n", "entry 2:"},
		{"not a list", "path: /opt/drv\n", "native driver list"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := filepath.Join(t.TempDir(), "native.yaml")
			if err := os.WriteFile(f, []byte(tc.text), 0o600); err != nil {
				t.Fatal(err)
			}
			specs, err := registry.ReadNativeList(f)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if strings.HasPrefix(tc.text, "-") && (len(specs) != 1 || specs[0].Path != "/opt/drv" || specs[0].SHA256 != sha) {
					t.Fatalf("specs = %+v", specs)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), f) {
				t.Fatalf("err = %v, want %q naming the file", err, tc.want)
			}
		})
	}
	if _, err := registry.ReadNativeList(filepath.Join(t.TempDir(), "none.yaml")); err == nil {
		t.Fatal("no error for a missing list")
	}
}
