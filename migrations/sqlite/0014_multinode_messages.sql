-- The messages of the multinode API (issue 21): lava-send and lava-sync
-- data of a group's sub-jobs, kept in the store so that a server restart
-- or another server instance on the same database answers the group's
-- waits alike. One row per group, message id and sender: a second send of
-- the same message by the same sub-job replaces its data (and takes a new
-- seq). seq orders a group's messages by commit (MAX + 1 within the
-- group, unique), so "the messages since seq N" misses none. data is a
-- JSON object of single-word keys and values. created is Unix
-- microseconds. A message goes with its sender's job (retention).
CREATE TABLE multinode_messages (
    target_group  TEXT NOT NULL,
    message_id    TEXT NOT NULL,
    sender_job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    seq           INTEGER NOT NULL,
    data          TEXT NOT NULL DEFAULT '{}',
    created       INTEGER NOT NULL,
    PRIMARY KEY (target_group, message_id, sender_job_id)
);
CREATE UNIQUE INDEX multinode_messages_seq ON multinode_messages(target_group, seq);
CREATE INDEX multinode_messages_sender ON multinode_messages(sender_job_id);
