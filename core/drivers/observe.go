package drivers

import (
	"context"
	"time"

	"github.com/lavalab/lavalab/sdk"
)

// PlanObserver is told about every plan call: the driver's name, how long
// the call took and its error (nil on success). It must not block.
type PlanObserver func(driver string, took time.Duration, err error)

// Observed returns d with every Plan call reported to obs (metrics); d
// itself when obs is nil.
func Observed(d Driver, obs PlanObserver) Driver {
	if obs == nil || d == nil {
		return d
	}
	return observed{Driver: d, obs: obs}
}

type observed struct {
	Driver
	obs PlanObserver
}

func (o observed) Plan(ctx context.Context, req sdk.PlanRequest) (sdk.Plan, []byte, error) {
	start := time.Now()
	p, diag, err := o.Driver.Plan(ctx, req)
	o.obs(o.Describe().Name, time.Since(start), err)
	return p, diag, err
}
