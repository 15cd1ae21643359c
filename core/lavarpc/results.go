package lavarpc

import (
	"bytes"
	"context"
	"fmt"
	"io"

	"github.com/lavalab/lavalab/core/lavafmt"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/results"
	"gopkg.in/yaml.v3"
)

// writer is one export format of core/results.
type writer func(io.Writer, []results.Row) error

var resultMethods = []method{
	{name: "results.get_testjob_results_yaml", sig: []string{"string", "string"}, min: 1, max: 1,
		help: "All the test cases of a job, as yaml.", fn: jobResults(results.WriteYAML)},
	{name: "results.get_testsuite_results_yaml", sig: []string{"string", "string", "string", "int", "int"}, min: 2, max: 4,
		help: "get_testsuite_results_yaml(job_id, suite_name, limit=None, offset=None): the cases of one suite.",
		fn:   suiteResults(results.WriteYAML)},
	{name: "results.get_testcase_results_yaml", sig: []string{"string", "string", "string", "string"}, min: 3, max: 3,
		help: "get_testcase_results_yaml(job_id, suite_name, case_name): one case (every case of that name).",
		fn:   caseResults(results.WriteYAML)},
	{name: "results.get_testjob_results_csv", sig: []string{"string", "string"}, min: 1, max: 1,
		help: "All the test cases of a job, as csv.", fn: jobResults(results.WriteCSV)},
	{name: "results.get_testsuite_results_csv", sig: []string{"string", "string", "string", "int", "int"}, min: 2, max: 4,
		help: "get_testsuite_results_csv(job_id, suite_name, limit=None, offset=None): the cases of one suite.",
		fn:   suiteResults(results.WriteCSV)},
	{name: "results.get_testcase_results_csv", sig: []string{"string", "string", "string", "string"}, min: 3, max: 3,
		help: "get_testcase_results_csv(job_id, suite_name, case_name): one case (every case of that name).",
		fn:   caseResults(results.WriteCSV)},
	{name: "results.get_testjob_suites_list_yaml", sig: []string{"string", "string"}, min: 1, max: 1,
		help: "The suites of a job, as YAML: [{id, job, name}].",
		fn:   (*Server).suitesList},
	{name: "results.get_testjob_metadata", sig: []string{"array", "string"}, min: 1, max: 1,
		help: "The job's metadata: [{name: value}, ...] (sorted by name).",
		fn:   (*Server).jobMetadata},
	{name: "results.get_testsuite_results_count", sig: []string{"int", "string", "string"}, min: 2, max: 2,
		help: "The number of cases in one suite of a job.",
		fn:   (*Server).suiteCount},
}

func render(write writer, rows []results.Row) (string, error) {
	var b bytes.Buffer
	if err := write(&b, rows); err != nil {
		return "", fmt.Errorf("formatting results: %w", err)
	}
	return b.String(), nil
}

// rows answers the rows of a job (argument 0), of a suite and case when
// not "", paged.
func (s *Server) rows(ctx context.Context, c *Caller, a args, suite, name string, offset, limit int) ([]results.Row, error) {
	j, err := s.job(ctx, c, a, 0)
	if err != nil {
		return nil, err
	}
	return lavafmt.JobRows(ctx, s.lab, j, suite, name, offset, limit)
}

// jobSuite reads a job (argument 0) and a suite name (argument 1).
func (s *Server) jobSuite(ctx context.Context, c *Caller, a args) (model.Job, string, error) {
	j, err := s.job(ctx, c, a, 0)
	if err != nil {
		return model.Job{}, "", err
	}
	suite, err := a.str(1)
	return j, suite, err
}

func jobResults(write writer) methodFunc {
	return func(s *Server, ctx context.Context, c *Caller, a args) (any, error) {
		rows, err := s.rows(ctx, c, a, "", "", 0, 0)
		if err != nil {
			return nil, err
		}
		return render(write, rows)
	}
}

func suiteResults(write writer) methodFunc {
	return func(s *Server, ctx context.Context, c *Caller, a args) (any, error) {
		j, suite, err := s.jobSuite(ctx, c, a)
		if err != nil {
			return nil, err
		}
		limit, err := a.optInt(2, 0)
		if err != nil {
			return nil, err
		}
		offset, err := a.optInt(3, 0)
		if err != nil {
			return nil, err
		}
		rows, err := lavafmt.JobRows(ctx, s.lab, j, suite, "", int(max(offset, 0)), int(max(limit, 0)))
		if err != nil {
			return nil, err
		}
		return render(write, rows)
	}
}

func caseResults(write writer) methodFunc {
	return func(s *Server, ctx context.Context, c *Caller, a args) (any, error) {
		j, suite, err := s.jobSuite(ctx, c, a)
		if err != nil {
			return nil, err
		}
		name, err := a.str(2)
		if err != nil {
			return nil, err
		}
		rows, err := lavafmt.JobRows(ctx, s.lab, j, suite, name, 0, 0)
		if err != nil {
			return nil, err
		}
		return render(write, rows)
	}
}

func (s *Server) suitesList(ctx context.Context, c *Caller, a args) (any, error) {
	j, err := s.job(ctx, c, a, 0)
	if err != nil {
		return nil, err
	}
	suites, err := s.lab.Suites(ctx, j)
	if err != nil {
		return nil, err
	}
	if len(suites) == 0 {
		return "[]\n", nil
	}
	list := make([]map[string]any, 0, len(suites))
	for _, st := range suites {
		list = append(list, map[string]any{"id": fmt.Sprint(st.ID), "job": fmt.Sprint(j.ID), "name": st.Name})
	}
	b, err := yaml.Marshal(list)
	if err != nil {
		return nil, fmt.Errorf("formatting suites: %w", err)
	}
	return string(b), nil
}

func (s *Server) jobMetadata(ctx context.Context, c *Caller, a args) (any, error) {
	if err := c.NeedUser(); err != nil {
		return nil, err // LAVA: this one needs a user
	}
	j, err := s.job(ctx, c, a, 0)
	if err != nil {
		return nil, err
	}
	return lavafmt.MetadataList(j), nil
}

func (s *Server) suiteCount(ctx context.Context, c *Caller, a args) (any, error) {
	j, suite, err := s.jobSuite(ctx, c, a)
	if err != nil {
		return nil, err
	}
	rows, err := lavafmt.JobRows(ctx, s.lab, j, suite, "", 0, 0)
	if err != nil {
		return nil, err
	}
	return len(rows), nil
}
