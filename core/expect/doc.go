// Package expect is the dispatcher's expect/send engine over a board
// console: it reads the console on one goroutine, hands every output line
// to a logger raw (ANSI escapes and "\r" kept) and cleaned to a line hook
// (for the test shell's signal parser), and matches patterns on a cleaned
// copy of the output (escape sequences removed, "\r" redraws and backspaces
// applied, as a terminal would show the line). Matching works on partial
// lines, so prompts without a newline match at once.
//
// On top of Expect and Send it runs the console steps of a plan: Interrupt
// (stop a bootloader), Commands (LAVA's bootloader commands), Login
// (auto_login) and WaitShell.
//
// Patterns are compiled once (Compile); a search covers only the text that
// arrived since the last search plus a bounded look-behind, plain strings
// are found with bytes.Index, and regular expressions are skipped unless a
// literal every match must contain is present. The unmatched text kept is
// bounded (Options.MaxWindow).
//
// The package works on an io.ReadWriter; it does not open consoles (that is
// core/console) and does not write job logs itself (the Logger callback
// does). It imports the standard library and the sdk types only; it must not
// import any other package of the project.
package expect
