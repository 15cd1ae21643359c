package multinode

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// Store is what the coordinator reads and changes.
type Store interface {
	Job(ctx context.Context, v store.Viewer, id int64) (model.Job, error)
	CancelJob(ctx context.Context, id int64) (model.Job, error)
	Subscribe(ctx context.Context, topics ...string) (<-chan store.Event, error)
	store.Multinode
}

// Defaults of Options.
const (
	// DefaultTimeout bounds a wait whose job gives no protocol timeout.
	DefaultTimeout = 5 * time.Minute
	// DefaultPollCap bounds one HTTP call's wait: a longer wait is asked
	// again by the worker (Response.Pending).
	DefaultPollCap = 25 * time.Second
	// DefaultSweep is how often running groups are checked again besides
	// the store's events (which are best effort).
	DefaultSweep = 5 * time.Second
)

// Options tune a Coordinator; the zero value is usable.
type Options struct {
	DefaultTimeout, PollCap, Sweep time.Duration
	Logger                         *slog.Logger
}

// Coordinator answers the multinode API of running groups. The store holds
// the state: the messages (store.MultinodeMessages) and the sub-jobs' states
// the group's fate derives from; the coordinator caches them per group, so
// a restarted coordinator, or one in another lava-server instance on the
// same database, gives the same answers.
type Coordinator struct {
	st Store
	o  Options

	mu     sync.Mutex
	groups map[string]*group
}

type group struct {
	name    string
	members []Member
	// msgs caches the group's stored messages: message id → sender job
	// id → data, as read up to seq (the greatest store seq read).
	msgs map[string]map[string]map[string]string
	seq  int64
	// failed is the reason the group failed ("" while it has not),
	// derived from the sub-jobs' states in the store.
	failed string
	// canceled is set once a canceled sub-job canceled the others (an
	// optimisation: canceling again changes nothing).
	canceled bool
	// change is closed (and replaced) on every change.
	change chan struct{}
}

