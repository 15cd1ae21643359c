-- Initial schema (SQLite). Times are Unix microseconds (0 = unset);
-- booleans are 0/1; durations are microseconds.

CREATE TABLE users (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    username   TEXT NOT NULL UNIQUE,
    email      TEXT NOT NULL DEFAULT '',
    is_admin   INTEGER NOT NULL DEFAULT 0,
    created    INTEGER NOT NULL
);

-- API tokens: only the hash of the secret is stored.
CREATE TABLE tokens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    description TEXT NOT NULL DEFAULT '',
    hash        BLOB NOT NULL UNIQUE,
    created     INTEGER NOT NULL,
    last_used   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tokens_user ON tokens(user_id);

CREATE TABLE user_groups (
    id   INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE group_members (
    group_id INTEGER NOT NULL REFERENCES user_groups(id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members(user_id);

-- Workers carry a hashed token (2020.09).
CREATE TABLE workers (
    hostname    TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    state       INTEGER NOT NULL DEFAULT 1,
    health      INTEGER NOT NULL DEFAULT 0,
    last_ping   INTEGER NOT NULL DEFAULT 0,
    job_limit   INTEGER NOT NULL DEFAULT 0,
    version     TEXT NOT NULL DEFAULT '',
    token_hash  BLOB
);
CREATE UNIQUE INDEX workers_token ON workers(token_hash) WHERE token_hash IS NOT NULL;

CREATE TABLE device_types (
    name               TEXT PRIMARY KEY,
    description        TEXT NOT NULL DEFAULT '',
    health_check       TEXT NOT NULL DEFAULT '',
    health_frequency   INTEGER NOT NULL DEFAULT 0,
    health_denominator TEXT NOT NULL DEFAULT 'hours',
    health_disabled    INTEGER NOT NULL DEFAULT 0,
    aliases            TEXT NOT NULL DEFAULT '[]',
    settings           TEXT NOT NULL DEFAULT '{}',
    display            INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE tags (
    name        TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT ''
);

CREATE TABLE devices (
    hostname           TEXT PRIMARY KEY,
    device_type        TEXT NOT NULL REFERENCES device_types(name),
    description        TEXT NOT NULL DEFAULT '',
    worker             TEXT REFERENCES workers(hostname),
    state              INTEGER NOT NULL DEFAULT 0,
    health             INTEGER NOT NULL DEFAULT 1,
    dictionary         TEXT NOT NULL DEFAULT '',
    current_job        INTEGER,
    last_health_report INTEGER NOT NULL DEFAULT 0,
    -- submit time of the latest health check and normal jobs started since
    last_health_check  INTEGER NOT NULL DEFAULT 0,
    jobs_since_check   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX devices_type ON devices(device_type);
CREATE INDEX devices_worker ON devices(worker);

CREATE TABLE device_tags (
    device TEXT NOT NULL REFERENCES devices(hostname) ON DELETE CASCADE,
    tag    TEXT NOT NULL REFERENCES tags(name) ON DELETE CASCADE,
    PRIMARY KEY (device, tag)
);

-- Jobs carry the hash of their per-job token (2020.09).
CREATE TABLE jobs (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    sub_id                TEXT NOT NULL DEFAULT '',
    target_group          TEXT NOT NULL DEFAULT '',
    description           TEXT NOT NULL DEFAULT '',
    definition            TEXT NOT NULL,
    state                 INTEGER NOT NULL DEFAULT 0,
    health                INTEGER NOT NULL DEFAULT 0,
    priority              INTEGER NOT NULL DEFAULT 50,
    visibility            TEXT NOT NULL DEFAULT 'public',
    requested_device_type TEXT NOT NULL DEFAULT '',
    requested_device      TEXT NOT NULL DEFAULT '',
    actual_device         TEXT NOT NULL DEFAULT '',
    worker                TEXT NOT NULL DEFAULT '',
    submitter             TEXT NOT NULL DEFAULT '',
    health_check          INTEGER NOT NULL DEFAULT 0,
    submit_time           INTEGER NOT NULL,
    start_time            INTEGER NOT NULL DEFAULT 0,
    end_time              INTEGER NOT NULL DEFAULT 0,
    queue_timeout         INTEGER NOT NULL DEFAULT 0,
    error_type            TEXT NOT NULL DEFAULT '',
    failure_comment       TEXT NOT NULL DEFAULT '',
    driver_sha256         TEXT NOT NULL DEFAULT '',
    token_hash            BLOB,
    log_next              INTEGER NOT NULL DEFAULT 0
);
-- The queue: Submitted jobs of a type, best first.
CREATE INDEX jobs_queue ON jobs(state, requested_device_type, priority DESC, submit_time);
-- Lists, newest first, by filter.
CREATE INDEX jobs_submitter ON jobs(submitter, id);
CREATE INDEX jobs_actual_device ON jobs(actual_device, id);
CREATE INDEX jobs_requested_type ON jobs(requested_device_type, id);
CREATE INDEX jobs_state_id ON jobs(state, id);
CREATE INDEX jobs_target_group ON jobs(target_group) WHERE target_group <> '';
CREATE INDEX jobs_token ON jobs(token_hash) WHERE token_hash IS NOT NULL;

CREATE TABLE job_tags (
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    tag    TEXT NOT NULL,
    PRIMARY KEY (job_id, tag)
);

CREATE TABLE job_viewing_groups (
    job_id     INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    group_name TEXT NOT NULL,
    PRIMARY KEY (job_id, group_name)
);

-- Results carry no bug link (removed in 2020.09).
CREATE TABLE test_suites (
    id     INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    name   TEXT NOT NULL,
    UNIQUE (job_id, name)
);

CREATE TABLE test_cases (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id      INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    suite_id    INTEGER NOT NULL REFERENCES test_suites(id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    result      INTEGER NOT NULL,
    measurement REAL,
    units       TEXT NOT NULL DEFAULT '',
    test_set    TEXT NOT NULL DEFAULT '',
    metadata    TEXT NOT NULL DEFAULT '{}',
    logged      INTEGER NOT NULL,
    log_start   INTEGER NOT NULL DEFAULT 0,
    log_end     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX test_cases_job ON test_cases(job_id, suite_id, id);

-- Job log records, append-only, keyed by (job, index).
CREATE TABLE log_records (
    job_id     INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    idx        INTEGER NOT NULL,
    dt         INTEGER NOT NULL,
    lvl        TEXT NOT NULL,
    msg        TEXT NOT NULL,
    structured INTEGER NOT NULL DEFAULT 0,
    ns         TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (job_id, idx)
) WITHOUT ROWID;
