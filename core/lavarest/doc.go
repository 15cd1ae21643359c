// Package lavarest serves LAVA's REST API v0.2 at /api/v0.2 for scripts
// written against LAVA: jobs (list, show, submit, cancel, resubmit,
// validate, logs in output.yaml form, results as yaml, csv, junit and
// tap13, suites, tests), devices (and their dictionaries), device types
// (template, health check), workers, tags and system version/whoami, with
// Django REST framework's shapes: limit/offset pages of LAVA's size (50),
// {"detail": ...} errors, trailing-slash paths.
//
// Callers authenticate with "Authorization: Token <secret>"; no header is
// anonymous. Job visibility is the store's (store.Viewer). The logic shared
// with XML-RPC (submission, job lookup, logs, results rows, dictionaries)
// is core/lavarpc's, called, not copied.
//
// It imports core/lavarpc, core/model, core/store, core/auth, core/results
// and core/version; it must not import a store backend (tests excepted),
// the scheduler, the worker protocol or cmd/.
package lavarest
