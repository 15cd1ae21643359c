package dispatch

// Issue 21: a multinode sub-job: its group (from the coordinator), the
// start of the group together (lava_start, bounded by the protocol's
// timeout), the multinode API calls of its test shell and interactive
// tests, and the watch that ends it Incomplete when the group fails.

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/multinode"
	"github.com/lavalab/lavalab/core/testshell"
	"github.com/lavalab/lavalab/sdk"
)

// MultinodeClient carries one sub-job's multinode calls to its group's
// coordinator (lava-worker's goes through the worker protocol).
type MultinodeClient interface {
	// Group returns the sub-job's group (its members and their roles).
	Group(ctx context.Context) (multinode.Group, error)
	// Call runs one multinode API call; it blocks until the coordinator
	// answers (a nack when the wait timed out or the group failed).
	Call(ctx context.Context, req multinode.Request) (multinode.Response, error)
	// Watch waits a while for the group to fail.
	Watch(ctx context.Context) (multinode.Watch, error)
}

// MultinodeRequest is a multinode API call (multinode.Request).
type MultinodeRequest = multinode.Request

// DefaultMultinodeTimeout bounds the group's start and each wait when the
// job's lava-multinode protocol gives no timeout.
const DefaultMultinodeTimeout = 5 * time.Minute

// multinodeJob is the sub-job's multinode facts.
type multinodeJob struct {
	Role    string
	Timeout time.Duration
	Group   multinode.Group
	client  MultinodeClient
	conn    *connectionJob // a connection role's facts (connection.go), else nil
}

// groupFailed is the cause a failed group cancels the job's context with.
type groupFailed struct{ reason string }

func (e *groupFailed) Error() string { return "multinode group failed: " + e.reason }

// subJob reads a multinode sub-job's definition: the facts, and the
// request with the definition as a single-device job. A job that is not a
// sub-job comes back unchanged with nil facts.
func subJob(r Request) (*job.SubJobFacts, Request, error) {
	facts, single, err := job.ReadSubJob(r.Definition)
	if err != nil || facts == nil {
		return nil, r, err
	}
	r.Definition = single
	return facts, r, nil
}

// startMultinode fetches the group and waits until every sub-job of it
// has started (lava_start), within the protocol's timeout.
func (j *run) startMultinode(ctx context.Context, facts *job.SubJobFacts) error {
	if j.r.Multinode == nil {
		return errorf(sdk.ErrorInfrastructure, "multinode sub-job (role %s), but this worker gave the dispatcher no way to its group's coordinator", facts.Role)
	}
	mn := &multinodeJob{Role: facts.Role, Timeout: facts.Timeout, client: j.r.Multinode}
	if mn.Timeout <= 0 {
		mn.Timeout = DefaultMultinodeTimeout
	}
	g, err := j.r.Multinode.Group(ctx)
	if err != nil {
		return errorf(sdk.ErrorInfrastructure, "multinode group: %v", err)
	}
	mn.Group = g
	j.mn = mn
	j.log.info("multinode: role %s, group %s of %d sub-job(s), timeout %s", mn.Role, g.Group, len(g.Members), mn.Timeout)
	start := time.Now()
	resp, err := j.multinodeCall(ctx, multinode.Request{Op: multinode.OpSync, MessageID: multinode.StartMessage})
	if err != nil {
		return err
	}
	if resp.Nack {
		return errorf(sdk.ErrorInfrastructure, "multinode group did not start together within %s: %s", mn.Timeout, resp.Reason)
	}
	j.log.info("multinode: the group started together (waited %.1fs)", time.Since(start).Seconds())
	return nil
}

// watchGroup returns a context canceled with a *groupFailed cause when the
// coordinator reports the group failed; stop ends the watch.
func (j *run) watchGroup(ctx context.Context) (context.Context, func()) {
	wctx, cancel := context.WithCancelCause(ctx)
	go func() {
		for wctx.Err() == nil {
			w, err := j.mn.client.Watch(wctx)
			if err != nil {
				select {
				case <-wctx.Done():
				case <-time.After(time.Second):
				}
				continue
			}
			if w.Failed {
				cancel(&groupFailed{reason: w.Reason})
				return
			}
		}
	}()
	return wctx, func() { cancel(nil) }
}

// groupFailure returns the group's failure when it ended the job's context.
func groupFailure(ctx context.Context) *groupFailed {
	var gf *groupFailed
	if errors.As(context.Cause(ctx), &gf) {
		return gf
	}
	return nil
}

