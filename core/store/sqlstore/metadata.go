package sqlstore

import (
	"context"
	"maps"
	"slices"
	"strings"

	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/model"
)

// fillMetadata sets a job's metadata from its definition when the caller
// gave none (nil; the API gives it from the definition it parsed). A definition that is not YAML has none (the store does not
// validate definitions; submission does).
func fillMetadata(j *model.Job) {
	if j.Metadata != nil || !strings.Contains(j.Definition, "metadata") {
		return
	}
	j.Metadata, _ = job.MetadataOf([]byte(j.Definition))
}

// metadataRows appends the job's metadata, sorted by name, as rows.
func metadataRows(j *model.Job, ids *[]int64, names, values *[]string) {
	for _, k := range slices.Sorted(maps.Keys(j.Metadata)) {
		*ids, *names, *values = append(*ids, j.ID), append(*names, k), append(*values, j.Metadata[k])
	}
}

// metadataChunk bounds the rows of one INSERT where each value is a
// parameter (SQLite's VALUES list; its limit is 32,766 parameters).
const metadataChunk = 5000

// insertMetadata stores rows of job_metadata: one statement on PostgreSQL
// (arrays), a few on SQLite.
func (s *DB) insertMetadata(ctx context.Context, t *tx, ids []int64, names, values []string) error {
	step := len(ids)
	if !s.d.ArrayParams {
		step = metadataChunk
	}
	for start := 0; start < len(ids); start += step {
		end := min(start+step, len(ids))
		var qa args
		// WHERE true: SQLite's upsert after a SELECT needs it.
		if _, err := t.ExecContext(ctx, `INSERT INTO job_metadata (job_id, name, value) SELECT c1, c2, c3 FROM `+
			s.d.rowsTable(&qa, int64Col(ids[start:end]), textCol(names[start:end]), textCol(values[start:end]))+
			` WHERE true ON CONFLICT DO NOTHING`, qa...); err != nil {
			return err
		}
	}
	return nil
}

// fillJobMetadata reads the metadata of the jobs (by index in jobs).
func fillJobMetadata(ctx context.Context, q querier, jobs []model.Job, idx map[int64]int, ids []any) error {
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		var a args
		rows, err := q.QueryContext(ctx, `SELECT job_id, name, value FROM job_metadata WHERE job_id IN (`+a.list(chunk...)+`)`, a...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id int64
			var k, v string
			if err := rows.Scan(&id, &k, &v); err != nil {
				rows.Close()
				return err
			}
			if i, ok := idx[id]; ok {
				if jobs[i].Metadata == nil {
					jobs[i].Metadata = map[string]string{}
				}
				jobs[i].Metadata[k] = v
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// metadataProbe bounds the rows counted per name when choosing which
// metadata filter drives a list.
const metadataProbe = 2000

// metadataFilter returns the SQL condition on jobs j for a list's metadata
// filter (every name has its value; "" for none). The ids come from the
// filter index for the name matching the fewest jobs (counted up to
// metadataProbe each when there are several), and each other name is
// checked on those ids only by primary key: a name that matches every job
// costs no more than a selective one.
func (s *DB) metadataFilter(ctx context.Context, f map[string]string, a *args) (string, error) {
	if len(f) == 0 {
		return "", nil
	}
	names := slices.Sorted(maps.Keys(f))
	if len(names) > 1 {
		counts := make(map[string]int, len(names))
		for _, k := range names {
			var n int
			if err := s.rq.QueryRowContext(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM job_metadata WHERE name = $1 AND value = $2 LIMIT $3) c`,
				k, f[k], metadataProbe).Scan(&n); err != nil {
				return "", s.wrap(err, "counting the jobs of metadata %q", k)
			}
			counts[k] = n
		}
		slices.SortStableFunc(names, func(x, y string) int { return counts[x] - counts[y] })
	}
	var b strings.Builder
	b.WriteString("j.id IN (SELECT m0.job_id FROM job_metadata m0 WHERE m0.name = " + a.add(names[0]) + " AND m0.value = " + a.add(f[names[0]]))
	for _, k := range names[1:] {
		b.WriteString(" AND EXISTS (SELECT 1 FROM job_metadata m WHERE m.job_id = m0.job_id AND m.name = " + a.add(k) + " AND m.value = " + a.add(f[k]) + ")")
	}
	b.WriteString(")")
	return b.String(), nil
}

// BackfillMetadata fills the metadata of the jobs stored before migration
// 0010 (listed in job_metadata_backfill) from their definitions, a batch
// per transaction, and returns how many jobs it read. Several servers may
// run it at once (PostgreSQL): rows already there are kept.
func (s *DB) BackfillMetadata(ctx context.Context) (int, error) {
	done := 0
	for {
		var n int
		err := s.inTx(ctx, func(t *tx) error {
			rows, err := t.QueryContext(ctx, `SELECT b.job_id, COALESCE(j.definition, '') FROM job_metadata_backfill b
LEFT JOIN jobs j ON j.id = b.job_id ORDER BY b.job_id LIMIT 200`)
			if err != nil {
				return err
			}
			var jobs []model.Job
			for rows.Next() {
				var j model.Job
				if err := rows.Scan(&j.ID, &j.Definition); err != nil {
					rows.Close()
					return err
				}
				jobs = append(jobs, j)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			n = len(jobs)
			if n == 0 {
				return nil
			}
			var ids []int64
			var names, values []string
			del := make([]any, n)
			for i := range jobs {
				fillMetadata(&jobs[i])
				metadataRows(&jobs[i], &ids, &names, &values)
				del[i] = jobs[i].ID
			}
			if err := s.insertMetadata(ctx, t, ids, names, values); err != nil {
				return err
			}
			var a args
			_, err = t.ExecContext(ctx, `DELETE FROM job_metadata_backfill WHERE job_id IN (`+a.list(del...)+`)`, a...)
			return err
		})
		if err != nil {
			return done, s.wrap(err, "filling the metadata of jobs stored before it was kept")
		}
		done += n
		if n == 0 {
			return done, nil
		}
	}
}
