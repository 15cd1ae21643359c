package main

import (
	"log/slog"

	"github.com/lavalab/lavalab/core/multinode"
	"github.com/lavalab/lavalab/core/store"
)

// newMultinodeCoordinator returns the coordinator of multinode groups
// (issue 21), or nil when the store cannot schedule groups.
func newMultinodeCoordinator(st store.Store, log *slog.Logger) *multinode.Coordinator {
	mst, ok := st.(multinode.Store)
	if !ok {
		log.Warn("multinode jobs cannot run: the store has no multinode support")
		return nil
	}
	return multinode.New(mst, multinode.Options{Logger: log})
}
