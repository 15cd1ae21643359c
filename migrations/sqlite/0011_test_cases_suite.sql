-- Removing jobs (lava-server jobs rm) deletes their test suites, and the
-- foreign key's ON DELETE CASCADE then looks up test_cases by suite_id for
-- each suite: without this index, a scan of every test case per suite (a
-- batch of 500 old jobs took minutes on a lab of 100,000, holding the
-- write lock). Every other table referring to jobs is indexed by job_id.
CREATE INDEX test_cases_suite ON test_cases(suite_id);
