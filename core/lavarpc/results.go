package lavarpc

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/results"
	"github.com/lavalab/lavalab/core/store"
	"gopkg.in/yaml.v3"
)

// JobRows returns a job's result rows, optionally of one suite (and one
// case), paged (limit 0 = all). A suite or case that does not exist is a
// 404 fault, as LAVA's.
func JobRows(ctx context.Context, st store.Store, j model.Job, suite, name string, offset, limit int) ([]results.Row, error) {
	if suite != "" {
		suites, err := st.ListTestSuites(ctx, j.ID)
		if err != nil {
			return nil, fmt.Errorf("job %d suites: %w", j.ID, err)
		}
		if !slices.ContainsFunc(suites, func(s model.TestSuite) bool { return s.Name == suite }) {
			return nil, Faultf(404, "Specified test suite '%s' not found.", suite)
		}
	}
	cases, err := st.ListTestCases(ctx, j.ID, suite, offset, limit)
	if err != nil {
		return nil, fmt.Errorf("job %d results: %w", j.ID, err)
	}
	if name != "" {
		cases = slices.DeleteFunc(cases, func(c model.TestCase) bool { return c.Name != name })
		if len(cases) == 0 {
			return nil, Faultf(404, "Specified test case '%s' not found.", name)
		}
	}
	return Rows(j.ID, cases), nil
}

// SuitesList is get_testjob_suites_list_yaml's list: {id, job, name}.
func SuitesList(ctx context.Context, st store.Store, j model.Job) ([]map[string]any, error) {
	suites, err := st.ListTestSuites(ctx, j.ID)
	if err != nil {
		return nil, fmt.Errorf("job %d suites: %w", j.ID, err)
	}
	out := make([]map[string]any, 0, len(suites))
	for _, s := range suites {
		out = append(out, map[string]any{"id": fmt.Sprint(s.ID), "job": fmt.Sprint(j.ID), "name": s.Name})
	}
	return out, nil
}

func render(write func(io.Writer, []results.Row) error, rows []results.Row) (string, error) {
	var b bytes.Buffer
	if err := write(&b, rows); err != nil {
		return "", fmt.Errorf("formatting results: %w", err)
	}
	return b.String(), nil
}

func (s *Server) registerResults() {
	type form struct {
		suffix string
		write  func(io.Writer, []results.Row) error
	}
	for _, f := range []form{{"yaml", results.WriteYAML}, {"csv", results.WriteCSV}} {
		s.add(&method{name: "results.get_testjob_results_" + f.suffix, sig: []string{"string", "string"}, min: 1, max: 1,
			help: "All the test cases of a job, as " + f.suffix + ".",
			fn: func(ctx context.Context, c *Caller, a args) (any, error) {
				j, err := s.job(ctx, c, a, 0)
				if err != nil {
					return nil, err
				}
				rows, err := JobRows(ctx, s.st, j, "", "", 0, 0)
				if err != nil {
					return nil, err
				}
				return render(f.write, rows)
			}})
		s.add(&method{name: "results.get_testsuite_results_" + f.suffix, sig: []string{"string", "string", "string", "int", "int"}, min: 2, max: 4,
			help: "get_testsuite_results_" + f.suffix + "(job_id, suite_name, limit=None, offset=None): the cases of one suite.",
			fn: func(ctx context.Context, c *Caller, a args) (any, error) {
				j, err := s.job(ctx, c, a, 0)
				if err != nil {
					return nil, err
				}
				suite, err := a.str(1)
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
				rows, err := JobRows(ctx, s.st, j, suite, "", int(max(offset, 0)), int(max(limit, 0)))
				if err != nil {
					return nil, err
				}
				return render(f.write, rows)
			}})
		s.add(&method{name: "results.get_testcase_results_" + f.suffix, sig: []string{"string", "string", "string", "string"}, min: 3, max: 3,
			help: "get_testcase_results_" + f.suffix + "(job_id, suite_name, case_name): one case (every case of that name).",
			fn: func(ctx context.Context, c *Caller, a args) (any, error) {
				j, err := s.job(ctx, c, a, 0)
				if err != nil {
					return nil, err
				}
				suite, err := a.str(1)
				if err != nil {
					return nil, err
				}
				name, err := a.str(2)
				if err != nil {
					return nil, err
				}
				rows, err := JobRows(ctx, s.st, j, suite, name, 0, 0)
				if err != nil {
					return nil, err
				}
				return render(f.write, rows)
			}})
	}
	s.add(&method{name: "results.get_testjob_suites_list_yaml", sig: []string{"string", "string"}, min: 1, max: 1,
		help: "The suites of a job, as YAML: [{id, job, name}].",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			j, err := s.job(ctx, c, a, 0)
			if err != nil {
				return nil, err
			}
			list, err := SuitesList(ctx, s.st, j)
			if err != nil {
				return nil, err
			}
			if len(list) == 0 {
				return "[]\n", nil
			}
			b, err := yaml.Marshal(list)
			if err != nil {
				return nil, fmt.Errorf("formatting suites: %w", err)
			}
			return string(b), nil
		}})
	s.add(&method{name: "results.get_testjob_metadata", sig: []string{"array", "string"}, min: 1, max: 1,
		help: "The job's metadata: [{name: value}, ...] (sorted by name).",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			if err := needUser(c); err != nil {
				return nil, err // LAVA: this one needs a user
			}
			j, err := s.job(ctx, c, a, 0)
			if err != nil {
				return nil, err
			}
			return MetadataList(j), nil
		}})
	s.add(&method{name: "results.get_testsuite_results_count", sig: []string{"int", "string", "string"}, min: 2, max: 2,
		help: "The number of cases in one suite of a job.",
		fn: func(ctx context.Context, c *Caller, a args) (any, error) {
			j, err := s.job(ctx, c, a, 0)
			if err != nil {
				return nil, err
			}
			suite, err := a.str(1)
			if err != nil {
				return nil, err
			}
			rows, err := JobRows(ctx, s.st, j, suite, "", 0, 0)
			if err != nil {
				return nil, err
			}
			return len(rows), nil
		}})
}

// MetadataList is the job's metadata as LAVA's XML-RPC gives it: an array
// of one-member structs {name: value}, sorted by name.
func MetadataList(j model.Job) []any {
	l := model.MetadataList(j.Metadata)
	out := make([]any, len(l))
	for i, m := range l {
		st := make(map[string]any, 1)
		for k, v := range m {
			st[k] = v
		}
		out[i] = st
	}
	return out
}
