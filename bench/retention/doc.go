// Command retention measures the day-2 data operations on a large lab: a
// real lava-server on a copy of a seeded SQLite database (bench/seed with
// -spread, e.g. 100,000 finished jobs over a year) keeps answering API
// requests while `lava-server jobs rm --older-than` removes the old jobs in
// another process; it prints the removal's time, the requests answered
// meanwhile (latencies, errors) and the database size before and after.
// Then it takes `lava-server backup` under a submit load, restores it with
// `lava-server restore` and checks the restored lab: PRAGMA integrity_check
// and foreign_key_check, every job's log readable to its count, and a
// lava-server started on it answers with the same job count.
//
//	go run ./bench/seed -db /tmp/seed.db -jobs 100000 -logs 10 -spread 8760h
//	go run ./bench/retention -seeded /tmp/seed.db -older-than 180d
//	go run ./bench/retention -pg postgres://postgres@/postgres?host=/tmp/pgsock -jobs 100000
//
// With -pg the lab is a new database on that PostgreSQL server, seeded with
// set-based SQL (the same jobs as bench/seed's), backed up with pg_dump
// and restored with pg_restore into another new database; both are
// dropped at the end.
//
// It prints figures; it asserts no timing. Nothing imports it.
package main
