package store

import "context"

// TopicDriversChanged: a driver's activation history was saved (server
// instances re-read their driver registry). Key: the driver name.
const TopicDriversChanged = "drivers_changed"

// DriverModules stores device-type driver modules and the activation
// history of each driver name, so every server instance serves the same
// drivers (the driver registry's module store).
type DriverModules interface {
	// PutDriverModule stores a module under its SHA-256 (lower-case hex);
	// storing one already there changes nothing. name is the driver's name.
	PutDriverModule(ctx context.Context, sha, name string, data []byte) error
	// DriverModule returns a module's bytes (ErrNotFound if unknown).
	DriverModule(ctx context.Context, sha string) ([]byte, error)
	// ListDriverModules returns the SHA-256 of every stored module, sorted.
	ListDriverModules(ctx context.Context) ([]string, error)
	// SaveDriverActivations replaces a driver's activation history: the
	// SHA-256 of each version activated, oldest first; the last is active.
	// It publishes TopicDriversChanged.
	SaveDriverActivations(ctx context.Context, name string, history []string) error
	// DriverActivations returns every driver's activation history.
	DriverActivations(ctx context.Context) (map[string][]string, error)
	// DeleteDriverModule removes a stored module and its entries in the
	// activation histories, publishing TopicDriversChanged. It refuses
	// (ErrConflict, saying why) a module that is a driver's active version
	// or that a job not finished is pinned to (Scheduled, Running or
	// Canceling); ErrNotFound if there is no such module.
	DeleteDriverModule(ctx context.Context, sha string) error
}
