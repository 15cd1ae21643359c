// Package console opens a board's console for the dispatcher: a local serial
// port (go.bug.st/serial), a raw TCP console (ser2net raw mode), a telnet
// console (ser2net telnet mode, with option negotiation answered and telnet
// commands stripped), a local shell in a pty (the `local` device type), or a
// command whose terminal is the console (LAVA's connection_command, run with
// `sh -c` in a pty, in its own process group, ended with the group on Close).
//
// Open turns an sdk.ConnectStep into a Console, an io.ReadWriteCloser with a
// Name. Errors name the console ("console tcp 127.0.0.1:7002: connection
// refused"). A Read on a closed console, or on a process console whose
// process has exited, returns io.EOF.
//
// The package moves bytes only: it does not log, match or interpret console
// output (that is core/expect). Its imports are checked by internal/archtest
// (rules.go).
package console
