package registry

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
)

// ErrNotFound is returned for an unknown module or driver.
var ErrNotFound = errors.New("not found")

// ErrRefused is wrapped by Install's errors when the module failed its
// checks (the message gives the reason); other errors are the store's.
var ErrRefused = errors.New("refused")

// ErrNoEarlierVersion is Rollback's error when the driver has no earlier
// version to go back to.
var ErrNoEarlierVersion = errors.New("no earlier version was active")

// ModuleStore persists driver modules (content-addressed) and the activation
// history of each driver name. Implementations must be safe for concurrent
// use. The server backs it with its database; DirStore is the one-machine
// implementation.
type ModuleStore interface {
	// PutModule stores data under its SHA-256 (idempotent); name is the
	// driver's name, for listings.
	PutModule(ctx context.Context, sha, name string, data []byte) error
	// GetModule returns a module's bytes, or an error wrapping ErrNotFound.
	GetModule(ctx context.Context, sha string) ([]byte, error)
	// ListModules returns the SHA-256 of every stored module.
	ListModules(ctx context.Context) ([]string, error)
	// SaveActivations records a driver's activation history: the SHA-256
	// of each version activated, oldest first; the last is active.
	SaveActivations(ctx context.Context, name string, history []string) error
	// LoadActivations returns every driver's activation history.
	LoadActivations(ctx context.Context) (map[string][]string, error)
}

// ModuleRemover is a ModuleStore that can remove a module (Registry.Remove):
// it drops the module from the activation histories too, and refuses
// (saying why) one that is active or that unfinished jobs are pinned to.
type ModuleRemover interface {
	DeleteModule(ctx context.Context, sha string) error
}

// DirStore is a ModuleStore in a directory: modules/<sha256>.wasm and
// activations.json. Files are written to a temporary name and renamed.
type DirStore struct {
	dir string
	mu  sync.Mutex // serializes activations.json updates
}

// NewDirStore creates dir if needed.
func NewDirStore(dir string) (*DirStore, error) {
	if err := os.MkdirAll(filepath.Join(dir, "modules"), 0o755); err != nil {
		return nil, fmt.Errorf("driver store: %w", err)
	}
	return &DirStore{dir: dir}, nil
}

func validSHA(sha string) error {
	if b, err := hex.DecodeString(sha); err != nil || len(b) != 32 || strings.ToLower(sha) != sha {
		return fmt.Errorf("%q is not a lower-case hex SHA-256", sha)
	}
	return nil
}

func (s *DirStore) modulePath(sha string) string {
	return filepath.Join(s.dir, "modules", sha+".wasm")
}

// PutModule implements ModuleStore.
func (s *DirStore) PutModule(_ context.Context, sha, _ string, data []byte) error {
	if err := validSHA(sha); err != nil {
		return err
	}
	p := s.modulePath(sha)
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	return writeAtomic(p, data)
}

// GetModule implements ModuleStore.
func (s *DirStore) GetModule(_ context.Context, sha string) ([]byte, error) {
	if err := validSHA(sha); err != nil {
		return nil, fmt.Errorf("module %s: %w", sha, ErrNotFound)
	}
	b, err := os.ReadFile(s.modulePath(sha))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("module %s: %w", sha, ErrNotFound)
	}
	return b, err
}

// ListModules implements ModuleStore.
func (s *DirStore) ListModules(context.Context) ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(s.dir, "modules"))
	if err != nil {
		return nil, fmt.Errorf("driver store: %w", err)
	}
	var out []string
	for _, e := range ents {
		sha, ok := strings.CutSuffix(e.Name(), ".wasm")
		if ok && validSHA(sha) == nil {
			out = append(out, sha)
		}
	}
	sort.Strings(out)
	return out, nil
}

func (s *DirStore) activationsPath() string { return filepath.Join(s.dir, "activations.json") }

// SaveActivations implements ModuleStore.
func (s *DirStore) SaveActivations(ctx context.Context, name string, history []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	all, err := s.load()
	if err != nil {
		return err
	}
	all[name] = history
	b, err := json.MarshalIndent(all, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(s.activationsPath(), b)
}

// LoadActivations implements ModuleStore.
func (s *DirStore) LoadActivations(context.Context) (map[string][]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.load()
}

func (s *DirStore) load() (map[string][]string, error) {
	all := map[string][]string{}
	b, err := os.ReadFile(s.activationsPath())
	if errors.Is(err, os.ErrNotExist) {
		return all, nil
	}
	if err != nil {
		return nil, fmt.Errorf("driver store: %w", err)
	}
	if err := json.Unmarshal(b, &all); err != nil {
		return nil, fmt.Errorf("driver store: %s: %w", s.activationsPath(), err)
	}
	return all, nil
}

func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("driver store: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("driver store: %w", err)
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("driver store: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("driver store: %w", err)
	}
	return nil
}

// DeleteModule implements ModuleRemover (a DirStore knows of no jobs).
func (s *DirStore) DeleteModule(_ context.Context, sha string) error {
	if err := validSHA(sha); err != nil {
		return fmt.Errorf("module %s: %w", sha, ErrNotFound)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	all, err := s.load()
	if err != nil {
		return err
	}
	changed := false
	for name, h := range all {
		if len(h) > 0 && h[len(h)-1] == sha {
			return fmt.Errorf("module %s is the active version of driver %s", sha, name)
		}
		if i := slices.Index(h, sha); i >= 0 {
			all[name] = slices.DeleteFunc(slices.Clone(h), func(x string) bool { return x == sha })
			changed = true
		}
	}
	if changed {
		b, err := json.MarshalIndent(all, "", "  ")
		if err != nil {
			return err
		}
		if err := writeAtomic(s.activationsPath(), b); err != nil {
			return err
		}
	}
	if err := os.Remove(s.modulePath(sha)); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("module %s: %w", sha, ErrNotFound)
		}
		return err
	}
	return nil
}
