-- Job logs in chunks: one row per appended batch (at most 512 records)
-- instead of one row per record. data is a JSON array of records, each
-- [dt_micros, "lvl", "msg", structured (0/1, or false/true for the chunks
-- converted here), "ns"]; the chunk holds records first_idx to end_idx - 1.
CREATE TABLE log_chunks (
    job_id    BIGINT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    first_idx BIGINT NOT NULL,
    end_idx   BIGINT NOT NULL,
    data      TEXT NOT NULL,
    PRIMARY KEY (job_id, end_idx)
);

-- Existing records, 256 to a chunk. A job's records are numbered without
-- gaps, so MIN(idx) + COUNT(*) is MAX(idx) + 1 (and matches data's length
-- whatever happens).
INSERT INTO log_chunks (job_id, first_idx, end_idx, data)
SELECT job_id, MIN(idx), MIN(idx) + COUNT(*),
       json_agg(json_build_array(dt, lvl, msg, structured, ns) ORDER BY idx)::text
FROM log_records
GROUP BY job_id, idx / 256;

DROP TABLE log_records;
