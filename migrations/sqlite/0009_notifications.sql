-- The notification outbox: a job's callbacks and emails (its notify:
-- block), written in the transaction that starts or ends the job and sent
-- by the server afterwards, with retries. event is the job change it is
-- for (running, finished); kind is callback or email; target the URL or
-- address; spec the settings as JSON; state pending, sent or failed;
-- attempts a JSON list of {time, status_code, error}; next_attempt (µs)
-- when a pending one is due (a sender leases it by moving it on).
CREATE TABLE notifications (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id       INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    event        TEXT NOT NULL,
    health       INTEGER NOT NULL DEFAULT 0,
    kind         TEXT NOT NULL,
    target       TEXT NOT NULL,
    spec         TEXT NOT NULL DEFAULT '{}',
    state        TEXT NOT NULL DEFAULT 'pending',
    attempts     TEXT NOT NULL DEFAULT '[]',
    tries        INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,
    created      INTEGER NOT NULL
);
CREATE INDEX notifications_job ON notifications(job_id);
CREATE INDEX notifications_due ON notifications(next_attempt) WHERE state = 'pending';
