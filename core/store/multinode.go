package store

import (
	"context"

	"github.com/lavalab/lavalab/core/model"
)

// Multinode is what multinode groups need of a store (issue 21). The SQL
// store implements it; callers check for it with a type assertion.
type Multinode interface {
	// GroupJobs returns the sub-jobs of a target group in sub id order
	// (none: an empty list).
	GroupJobs(ctx context.Context, group string) ([]model.Job, error)
	// AssignGroup applies the assignments of one multinode group all or
	// none, in one transaction: every sub-job of the group must be in as,
	// Submitted, and get its device as Assign would give it; otherwise
	// nothing changes and it returns nil. A connection sub-job (no device
	// type, issue 21) comes with no Device: it goes to the worker of its
	// host role's sub-job, holding no device.
	AssignGroup(ctx context.Context, as []Assignment) ([]Assignment, error)
}
