// Package model holds the lab's domain types: jobs, devices, device types,
// workers, users, groups, tags, test results and log records, with their
// states and the rules for moving between them (LAVA's numbering and names).
//
// It is plain data, so every other package (store, scheduler, API, web,
// worker) can share it. Its imports are checked by internal/archtest
// (rules.go).
package model
