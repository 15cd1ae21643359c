// Package testshell builds the LAVA test shell overlay of a job and reads
// what the test shell prints back.
//
// The overlay (root /lava-<job id>/, LAVA's lava_test_results_dir) holds the
// lava-* shell scripts (bin/), the environment and secrets files, and one
// folder per test action stage with its lava-test-runner.conf and one folder
// per test definition (repository contents, testdef.yaml, uuid,
// testdef_metadata, install.sh, run.sh). Test definitions come from inline
// mappings, from tar archives at a URL (through the Fetcher interface) or
// from git repositories (the git program). The overlay can be written as a
// tar stream, appended to a cpio newc ramdisk, unpacked into a directory (an
// NFS root) or turned into shell command lines that recreate it over a
// console. StartCommands gives the lines that start one stage.
//
// The Parser reads console lines and turns LAVA signals
// (<LAVA_SIGNAL_...>) and parse patterns into results records (the mapping
// of a `lvl: results` log record), events, feedback requests, warnings for
// malformed signals and errors (TESTRAISE, bad results).
//
// The shell scripts in scripts/ are this project's own, written for POSIX sh
// and busybox ash from LAVA's documented behaviour; they are embedded.
//
// Its imports are checked by internal/archtest (rules.go).
package testshell
