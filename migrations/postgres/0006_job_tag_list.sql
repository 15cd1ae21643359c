-- A job's tags on its row too (sorted, one per line), in the queue index,
-- so the scheduling snapshot reads every queued job's tags from that index
-- with no join. job_tags stays the reference (filters and lists use it).
ALTER TABLE jobs ADD COLUMN tag_list TEXT NOT NULL DEFAULT '';
UPDATE jobs j SET tag_list = t.l
    FROM (SELECT job_id, string_agg(tag, E'\n' ORDER BY tag) AS l FROM job_tags GROUP BY job_id) t WHERE t.job_id = j.id;
DROP INDEX jobs_queued;
CREATE INDEX jobs_queued ON jobs(requested_device_type, priority DESC, submit_time)
    INCLUDE (id, requested_device, target_group, health_check, queue_timeout, tag_list) WHERE state = 0 AND actual_device = '';
