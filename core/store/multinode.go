package store

import (
	"context"
	"time"

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
	MultinodeMessages
}

// TopicMultinode: a multinode message was stored (the group's waits
// wake, on every instance). Key: the target group ("" after events may
// have been missed: every group).
const TopicMultinode = "multinode"

// MultinodeMessage is one message of the multinode API (lava-send,
// lava-sync) of a sub-job to its group (issue 21).
type MultinodeMessage struct {
	// Group is the target group; Sender the sending sub-job's id.
	Group     string
	MessageID string
	Sender    int64
	// Data are the message's key/value pairs (never nil when read).
	Data map[string]string
	// Seq orders a group's messages by commit: a message stored after
	// another has a greater Seq. Created is when the data were stored.
	Seq     int64
	Created time.Time
}

// MultinodeMessages keeps the messages of multinode groups, so that every
// server instance on the database, and a restarted one, gives a group's
// waits the same answers. A message is removed with its sender's job.
type MultinodeMessages interface {
	// PutMultinodeMessage stores m (Group, MessageID, Sender, Data) and
	// publishes TopicMultinode with the group as key. The sender must be
	// a sub-job of the group (else ErrInvalid; no such job: ErrNotFound).
	// It is idempotent per group, message id and sender: the same data
	// again changes nothing; other data replace the stored ones and take
	// a new Seq. It returns the stored message.
	PutMultinodeMessage(ctx context.Context, m MultinodeMessage) (MultinodeMessage, error)
	// MultinodeMessages returns the messages of a group whose Seq is
	// above after (0: all), in Seq order.
	MultinodeMessages(ctx context.Context, group string, after int64) ([]MultinodeMessage, error)
}
