// Package metrics owns the server's Prometheus registry and every lavalab
// metric (names, help, labels, buckets) served at /metrics in Prometheus'
// text format.
//
// Figures are recorded where they are made: the scheduler calls
// ObserveSchedPass after each pass (sched.Options.OnPass), the worker
// protocol calls ObserveLogs for every stored batch and ObserveJobStarted
// when a job starts, the driver host calls ObservePlan after every plan
// call (plugins/registry Options.OnPlan). Every method is safe on a nil
// *Metrics, so a part built without metrics just passes nil.
//
// State gauges (jobs by state and health, queue by device type, devices by
// health, workers online and last seen) are refreshed by Refresh, run on a
// slow timer by Run, never on scrape: a scrape reads memory only, so any
// number of scrapers cannot load the store.
//
// Its imports are checked by internal/archtest (rules.go).
package metrics
