package sqlstore

// Issue 21: the messages of multinode groups (store.MultinodeMessages).

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"

	"github.com/lavalab/lavalab/core/store"
)

var _ store.MultinodeMessages = (*DB)(nil)

// putMessageAttempts bounds the retries of a message put that lost the
// race for its group's next seq to a concurrent one (PostgreSQL).
const putMessageAttempts = 20

// PutMultinodeMessage stores a sub-job's message; see
// store.MultinodeMessages.
func (s *DB) PutMultinodeMessage(ctx context.Context, m store.MultinodeMessage) (store.MultinodeMessage, error) {
	if m.Group == "" || m.MessageID == "" || m.Sender <= 0 {
		return store.MultinodeMessage{}, invalid("multinode message: group %q, message id %q and sender %d are all required", m.Group, m.MessageID, m.Sender)
	}
	m.Data = maps.Clone(m.Data)
	if m.Data == nil {
		m.Data = map[string]string{}
	}
	text, err := json.Marshal(m.Data)
	if err != nil {
		return store.MultinodeMessage{}, fmt.Errorf("multinode message %s of job %d: encoding its data: %w", m.MessageID, m.Sender, err)
	}
	for attempt := 1; ; attempt++ {
		out, err := s.putMessage(ctx, m, string(text))
		// The group's next seq was taken by a concurrent put that
		// committed first (PostgreSQL; SQLite writers are serial): the
		// unique (group, seq) index refused this one. Read MAX again.
		if err != nil && s.d.IsUnique(err) && attempt < putMessageAttempts {
			continue
		}
		if err != nil {
			return store.MultinodeMessage{}, s.wrap(err, "storing multinode message %s of job %d in group %s", m.MessageID, m.Sender, m.Group)
		}
		return out, nil
	}
}

func (s *DB) putMessage(ctx context.Context, m store.MultinodeMessage, data string) (store.MultinodeMessage, error) {
	err := s.inTx(ctx, func(t *tx) error {
		var group string
		err := t.QueryRowContext(ctx, `SELECT target_group FROM jobs WHERE id = $1`, m.Sender).Scan(&group)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("job %d", m.Sender)
		}
		if err != nil {
			return err
		}
		if group != m.Group {
			return invalid("job %d is not a sub-job of group %s", m.Sender, m.Group)
		}
		var old string
		var seq, created int64
		err = t.QueryRowContext(ctx, `SELECT data, seq, created FROM multinode_messages
WHERE target_group = $1 AND message_id = $2 AND sender_job_id = $3`, m.Group, m.MessageID, m.Sender).Scan(&old, &seq, &created)
		switch {
		case err == nil && old == data:
			// The same send again (a worker's retry): nothing changes.
			m.Seq, m.Created = seq, fromMicros(created)
			return nil
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if err := t.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) + 1 FROM multinode_messages WHERE target_group = $1`, m.Group).Scan(&seq); err != nil {
			return err
		}
		now := s.now()
		if _, err := t.ExecContext(ctx, `INSERT INTO multinode_messages (target_group, message_id, sender_job_id, seq, data, created)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (target_group, message_id, sender_job_id) DO UPDATE SET seq = excluded.seq, data = excluded.data, created = excluded.created`,
			m.Group, m.MessageID, m.Sender, seq, data, micros(now)); err != nil {
			return err
		}
		m.Seq, m.Created = seq, fromMicros(micros(now))
		t.emit(store.TopicMultinode, m.Group)
		return nil
	})
	return m, err
}

// MultinodeMessages returns a group's messages after a seq; see
// store.MultinodeMessages.
func (s *DB) MultinodeMessages(ctx context.Context, group string, after int64) ([]store.MultinodeMessage, error) {
	if group == "" {
		return nil, invalid("multinode messages: no target group")
	}
	rows, err := s.rq.QueryContext(ctx, `SELECT message_id, sender_job_id, seq, data, created FROM multinode_messages
WHERE target_group = $1 AND seq > $2 ORDER BY seq`, group, after)
	if err != nil {
		return nil, s.wrap(err, "reading the multinode messages of group %s", group)
	}
	defer rows.Close()
	var out []store.MultinodeMessage
	for rows.Next() {
		m := store.MultinodeMessage{Group: group}
		var data string
		var created int64
		if err := rows.Scan(&m.MessageID, &m.Sender, &m.Seq, &data, &created); err != nil {
			return nil, s.wrap(err, "reading the multinode messages of group %s", group)
		}
		if err := json.Unmarshal([]byte(data), &m.Data); err != nil {
			return nil, fmt.Errorf("multinode message %s of job %d in group %s: decoding its data: %w", m.MessageID, m.Sender, group, err)
		}
		if m.Data == nil {
			m.Data = map[string]string{}
		}
		m.Created = fromMicros(created)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(err, "reading the multinode messages of group %s", group)
	}
	return out, nil
}
