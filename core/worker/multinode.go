package worker

// Issue 21: the multinode routes of the worker protocol. A sub-job's
// dispatcher reaches its group's coordinator (core/multinode) in
// lava-server through its worker, with the job's token:
//
//	GET  /worker/v1/jobs/{id}/multinode/group  → multinode.Group
//	POST /worker/v1/jobs/{id}/multinode/call   multinode.Request → multinode.Response
//	POST /worker/v1/jobs/{id}/multinode/watch  → multinode.Watch
//
// A call waits at most the coordinator's PollCap (25 s); a longer wait
// answers Pending and the worker asks again with the remaining time.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/lavalab/lavalab/core/multinode"
)

// JobMultinode is one running sub-job's way to its group's coordinator
// (the dispatcher's MultinodeClient).
type JobMultinode struct {
	Client *Client
	ID     int64
	Token  string
}

// multinodeCallMax bounds one HTTP call: the coordinator answers within
// its PollCap (25 s).
const multinodeCallMax = 90 * time.Second

// Group returns the sub-job's group.
func (m JobMultinode) Group(ctx context.Context) (multinode.Group, error) {
	var g multinode.Group
	if m.Client == nil {
		return g, errors.New("multinode: no worker protocol client")
	}
	err := m.Client.do(ctx, http.MethodGet, fmt.Sprintf("/jobs/%d/multinode/group", m.ID), m.Token, nil, &g, m.Client.timeout())
	return g, err
}

// multinodeRetry is how long a call waits before asking again a server
// that is unavailable (restarting).
const multinodeRetry = time.Second

// Call runs one multinode call, asking again while the coordinator
// answers Pending, until the request's timeout. A server that is
// unavailable (restarting, stopping) is asked again too until then: the
// group's messages are in its store, so the restarted server (or another
// instance) gives the same answer, and a send is idempotent.
func (m JobMultinode) Call(ctx context.Context, req multinode.Request) (multinode.Response, error) {
	if req.TimeoutMS <= 0 {
		req.TimeoutMS = multinode.DefaultTimeout.Milliseconds()
	}
	deadline := time.Now().Add(time.Duration(req.TimeoutMS) * time.Millisecond)
	for {
		var resp multinode.Response
		err := m.Client.do(ctx, http.MethodPost, fmt.Sprintf("/jobs/%d/multinode/call", m.ID), m.Token, req, &resp, multinodeCallMax)
		if err != nil && Unavailable(err) && ctx.Err() == nil && time.Until(deadline) > 0 {
			select {
			case <-ctx.Done():
				return resp, err
			case <-time.After(min(multinodeRetry, time.Until(deadline))):
			}
			req.TimeoutMS = max(time.Until(deadline).Milliseconds(), 1)
			continue
		}
		if err != nil || !resp.Pending {
			return resp, err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return multinode.Response{Nack: true, Reason: fmt.Sprintf("%s %s timed out", req.Op, req.MessageID)}, nil
		}
		req.TimeoutMS = max(left.Milliseconds(), 1)
	}
}

// Watch waits (up to the coordinator's PollCap) for the group to fail.
func (m JobMultinode) Watch(ctx context.Context) (multinode.Watch, error) {
	var ans multinode.Watch
	err := m.Client.do(ctx, http.MethodPost, fmt.Sprintf("/jobs/%d/multinode/watch", m.ID), m.Token, struct{}{}, &ans, multinodeCallMax)
	return ans, err
}
