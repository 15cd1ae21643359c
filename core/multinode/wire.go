package multinode

// The multinode API operations (LAVA's names).
const (
	OpSend    = "lava-send"
	OpWait    = "lava-wait"
	OpWaitAll = "lava-wait-all"
	OpSync    = "lava-sync"
)

// StartMessage is the message id every sub-job syncs on before its first
// action: the group starts together (LAVA's coordinator counts the group
// in; it is not a message id of the multinode API there).
const StartMessage = "lava_group_start"

// DelayedStartMessage is the message a connection role with `request:
// lava-start` waits for from its expect_role before its first action
// (LAVA's delayed start; the host role sends it with `lava-send
// lava_start`). Issue 21.
const DelayedStartMessage = "lava_start"

// Request is one multinode API call of a sub-job.
type Request struct {
	// Op is lava-send, lava-wait, lava-wait-all or lava-sync.
	Op        string            `json:"op"`
	MessageID string            `json:"message_id"`
	Data      map[string]string `json:"data,omitempty"`
	// Role limits lava-wait-all to the sub-jobs of one role, and a
	// lava-wait to the messages of that role's sub-jobs (a connection
	// role's delayed start and host address, issue 21).
	Role string `json:"role,omitempty"`
	// TimeoutMS bounds the wait (the protocol's timeout); 0 = the
	// coordinator's default.
	TimeoutMS int64 `json:"timeout_ms,omitempty"`
}

// Response is the coordinator's answer: the messages of the id by sender
// (the sender's job id), or a nack with the reason (the wait timed out, the
// group failed).
type Response struct {
	Messages map[string]map[string]string `json:"messages,omitempty"`
	Nack     bool                         `json:"nack,omitempty"`
	Reason   string                       `json:"reason,omitempty"`
	// Pending: the wait is not over; ask again with the remaining time.
	Pending bool `json:"pending,omitempty"`
}

// Member is one sub-job of a group.
type Member struct {
	JobID int64  `json:"job_id"`
	SubID string `json:"sub_id"`
	Role  string `json:"role"`
}

// Group is a multinode group as its sub-jobs see it.
type Group struct {
	Group   string   `json:"group"`
	Members []Member `json:"members"`
}

// Watch is the answer to a watch: Failed is set (with the reason) once the
// group failed; otherwise the watch ran out and the caller asks again.
type Watch struct {
	Failed bool   `json:"failed,omitempty"`
	Reason string `json:"reason,omitempty"`
}
