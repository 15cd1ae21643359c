package registry

import (
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v3"
)

// ReadNativeList reads an admin's list of native drivers pinned by SHA-256:
// YAML [{path: /abs/binary, sha256: <64 hex>}, ...]. The server and the
// workers read the same format (lava-server and lava-worker
// --native-drivers).
func ReadNativeList(path string) ([]NativeSpec, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the native driver list: %w", err)
	}
	var specs []NativeSpec
	if err := yaml.Unmarshal(b, &specs); err != nil {
		return nil, fmt.Errorf("native driver list %s: %w", path, err)
	}
	for i, s := range specs {
		if !filepath.IsAbs(s.Path) || !isSHA256Hex(s.SHA256) {
			return nil, fmt.Errorf("native driver list %s: entry %d: want an absolute path and a 64-hex-digit sha256", path, i+1)
		}
	}
	return specs, nil
}

func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') && (c < 'A' || c > 'F') {
			return false
		}
	}
	return true
}
