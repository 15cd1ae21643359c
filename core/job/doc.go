// Package job parses and validates LAVA job definitions (YAML) the way LAVA's
// strict schema does, and refuses at submit time what LAVA's server would only
// discover when the job runs (unknown deploy or boot methods, bad test names,
// timeouts above the job timeout, ...).
//
// Parse keeps the submitted text verbatim, decodes it through yaml.v3 nodes so
// that every Issue carries a LAVA-style path (timeouts.job,
// actions[2].test.definitions[0].name) and a line:column, and reports every
// error of a definition at once. Keys that LAVA's strict schema calls extra but
// its server accepts and its dispatcher ignores are warnings, not errors.
// Multinode definitions (protocols: lava-multinode) are validated and can be
// split into per-role sub-jobs with Split.
//
// CheckMethods is the one check of a parsed definition against the lab's
// drivers: every deploy `to` and boot `method` must be one the active driver
// of the action's device type declares. The submit path (core/lab, under
// the REST APIs, XML-RPC and the web form) and lava-run call it with a
// lookup of their drivers.
//
// The package is pure: no I/O, no logging, no global mutable state; store,
// api, sched and dispatch import it, not the reverse. Its imports are
// checked by internal/archtest (rules.go).
package job
