-- A job's metadata (the definition's top-level metadata:, flat name → text
-- value, as LAVA keeps it), filled at submit. The index serves the job
-- list's metadata filter (name = ? AND value = ?, newest first).
CREATE TABLE job_metadata (
    job_id BIGINT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    name   TEXT NOT NULL,
    value  TEXT NOT NULL,
    PRIMARY KEY (job_id, name)
);
CREATE INDEX job_metadata_filter ON job_metadata(name, value, job_id);
-- Jobs stored before this migration whose definition may hold metadata:
-- the server fills their job_metadata at start-up from the definition
-- (YAML, parsed in Go) and empties this table.
CREATE TABLE job_metadata_backfill (
    job_id BIGINT PRIMARY KEY
);
INSERT INTO job_metadata_backfill (job_id) SELECT id FROM jobs WHERE definition LIKE '%metadata%';
