// Package results holds the test result case type shared by the server and
// the dispatcher: conversion from a LAVA results record (the mapping of a
// `lvl: results` log record), LAVA's result codes, and the export formats
// LAVA serves for a job's results (YAML as results.get_testjob_results_yaml,
// CSV, JUnit XML and TAP13).
//
// It is plain data and formatting: it imports the standard library and
// gopkg.in/yaml.v3 only, nothing of the project (no store, no dispatcher),
// so both sides of the worker protocol can use it.
package results
