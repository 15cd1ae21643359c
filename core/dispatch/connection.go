package dispatch

// Issue 21: a multinode connection sub-job (LAVA's dynamic connection,
// a role with `connection: ssh` and no device). It runs on its host
// role's worker with the ssh driver and the host device's dictionary (its
// ssh_port, ssh_user, ssh_identity_file, ssh_options, as LAVA's guest
// uses its host device's configuration). With `request: lava-start` it
// first waits for the lava_start message of its expect_role; its ssh boot
// with `parameters: {hostID: ID, host_key: KEY}` logs in to the address
// the host role sent as `lava-send ID KEY=ADDRESS`.

import (
	"context"
	"time"

	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/multinode"
	"github.com/lavalab/lavalab/sdk"
)

// connectionJob is what a connection sub-job keeps of its role.
type connectionJob struct {
	Connection, HostRole string
}

// startConnection runs a connection sub-job's delayed start: with
// `request: lava-start` it waits (within the protocol's timeout) until a
// sub-job of its expect_role sends lava_start.
func (j *run) startConnection(ctx context.Context, facts *job.SubJobFacts) error {
	if facts.Connection == "" || j.mn == nil {
		return nil
	}
	j.mn.conn = &connectionJob{Connection: facts.Connection, HostRole: facts.HostRole}
	j.log.info("multinode: connection role %s (%s) to the device of role %s", facts.Role, facts.Connection, facts.HostRole)
	if facts.Request != "lava-start" {
		return nil
	}
	j.log.info("multinode: waiting for %s from role %s", multinode.DelayedStartMessage, facts.ExpectRole)
	start := time.Now()
	resp, err := j.multinodeCall(ctx, multinode.Request{Op: multinode.OpWait, MessageID: multinode.DelayedStartMessage, Role: facts.ExpectRole})
	if err != nil {
		return err
	}
	if resp.Nack {
		return errorf(sdk.ErrorInfrastructure, "multinode: role %s did not send %s within %s: %s", facts.ExpectRole, multinode.DelayedStartMessage, j.mn.Timeout, resp.Reason)
	}
	j.log.info("multinode: %s received from role %s (waited %.1fs)", multinode.DelayedStartMessage, facts.ExpectRole, time.Since(start).Seconds())
	return nil
}

// connectionAddress sets ssh_host for a connection sub-job's boot that
// names the host's message (parameters.hostID and host_key): it waits for
// the message hostID of the host role and takes the value of host_key.
func (j *run) connectionAddress(ctx context.Context, st *stage) error {
	if j.mn == nil || j.mn.conn == nil || st.Action.Kind != sdk.ActionBoot {
		return nil
	}
	params := st.Action.Params.Map("parameters")
	id, key := params.String("hostID", ""), params.String("host_key", "")
	if id == "" && key == "" {
		return nil
	}
	if id == "" || key == "" {
		return errorf(sdk.ErrorJob, "boot %s: parameters need both hostID (the message id) and host_key (the key of the address in it)", st.Action.Method)
	}
	role := j.mn.conn.HostRole
	resp, err := j.multinodeCall(ctx, multinode.Request{Op: multinode.OpWait, MessageID: id, Role: role})
	if err != nil {
		return err
	}
	if resp.Nack {
		return errorf(sdk.ErrorInfrastructure, "multinode: no message %s from role %s: %s", id, role, resp.Reason)
	}
	addr := ""
	for _, data := range resp.Messages {
		if v := data[key]; v != "" {
			addr = v
			break
		}
	}
	if addr == "" {
		return errorf(sdk.ErrorJob, "multinode: the message %s of role %s has no key %s (host_key)", id, role, key)
	}
	j.log.info("multinode: host address %s (message %s, key %s of role %s)", addr, id, key, role)
	j.p.Settings["ssh_host"] = addr
	return nil
}
