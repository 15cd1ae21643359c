-- Each device's health transitions and their cause (issue 22): an admin's
-- change (with who and why), a health check job's grade, the scheduler
-- marking a device Good when its type has no health check.
CREATE TABLE device_health_history (
    id         BIGSERIAL PRIMARY KEY,
    device     TEXT NOT NULL,
    at         BIGINT NOT NULL,
    old_health INTEGER NOT NULL,
    new_health INTEGER NOT NULL,
    cause      TEXT NOT NULL,
    job_id     BIGINT NOT NULL DEFAULT 0,
    actor      TEXT NOT NULL DEFAULT '',
    reason     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX device_health_history_device ON device_health_history(device, id);
