// Package plugins holds what the driver hosts (plugins/wasm, plugins/native)
// share to implement core/drivers' Driver: the requests they send
// (DescribeRequest, PlanRequest), how they judge a driver's answer
// (DecodeResponse, CheckDescription: one set of rules for both kinds), and
// the bounded buffer and summary of a driver's diagnostics.
//
// Its imports are checked by internal/archtest (rules.go).
package plugins
