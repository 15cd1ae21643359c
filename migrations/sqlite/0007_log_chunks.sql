-- Job logs in chunks: one row per appended batch (at most 512 records)
-- instead of one row per record. data is a JSON array of records, each
-- [dt_micros, "lvl", "msg", structured (0/1), "ns"]; the chunk holds records
-- first_idx to end_idx - 1.
CREATE TABLE log_chunks (
    job_id    INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    first_idx INTEGER NOT NULL,
    end_idx   INTEGER NOT NULL,
    data      TEXT NOT NULL
);
CREATE UNIQUE INDEX log_chunks_job_end ON log_chunks(job_id, end_idx);

-- Existing records, 256 to a chunk. A job's records are numbered without
-- gaps, so MIN(idx) + COUNT(*) is MAX(idx) + 1 (and matches data's length
-- whatever happens).
INSERT INTO log_chunks (job_id, first_idx, end_idx, data)
SELECT job_id, MIN(idx), MIN(idx) + COUNT(*),
       json_group_array(json_array(dt, lvl, msg, structured, ns) ORDER BY idx)
FROM log_records
GROUP BY job_id, idx / 256;

DROP TABLE log_records;