// New returns a coordinator over st.
func New(st Store, o Options) *Coordinator {
	if o.DefaultTimeout <= 0 {
		o.DefaultTimeout = DefaultTimeout
	}
	if o.PollCap <= 0 {
		o.PollCap = DefaultPollCap
	}
	if o.Sweep <= 0 {
		o.Sweep = DefaultSweep
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Coordinator{st: st, o: o, groups: map[string]*group{}}
}

func (g *group) changed() {
	close(g.change)
	g.change = make(chan struct{})
}

// roleOf returns the role of a sender (a job id in decimal), "" when it
// is not a member.
func (g *group) roleOf(sender string) string {
	for _, m := range g.members {
		if strconv.FormatInt(m.JobID, 10) == sender {
			return m.Role
		}
	}
	return ""
}

func (g *group) member(id int64) (Member, bool) {
	for _, m := range g.members {
		if m.JobID == id {
			return m, true
		}
	}
	return Member{}, false
}

// load returns the cached group of a target group, reading it from the
// store the first time.
func (c *Coordinator) load(ctx context.Context, name string) (*group, error) {
	c.mu.Lock()
	g := c.groups[name]
	c.mu.Unlock()
	if g != nil {
		return g, nil
	}
	jobs, err := c.st.GroupJobs(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("multinode group %s: %w", name, err)
	}
	if len(jobs) == 0 {
		return nil, fmt.Errorf("multinode group %s has no sub-jobs", name)
	}
	g = &group{name: name, msgs: map[string]map[string]map[string]string{}, change: make(chan struct{})}
	for _, j := range jobs {
		m := Member{JobID: j.ID, SubID: j.SubID}
		if facts, _, err := job.ReadSubJob([]byte(j.Definition)); err == nil && facts != nil {
			m.Role = facts.Role
		}
		g.members = append(g.members, m)
	}
	// A group that failed before this coordinator knew it (a restart,
	// another instance) fails at once.
	g.failed = g.failure(jobs)
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.groups[name]; old != nil {
		return old, nil
	}
	c.groups[name] = g
	return g, nil
}

// failure returns why the group failed, "" when it has not: the sub-job
// that ended Incomplete first (end time, then id; every instance picks the
// same) fails the group.
func (g *group) failure(jobs []model.Job) string {
	var first *model.Job
	for i, j := range jobs {
		if j.State != model.JobFinished || j.Health != model.JobIncomplete {
			continue
		}
		if first == nil || j.EndTime.Before(first.EndTime) || (j.EndTime.Equal(first.EndTime) && j.ID < first.ID) {
			first = &jobs[i]
		}
	}
	if first == nil {
		return ""
	}
	role := ""
	if m, ok := g.member(first.ID); ok {
		role = m.Role
	}
	reason := fmt.Sprintf("sub-job %s (role %s) ended Incomplete", first.SubID, role)
	if first.FailureComment != "" {
		reason += ": " + first.FailureComment
	}
	return reason
}

// refresh reads the group's messages stored since the cache's last read.
// A group's seqs grow in commit order, so none is missed; a replaced
// message comes again with a new seq.
func (c *Coordinator) refresh(ctx context.Context, g *group) error {
	c.mu.Lock()
	after := g.seq
	c.mu.Unlock()
	ms, err := c.st.MultinodeMessages(ctx, g.name, after)
	if err != nil {
		return fmt.Errorf("multinode group %s: reading its messages: %w", g.name, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range ms {
		if m.Seq <= g.seq {
			continue // a concurrent refresh applied it
		}
		if g.msgs[m.MessageID] == nil {
			g.msgs[m.MessageID] = map[string]map[string]string{}
		}
		g.msgs[m.MessageID][strconv.FormatInt(m.Sender, 10)] = m.Data
		g.seq = m.Seq
	}
	return nil
}

// groupOf returns the group of a sub-job and the sub-job's member entry.
func (c *Coordinator) groupOf(ctx context.Context, jobID int64) (*group, Member, error) {
	j, err := c.st.Job(ctx, store.System(), jobID)
	if err != nil {
		return nil, Member{}, fmt.Errorf("job %d: %w", jobID, err)
	}
	if j.TargetGroup == "" {
		return nil, Member{}, fmt.Errorf("job %d is not a multinode sub-job: %w", jobID, store.ErrInvalid)
	}
	g, err := c.load(ctx, j.TargetGroup)
	if err != nil {
		return nil, Member{}, err
	}
	m, ok := g.member(jobID)
	if !ok {
		return nil, Member{}, fmt.Errorf("job %d is not in group %s", jobID, j.TargetGroup)
	}
	return g, m, nil
}

// Group returns the group of a sub-job.
func (c *Coordinator) Group(ctx context.Context, jobID int64) (Group, error) {
	g, _, err := c.groupOf(ctx, jobID)
	if err != nil {
		return Group{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return Group{Group: g.name, Members: append([]Member(nil), g.members...)}, nil
}

// validMessageID: LAVA's message ids are one word (the console protocol
// splits on blanks and ends at '>').
func validMessageID(id string) error {
	if id == "" || strings.ContainsAny(id, " \t\r\n<>=") {
		return fmt.Errorf("message id %q: a message id is one word without '<', '>' or '='", id)
	}
	return nil
}

// Call runs one multinode API call of sub-job jobID. A wait lasts at most
// PollCap per call: when more of req.TimeoutMS remains and the wait is not
// over, the answer is Pending and the caller asks again with the
// remaining time (a send is idempotent). Bad requests are errors wrapping
// store.ErrInvalid.
func (c *Coordinator) Call(ctx context.Context, jobID int64, req Request) (Response, error) {
	switch req.Op {
	case OpSend, OpWait, OpWaitAll, OpSync:
	default:
		return Response{}, fmt.Errorf("unknown multinode operation %q (lava-send, lava-wait, lava-wait-all or lava-sync): %w", req.Op, store.ErrInvalid)
	}
	if err := validMessageID(req.MessageID); err != nil {
		return Response{}, fmt.Errorf("%s: %v: %w", req.Op, err, store.ErrInvalid)
	}
	for k, v := range req.Data {
		if k == "" || strings.ContainsAny(k+v, " \t\r\n<>") || strings.Contains(k, "=") {
			return Response{}, fmt.Errorf("%s %s: key %q value %q: keys and values are single words: %w", req.Op, req.MessageID, k, v, store.ErrInvalid)
		}
	}
	g, me, err := c.groupOf(ctx, jobID)
	if err != nil {
		return Response{}, err
	}
	self := strconv.FormatInt(me.JobID, 10)
	if (req.Op == OpWaitAll || req.Op == OpWait) && req.Role != "" {
		found := false
		for _, m := range g.members {
			found = found || m.Role == req.Role
		}
		if !found {
			return Response{Nack: true, Reason: fmt.Sprintf("%s %s: the group has no role %q", req.Op, req.MessageID, req.Role)}, nil
		}
	}
	if req.Op == OpSend || req.Op == OpSync {
		// Stored first: the message survives a restart and reaches the
		// other instances (TopicMultinode); a second send replaces the
		// sender's data.
		if _, err := c.st.PutMultinodeMessage(ctx, store.MultinodeMessage{Group: g.name, MessageID: req.MessageID, Sender: me.JobID, Data: req.Data}); err != nil {
			return Response{}, fmt.Errorf("%s %s: %w", req.Op, req.MessageID, err)
		}
		c.mu.Lock()
		g.changed()
		c.mu.Unlock()
		if req.Op == OpSend {
			return Response{}, nil
		}
	}
	total := time.Duration(req.TimeoutMS) * time.Millisecond
	if total <= 0 {
		total = c.o.DefaultTimeout
	}
	wait := min(total, c.o.PollCap)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		// The change channel is taken before the store is read: a
		// message stored meanwhile closes it.
		c.mu.Lock()
		change := g.change
		c.mu.Unlock()
		if err := c.refresh(ctx, g); err != nil {
			if ctx.Err() != nil {
				return Response{}, ctx.Err()
			}
			// The next event or sweep tries again.
			c.o.Logger.Warn("multinode: reading messages", "group", g.name, "err", err)
		}
		c.mu.Lock()
		failed, done, msgs := g.failed, c.satisfied(g, self, req), g.msgs[req.MessageID]
		out := make(map[string]map[string]string, len(msgs))
		for k, v := range msgs {
			out[k] = maps.Clone(v)
		}
		c.mu.Unlock()
		if failed != "" {
			return Response{Nack: true, Reason: "the multinode group failed: " + failed}, nil
		}
		if done {
			return Response{Messages: out}, nil
		}
		select {
		case <-change:
		case <-ctx.Done():
			return Response{}, ctx.Err()
		case <-timer.C:
			if total > wait {
				return Response{Pending: true}, nil
			}
			return Response{Nack: true, Reason: fmt.Sprintf("%s %s timed out after %s", req.Op, req.MessageID, total)}, nil
		}
	}
}

// satisfied reports whether a wait is over; called with mu held.
func (c *Coordinator) satisfied(g *group, self string, req Request) bool {
	msgs := g.msgs[req.MessageID]
	switch req.Op {
	case OpWait:
		for sender := range msgs {
			if sender != self && (req.Role == "" || g.roleOf(sender) == req.Role) {
				return true
			}
		}
		return false
	case OpWaitAll, OpSync:
		for _, m := range g.members {
			if req.Op == OpWaitAll && req.Role != "" && m.Role != req.Role {
				continue
			}
			if _, ok := msgs[strconv.FormatInt(m.JobID, 10)]; !ok {
				return false
			}
		}
		return true
	}
	return false
}

// Watch waits until the sub-job's group fails, for at most PollCap.
func (c *Coordinator) Watch(ctx context.Context, jobID int64) (Watch, error) {
	g, _, err := c.groupOf(ctx, jobID)
	if err != nil {
		return Watch{}, err
	}
	timer := time.NewTimer(c.o.PollCap)
	defer timer.Stop()
	for {
		c.mu.Lock()
		failed, change := g.failed, g.change
		c.mu.Unlock()
		if failed != "" {
			return Watch{Failed: true, Reason: failed}, nil
		}
		select {
		case <-change:
		case <-ctx.Done():
			return Watch{}, ctx.Err()
		case <-timer.C:
			return Watch{}, nil
		}
	}
}

// Run follows the store's job events and sweeps the running groups until
// ctx ends: a sub-job that ended Incomplete fails its group (the others
// end Incomplete with the reason); a canceled one cancels the others. A
// message stored by any instance (TopicMultinode) wakes the group's waits
// here; the sweep wakes them too, in case an event was missed.
func (c *Coordinator) Run(ctx context.Context) error {
	evs, err := c.st.Subscribe(ctx, store.TopicJobFinished, store.TopicJobCanceling, store.TopicMultinode)
	if err != nil {
		return fmt.Errorf("multinode: subscribing to job events: %w", err)
	}
	tick := time.NewTicker(c.o.Sweep)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-evs:
			if !ok {
				return nil
			}
			if ev.Topic == store.TopicMultinode {
				c.wake(ev.Key)
				continue
			}
			if ev.Topic == store.TopicJobFinished {
				if id, err := strconv.ParseInt(ev.Key, 10, 64); err == nil {
					c.jobFinished(ctx, id)
				}
				continue
			}
			c.sweep(ctx)
		case <-tick.C:
			c.sweep(ctx)
		}
	}
}

func (c *Coordinator) jobFinished(ctx context.Context, id int64) {
	j, err := c.st.Job(ctx, store.System(), id)
	if err != nil || j.TargetGroup == "" {
		return
	}
	g, err := c.load(ctx, j.TargetGroup)
	if err != nil {
		c.o.Logger.Warn("multinode: loading a group", "group", j.TargetGroup, "err", err)
		return
	}
	c.Reconcile(ctx, g.name)
}

func (c *Coordinator) sweep(ctx context.Context) {
	c.mu.Lock()
	names := make([]string, 0, len(c.groups))
	for n := range c.groups {
		names = append(names, n)
	}
	c.mu.Unlock()
	for _, n := range names {
		c.Reconcile(ctx, n)
	}
	c.wake("")
}

// wake wakes the waits of a cached group (all groups: name "") to read
// the store again.
func (c *Coordinator) wake(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for n, g := range c.groups {
		if name == "" || n == name {
			g.changed()
		}
	}
}

// Reconcile applies the group rules to the sub-jobs' current states: the
// first sub-job that ended Incomplete fails the group; a canceled one
// (Canceling, or Finished Canceled) cancels the others, unless the group
// failed (the others then end Incomplete with the reason); sub-jobs not
// started yet of a failed group are canceled; a group whose sub-jobs all
// ended is forgotten.
func (c *Coordinator) Reconcile(ctx context.Context, name string) {
	jobs, err := c.st.GroupJobs(ctx, name)
	if err != nil {
		c.o.Logger.Warn("multinode: reading a group", "group", name, "err", err)
		return
	}
	g, err := c.load(ctx, name)
	if err != nil {
		return
	}
	c.mu.Lock()
	failed, canceled := g.failed, g.canceled
	c.mu.Unlock()
	if failed == "" {
		if failed = g.failure(jobs); failed != "" {
			c.mu.Lock()
			if g.failed == "" {
				g.failed = failed
				g.changed()
			}
			failed = g.failed
			c.mu.Unlock()
			c.o.Logger.Warn("multinode group failed", "group", name, "reason", failed)
		}
	}
	allDone := true
	var cancelReason string
	for _, j := range jobs {
		if j.State != model.JobFinished {
			allDone = false
		}
		if (j.State == model.JobCanceling || (j.State == model.JobFinished && j.Health == model.JobCanceled)) && cancelReason == "" {
			cancelReason = fmt.Sprintf("sub-job %s was canceled", j.SubID)
		}
	}
	if allDone {
		c.mu.Lock()
		delete(c.groups, name)
		c.mu.Unlock()
		return
	}
	cancelAll := failed == "" && cancelReason != "" && !canceled
	if cancelAll {
		c.mu.Lock()
		g.canceled = true
		c.mu.Unlock()
		c.o.Logger.Info("multinode group canceled", "group", name, "reason", cancelReason)
	}
	for _, j := range jobs {
		notStarted := j.State == model.JobSubmitted || j.State == model.JobScheduling || j.State == model.JobScheduled
		if (cancelAll && (notStarted || j.State == model.JobRunning)) || (failed != "" && notStarted) {
			if _, err := c.st.CancelJob(ctx, j.ID); err != nil && !errors.Is(err, store.ErrConflict) {
				c.o.Logger.Warn("multinode: canceling a sub-job", "job", j.ID, "err", err)
			}
		}
	}
}
