-- The queue as the scheduling snapshot and ExpireQueued read it: only the
-- Submitted (0) jobs without a device, with every column they read (the
-- rowid id is in every index), so a pass reads this small index and never
-- the table rows (which hold the definitions). It replaces jobs_queue,
-- which indexed every job of the history.
DROP INDEX jobs_queue;
CREATE INDEX jobs_queued ON jobs(requested_device_type, priority DESC, submit_time, requested_device, target_group,
    health_check, queue_timeout) WHERE state = 0 AND actual_device = '';
