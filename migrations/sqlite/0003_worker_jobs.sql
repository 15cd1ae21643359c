-- The worker protocol reads, on every poll, the jobs handed to one worker
-- that are not finished (Scheduled 2, Running 3, Canceling 4).
CREATE INDEX jobs_worker_active ON jobs(worker, id) WHERE state IN (2, 3, 4);