// multinodeCall runs one call with the protocol's timeout.
func (j *run) multinodeCall(ctx context.Context, req multinode.Request) (multinode.Response, error) {
	if j.mn == nil {
		return multinode.Response{}, errorf(sdk.ErrorJob, "%s needs a multinode job", req.Op)
	}
	if req.TimeoutMS == 0 {
		req.TimeoutMS = j.mn.Timeout.Milliseconds()
	}
	j.log.debug("multinode: %s %s %v", req.Op, req.MessageID, req.Data)
	resp, err := j.mn.client.Call(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return resp, fmt.Errorf("multinode %s %s: %w", req.Op, req.MessageID, context.Cause(ctx))
		}
		return resp, errorf(sdk.ErrorInfrastructure, "multinode %s %s: %v", req.Op, req.MessageID, err)
	}
	return resp, nil
}

// multinodeStages runs the stages; a sub-job first starts with its group,
// and ends Incomplete with the reason when the group fails meanwhile.
func (j *run) multinodeStages(ctx context.Context, facts *job.SubJobFacts) error {
	if facts == nil {
		return j.stages(ctx)
	}
	if err := j.startMultinode(ctx, facts); err != nil {
		return err
	}
	wctx, stop := j.watchGroup(ctx)
	defer stop()
	err := j.startConnection(wctx, facts)
	if err == nil {
		err = j.stages(wctx)
	}
	if gf := groupFailure(wctx); gf != nil && ctx.Err() == nil {
		return errorf(sdk.ErrorJob, "%s", gf.Error())
	}
	return err
}

// overlayMultinode are the multinode scripts' facts of a sub-job (nil for
// a single-device job).
func (j *run) overlayMultinode() *testshell.Multinode {
	if j.mn == nil {
		return nil
	}
	m := &testshell.Multinode{Role: j.mn.Role, Self: j.id}
	for _, mb := range j.mn.Group.Members {
		m.Members = append(m.Members, testshell.MultinodeMember{ID: strconv.FormatInt(mb.JobID, 10), Role: mb.Role})
	}
	return m
}

// shellMultinode answers a multinode call of the test shell: it asks the
// coordinator, answers a waiting call on the shell's input as LAVA does
// (<LAVA_WAIT_COMPLETE sender:key=value ...>, " nack" on failure) and
// records the call as test case multinode-<api>-<id> of the running test.
func (j *run) shellMultinode(ctx context.Context, r testshell.Record, delay time.Duration) error {
	c, err := testshell.ParseMultinodeCall(r.Text)
	if err != nil {
		j.log.warn("%v", err)
		return nil
	}
	op := map[string]string{"SEND": multinode.OpSend, "WAIT": multinode.OpWait, "WAIT_ALL": multinode.OpWaitAll, "SYNC": multinode.OpSync}[c.API]
	resp, err := j.multinodeCall(ctx, multinode.Request{Op: op, MessageID: c.MessageID, Data: c.Data, Role: c.Role})
	if err != nil {
		return err
	}
	result := "pass"
	if resp.Nack {
		result = "fail"
		j.log.warn("multinode %s %s: %s", op, c.MessageID, resp.Reason)
	}
	if r.Suite != "" {
		j.log.result(map[string]any{"definition": r.Suite, "case": strings.ToLower("multinode-" + c.API + "-" + c.MessageID), "result": result}, r.Line)
	}
	if c.API == "SEND" {
		return nil
	}
	var b strings.Builder
	b.WriteString("<LAVA_" + c.API + "_COMPLETE")
	if resp.Nack {
		b.WriteString(" nack")
	} else {
		senders := make([]string, 0, len(resp.Messages))
		for s := range resp.Messages {
			senders = append(senders, s)
		}
		sort.Strings(senders)
		for _, s := range senders {
			keys := make([]string, 0, len(resp.Messages[s]))
			for k := range resp.Messages[s] {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				fmt.Fprintf(&b, " %s:%s=%s", s, k, resp.Messages[s][k])
			}
		}
	}
	b.WriteString(">")
	j.log.input(b.String())
	if err := j.eng.Send(ctx, b.String(), true, delay); err != nil {
		return errorf(sdk.ErrorInfrastructure, "answering %s %s on the console: %v", op, c.MessageID, err)
	}
	return nil
}
