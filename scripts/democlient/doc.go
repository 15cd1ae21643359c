// Command democlient is the small REST client behind `make demo`
// (scripts/demo.sh), so the demo needs nothing but Go and bash: it waits for
// lava-server to answer, submits a job, follows the job's live log and prints
// its results table.
//
//	democlient wait URL [SECONDS [PID]]   wait until URL/healthz answers (default 20 s);
//	                                      give up early when process PID has exited
//	democlient submit URL TOKEN JOB.yaml  submit a job; prints its id
//	democlient follow URL TOKEN ID [all]  print the job's log as it comes (debug lines only
//	                                      with all), then its results; exit 0 only when
//	                                      the job is Complete, 2 when interrupted
//
// It talks to the server over its public REST API (/api/v1) only: it must
// not import the project's server packages (core/...), so it shows what any
// client sees.
package main
