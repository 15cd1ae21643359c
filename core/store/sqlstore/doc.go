// Package sqlstore is the SQL implementation of store.Store shared by the
// SQLite and PostgreSQL backends: every query is written once, with $N
// placeholders, portable types (times as Unix microseconds in BIGINT/INTEGER
// columns, booleans, blobs) and a small Dialect for what differs (row locks,
// constraint error codes). A backend opens its database/sql handles, applies
// its migrations (see Migrate), wires events (Config.NotifyTx inside the
// transaction or Config.AfterCommit after it) and adds leadership.
//
// Every job+device state change is one transaction. Events are delivered
// after commit only: a rolled-back change publishes nothing.
//
// Event keys: job_submitted, job_finished and logs carry the job id;
// device_free the device hostname; job_scheduled and job_canceling the
// worker hostname (the worker to wake).
//
// It imports core/store, core/model and the standard library only; it must
// not import a database driver, the API, the scheduler or driver code.
package sqlstore
