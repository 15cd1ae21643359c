package dispatch

// Issue 21: the LAVA multinode API (lava-send, lava-wait, lava-wait-all,
// lava-sync) of a multinode sub-job, carried to the group's coordinator on
// the server by a MultinodeClient.

import (
	"context"
	"time"

	"github.com/lavalab/lavalab/sdk"
)

// MultinodeRequest is one multinode API call of a sub-job.
type MultinodeRequest struct {
	// Op is lava-send, lava-wait, lava-wait-all or lava-sync.
	Op        string            `json:"op"`
	MessageID string            `json:"message_id"`
	Data      map[string]string `json:"data,omitempty"`
	// Role limits lava-wait-all to the sub-jobs of one role.
	Role string `json:"role,omitempty"`
	// TimeoutMS bounds the wait (the protocol's timeout); 0 = the
	// coordinator's default.
	TimeoutMS int64 `json:"timeout_ms,omitempty"`
}

// MultinodeResponse is the coordinator's answer: the messages of the id by
// sender (the sub-job id), or a nack (the wait timed out, the group ended).
type MultinodeResponse struct {
	Messages map[string]map[string]string `json:"messages,omitempty"`
	Nack     bool                         `json:"nack,omitempty"`
	Reason   string                       `json:"reason,omitempty"`
}

// MultinodeMember is one sub-job of a group.
type MultinodeMember struct {
	JobID int64  `json:"job_id"`
	Role  string `json:"role"`
}

// MultinodeGroup is what a sub-job knows of its group.
type MultinodeGroup struct {
	Group   string            `json:"group"`
	Members []MultinodeMember `json:"members"`
}

// MultinodeClient carries a sub-job's multinode calls to its group's
// coordinator (the worker implements it over the worker protocol).
type MultinodeClient interface {
	// Group returns the sub-job's group (its members and their roles).
	Group(ctx context.Context, jobID int64) (MultinodeGroup, error)
	// Call runs one multinode API call of the sub-job; it blocks until
	// the coordinator answers.
	Call(ctx context.Context, jobID int64, req MultinodeRequest) (MultinodeResponse, error)
}

// multinodeCall runs one call with the protocol's timeout.
func (j *run) multinodeCall(ctx context.Context, req MultinodeRequest) (MultinodeResponse, error) {
	if j.mn == nil || j.d.o.Multinode == nil {
		return MultinodeResponse{}, errorf(sdk.ErrorJob, "%s needs a multinode job", req.Op)
	}
	if req.TimeoutMS == 0 && j.mn.Timeout > 0 {
		req.TimeoutMS = j.mn.Timeout.Milliseconds()
	}
	resp, err := j.d.o.Multinode.Call(ctx, j.r.JobID, req)
	if err != nil {
		if ctx.Err() != nil {
			return resp, err
		}
		return resp, errorf(sdk.ErrorInfrastructure, "multinode %s %s: %v", req.Op, req.MessageID, err)
	}
	return resp, nil
}

// multinodeJob is the sub-job's multinode facts.
type multinodeJob struct {
	Role    string
	Timeout time.Duration
	Group   MultinodeGroup
}
