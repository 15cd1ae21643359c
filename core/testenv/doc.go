// Package testenv holds the rules tests share about their environment: a
// test that needs a tool or service that is missing fails under CI (CI=true)
// and is skipped with a one-line reason elsewhere. It is imported by tests
// only. Its imports are checked by internal/archtest (rules.go).
package testenv
