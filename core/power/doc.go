// Package power runs the commands of a device dictionary on the worker host:
// power_on_command, power_off_command, hard_reset_command,
// pre_power_command, pre_os_command and user_commands. Each command line runs
// with `sh -c` in its own process group, with a timeout; when the timeout or
// the context ends it, the whole group is killed. Output (stdout and stderr)
// is handed to a callback line by line, as it comes, for the job log.
//
// core/dispatch imports it. Its imports are checked by internal/archtest
// (rules.go).
package power
