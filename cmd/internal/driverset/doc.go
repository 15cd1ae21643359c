// Package driverset opens the lab's driver registry (plugins/registry) over
// the store's driver tables, so every process that schedules jobs or serves
// the admin API sees the same drivers: lava-server serve, its driver
// commands, and the standalone lava-scheduler.
//
// It holds what those commands share: Open (the WASM host with its
// compilation cache, the registry over ModuleStore, the admin's native
// driver list), Sync (keeping a registry in step with the store on change
// events and a slow timer), and the scheduler's hooks DriverFor and
// DriverSettings, which pin a job to the active driver version of its device
// type and give that version's setting defaults for the merged settings.
//
// It lives under cmd/ because it joins the two sides the core keeps apart:
// the store (core/store) and the driver hosts (plugins/registry,
// plugins/wasm); only the commands that assemble a process may import
// both. It must not import a store backend: the commands pass it an open
// store and hand its hooks to the scheduler themselves (the import rules are
// in internal/archtest/rules.go).
package driverset
