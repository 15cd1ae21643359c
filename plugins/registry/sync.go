package registry

import (
	"context"
	"fmt"
	"slices"
)

// Sync brings the registry up to date with its store, for servers that
// share one store (several instances, or the admin's command line working
// on the store directly): modules stored elsewhere are loaded, and the
// activation histories saved there replace the ones held here. A module that
// fails to load is logged once and skipped afterwards. It reports whether
// an active version changed.
func (r *Registry) Sync(ctx context.Context) (bool, error) {
	shas, err := r.opts.Store.ListModules(ctx)
	if err != nil {
		return false, fmt.Errorf("driver registry: sync: %w", err)
	}
	// Versions removed from the store elsewhere (driver rm) go, unless
	// active here (the histories below say otherwise) or loaded from the
	// watched directory or the native list.
	stored := make(map[string]bool, len(shas))
	for _, sha := range shas {
		stored[sha] = true
	}
	var gone []string
	r.mu.RLock()
	for sha, e := range r.versions {
		if !stored[sha] && (e.info.Source == SourceStore || e.info.Source == SourceFetched) && !r.infoLocked(e).Active {
			gone = append(gone, sha)
		}
	}
	r.mu.RUnlock()
	for _, sha := range gone {
		r.log.Info("driver version removed elsewhere", "sha256", sha)
		r.unload(ctx, sha)
	}
	for _, sha := range shas {
		r.mu.RLock()
		_, known := r.versions[sha]
		skip := r.syncSkip[sha]
		r.mu.RUnlock()
		if known || skip {
			continue
		}
		data, err := r.opts.Store.GetModule(ctx, sha)
		if err == nil {
			_, err = r.load(ctx, "store:"+short(sha), data, SourceStore, "")
		}
		if err != nil {
			if ctx.Err() != nil {
				return false, fmt.Errorf("driver registry: sync: %w", ctx.Err())
			}
			r.log.Warn("driver registry: stored module not loaded", "sha256", sha, "error", err)
			r.mu.Lock()
			if r.syncSkip == nil {
				r.syncSkip = map[string]bool{}
			}
			r.syncSkip[sha] = true
			r.mu.Unlock()
		}
	}
	r.actMu.Lock()
	defer r.actMu.Unlock()
	hist, err := r.opts.Store.LoadActivations(ctx)
	if err != nil {
		return false, fmt.Errorf("driver registry: sync: %w", err)
	}
	changed := false
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, h := range hist {
		var keep []string
		for _, sha := range h {
			if e, ok := r.versions[sha]; ok && e.info.Name == name {
				keep = append(keep, sha)
			}
		}
		if len(keep) == 0 || slices.Equal(keep, r.history[name]) {
			continue
		}
		before := r.activeLocked(name)
		r.history[name] = keep
		after := r.activeLocked(name)
		if before != after {
			changed = true
			r.log.Info("driver activated elsewhere", "driver", name, "version", after.info.Version, "sha256", after.info.SHA256)
		}
	}
	return changed, nil
}
