// Package jobend measures the figure a lab running many short jobs sees:
// submit → Finished for a `local` job whose work takes about 0.15 s, on a
// real lava-server and lava-worker (core/testlab), the worker started with
// SIGHUP ignored as nohup starts it. The benchmark reports the p50 and p90
// over its iterations:
//
//	go test -run '^$' -bench SubmitToFinished -benchtime 20x ./bench/jobend
package jobend
