// Package jsontext appends JSON strings to byte slices without reflection,
// for the hot paths that encode log records by hand (the worker's spool and
// batches, the store's log chunks).
//
// Its imports are checked by internal/archtest (rules.go).
package jsontext
