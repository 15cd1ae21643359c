-- Queued jobs with a queue timeout, by deadline: ExpireQueued runs before
-- every scheduling pass and must not scan the queue (most jobs have no
-- queue timeout, so this index is small).
CREATE INDEX jobs_queue_deadline ON jobs(submit_time + queue_timeout) WHERE state = 0 AND actual_device = '' AND queue_timeout > 0;
