package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"github.com/lavalab/lavalab/core/model"
)

// AddTestCases stores a job's cases, creating their suites as needed.
func (s *DB) AddTestCases(ctx context.Context, jobID int64, cases []model.TestCase) error {
	return s.inTx(ctx, func(t *tx) error { return s.addTestCases(ctx, t, jobID, cases) })
}

// addTestCases is AddTestCases inside a transaction.
func (s *DB) addTestCases(ctx context.Context, t *tx, jobID int64, cases []model.TestCase) error {
	{
		var one int
		if err := t.QueryRowContext(ctx, `SELECT 1 FROM jobs WHERE id = $1`, jobID).Scan(&one); err != nil {
			return s.wrap(err, "job %d", jobID)
		}
		suites := map[string]int64{}
		for _, c := range cases {
			if strings.TrimSpace(c.Suite) == "" || strings.TrimSpace(c.Name) == "" {
				return invalid("job %d: a test case needs a suite and a name", jobID)
			}
			if c.Result < model.ResultPass || c.Result > model.ResultUnknown {
				return invalid("job %d: test case %q: result %d", jobID, c.Name, c.Result)
			}
			id, ok := suites[c.Suite]
			if !ok {
				if _, err := t.ExecContext(ctx, `INSERT INTO test_suites (job_id, name) VALUES ($1, $2) ON CONFLICT (job_id, name) DO NOTHING`, jobID, c.Suite); err != nil {
					return s.wrap(err, "job %d: suite %q", jobID, c.Suite)
				}
				if err := t.QueryRowContext(ctx, `SELECT id FROM test_suites WHERE job_id = $1 AND name = $2`, jobID, c.Suite).Scan(&id); err != nil {
					return s.wrap(err, "job %d: suite %q", jobID, c.Suite)
				}
				suites[c.Suite] = id
			}
			meta := string(c.Metadata)
			if meta == "" {
				meta = "{}"
			} else if !json.Valid(c.Metadata) {
				return invalid("job %d: test case %q: metadata is not JSON", jobID, c.Name)
			}
			logged := c.Logged
			if logged.IsZero() {
				logged = s.now()
			}
			var m any
			if c.Measurement != nil {
				m = *c.Measurement
			}
			if _, err := t.ExecContext(ctx, `INSERT INTO test_cases (job_id, suite_id, name, result, measurement, units, test_set, metadata, logged, log_start, log_end)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
				jobID, id, c.Name, c.Result, m, c.Units, c.Set, meta, micros(logged), c.LogStart, c.LogEnd); err != nil {
				return s.wrap(err, "job %d: test case %q", jobID, c.Name)
			}
		}
		return nil
	}
}

// ListTestSuites returns a job's suites in creation order.
func (s *DB) ListTestSuites(ctx context.Context, jobID int64) ([]model.TestSuite, error) {
	rows, err := s.rq.QueryContext(ctx, `SELECT id, job_id, name FROM test_suites WHERE job_id = $1 ORDER BY id`, jobID)
	if err != nil {
		return nil, s.wrap(err, "listing suites of job %d", jobID)
	}
	defer rows.Close()
	out := []model.TestSuite{}
	for rows.Next() {
		var ts model.TestSuite
		if err := rows.Scan(&ts.ID, &ts.JobID, &ts.Name); err != nil {
			return nil, s.wrap(err, "listing suites of job %d", jobID)
		}
		out = append(out, ts)
	}
	return out, s.wrap(rows.Err(), "listing suites of job %d", jobID)
}

// ListTestCases returns a job's cases (of one suite if suite is not ""),
// in the order stored; limit 0 means all.
func (s *DB) ListTestCases(ctx context.Context, jobID int64, suite string, offset, limit int) ([]model.TestCase, error) {
	var a args
	q := `SELECT c.id, c.job_id, ts.name, c.name, c.result, c.measurement, c.units, c.test_set, c.metadata, c.logged, c.log_start, c.log_end
FROM test_cases c JOIN test_suites ts ON ts.id = c.suite_id WHERE c.job_id = ` + a.add(jobID)
	if suite != "" {
		q += ` AND ts.name = ` + a.add(suite)
	}
	q += ` ORDER BY c.id`
	if limit > 0 {
		q += ` LIMIT ` + a.add(limit)
	}
	if offset > 0 {
		if limit <= 0 {
			q += ` LIMIT -1`
			if s.d.Name == "postgres" {
				q = strings.TrimSuffix(q, ` LIMIT -1`) + ` LIMIT ALL`
			}
		}
		q += ` OFFSET ` + a.add(offset)
	}
	rows, err := s.rq.QueryContext(ctx, q, a...)
	if err != nil {
		return nil, s.wrap(err, "listing test cases of job %d", jobID)
	}
	defer rows.Close()
	out := []model.TestCase{}
	for rows.Next() {
		var c model.TestCase
		var m sql.NullFloat64
		var meta string
		var logged int64
		if err := rows.Scan(&c.ID, &c.JobID, &c.Suite, &c.Name, &c.Result, &m, &c.Units, &c.Set, &meta, &logged, &c.LogStart, &c.LogEnd); err != nil {
			return nil, s.wrap(err, "listing test cases of job %d", jobID)
		}
		if m.Valid {
			v := m.Float64
			c.Measurement = &v
		}
		c.Metadata = json.RawMessage(meta)
		c.Logged = fromMicros(logged)
		out = append(out, c)
	}
	return out, s.wrap(rows.Err(), "listing test cases of job %d", jobID)
}
