-- A job's tags on its row too (sorted, one per line), in the queue index,
-- so the scheduling snapshot reads every queued job's tags from that index
-- with no join. job_tags stays the reference (filters and lists use it).
ALTER TABLE jobs ADD COLUMN tag_list TEXT NOT NULL DEFAULT '';
UPDATE jobs SET tag_list = (SELECT group_concat(t.tag, char(10) ORDER BY t.tag) FROM job_tags t WHERE t.job_id = jobs.id)
    WHERE id IN (SELECT job_id FROM job_tags);
DROP INDEX jobs_queued;
CREATE INDEX jobs_queued ON jobs(requested_device_type, priority DESC, submit_time, requested_device, target_group,
    health_check, queue_timeout, tag_list) WHERE state = 0 AND actual_device = '';
