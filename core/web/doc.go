// Package web serves the lab's HTML pages: home, jobs (list, job page with
// live log, results and downloads), submit, devices, device types,
// workers, drivers, login and logout. Pages are html/template rendered on
// the server with embedded assets; the only script is static/log.js, which
// follows a running job's log over Server-Sent Events. Every page works
// without JavaScript except that live follow.
//
// It owns the routes /, /static/, /login, /logout, /jobs..., /submit,
// /devices..., /device-types..., /workers and /drivers; the JSON API, the
// worker protocol and /metrics are mounted beside it by cmd/lava-server.
//
// It reads and changes the lab only through core/lab (which checks
// permissions and job visibility, and validates and submits jobs with the
// API's checks; no second rule here) and exports results with
// core/results. Drivers are core/lab operations too; the pages work without
// a driver registry.
//
// Its imports are checked by internal/archtest (rules.go).
package web
