// Command seed is a benchmark helper: it fills a SQLite store with finished
// jobs (logs, results) through the store's own methods, for memory and
// page-load measurements of lava-server on a large database. It imports
// the store packages only; nothing imports it.
package main
