// Package retention removes old jobs, or only their logs, from the store in
// small batches with pauses between them, so that a server on the same
// database keeps answering while it runs: once (lava-server jobs rm) or on
// a schedule inside lava-server serve (--retention). It also parses the
// ages admins write ("180d", "2w", "36h").
//
// It imports core/model and core/store only.
package retention
