package lab

import (
	"context"
	"fmt"
	"slices"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// The operations below read what belongs to a job FindJob returned (so the
// caller's visibility was checked there).

// ReadLogs reads up to limit log records of j from index start.
func (s *Service) ReadLogs(ctx context.Context, j model.Job, start int64, limit int) ([]model.LogRecord, error) {
	recs, err := s.st.ReadLogs(ctx, j.ID, start, limit)
	if err != nil {
		return nil, storeErr(err, ObjJob, fmt.Sprint(j.ID))
	}
	return recs, nil
}

// LogCount is the number of log records of j stored so far.
func (s *Service) LogCount(ctx context.Context, j model.Job) (int64, error) {
	n, err := s.st.LogCount(ctx, j.ID)
	if err != nil {
		return 0, storeErr(err, ObjJob, fmt.Sprint(j.ID))
	}
	return n, nil
}

// Suites are j's test suites.
func (s *Service) Suites(ctx context.Context, j model.Job) ([]model.TestSuite, error) {
	suites, err := s.st.ListTestSuites(ctx, j.ID)
	if err != nil {
		return nil, storeErr(err, ObjJob, fmt.Sprint(j.ID))
	}
	return suites, nil
}

// TestCases are j's test cases (of one suite when suite is not ""), paged
// (limit 0: all).
func (s *Service) TestCases(ctx context.Context, j model.Job, suite string, offset, limit int) ([]model.TestCase, error) {
	cases, err := s.st.ListTestCases(ctx, j.ID, suite, offset, limit)
	if err != nil {
		return nil, storeErr(err, ObjJob, fmt.Sprint(j.ID))
	}
	return cases, nil
}

// SuiteCases are TestCases of a suite that must exist (KindNotFound,
// ObjSuite) and, when name is not "", only the cases of that name (at
// least one: KindNotFound, ObjCase).
func (s *Service) SuiteCases(ctx context.Context, j model.Job, suite, name string, offset, limit int) ([]model.TestCase, error) {
	if suite != "" {
		suites, err := s.Suites(ctx, j)
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(suites, func(s model.TestSuite) bool { return s.Name == suite }) {
			return nil, notFound(ObjSuite, suite)
		}
	}
	cases, err := s.TestCases(ctx, j, suite, offset, limit)
	if err != nil {
		return nil, err
	}
	if name != "" {
		cases = slices.DeleteFunc(cases, func(c model.TestCase) bool { return c.Name != name })
		if len(cases) == 0 {
			return nil, notFound(ObjCase, name)
		}
	}
	return cases, nil
}

// Notifications are j's notifications and their delivery (none when the
// store keeps no outbox).
func (s *Service) Notifications(ctx context.Context, j model.Job) ([]model.Notification, error) {
	ob, ok := s.st.(store.Outbox)
	if !ok {
		return nil, nil
	}
	ns, err := ob.JobNotifications(ctx, j.ID)
	if err != nil {
		return nil, storeErr(err, ObjJob, fmt.Sprint(j.ID))
	}
	return ns, nil
}
