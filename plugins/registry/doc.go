// Package registry keeps the device-type drivers a lab knows, by name,
// version and SHA-256, and says which version of each is active.
//
// Drivers come from a directory (watched: a .wasm dropped in is live within
// a second), from Install (the admin API's upload), from the module store
// (what earlier runs installed) and, for native drivers, from the admin's
// list of binaries pinned by SHA-256. Every new version is loaded and its
// describe answer checked (ABI version, name, version, at least one device
// type) before it is activated; a failing one is refused with the reason and
// the previous version stays active.
//
// A job is scheduled with ForDeviceType (the active version) and keeps the
// SHA-256 it got; BySHA256 returns that exact version later, even after
// another version was activated. Workers fetch modules by SHA-256 (Module);
// a native driver's binary is never served: each worker's admin lists it
// (ReadNativeList reads the list of the server and of the workers).
//
// Persistence is behind ModuleStore, so the server can back it with its
// database; DirStore keeps modules as content-addressed files on one machine.
//
// Its imports are checked by internal/archtest (rules.go).
package registry
