// Package archtest checks the repository's package boundaries: Rules
// (rules.go) is the one table of what each part may not import and why, and
// TestImportRules lists both modules' packages with `go list -json` and
// fails naming every package that imports what a rule forbids, the import
// and the rule.
//
// It imports only the standard library (its test uses core/testenv to find
// the repository).
package archtest
