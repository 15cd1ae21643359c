// Package tftp is a read-only TFTP server for the dispatcher: it serves the
// files of a root folder (the worker's TFTP root, with per-job folders
// `{job id}/...`) to bootloaders such as U-Boot.
//
// It implements RFC 1350 (read requests only, octet and netascii modes),
// option negotiation (RFC 2347) with blksize (RFC 2348), timeout and tsize
// (RFC 2349) and windowsize (RFC 7440). Write requests are refused with
// "access violation"; names with `..`, names that resolve outside the root
// (also through symbolic links: files are opened with os.Root) are refused
// the same way, and with Server.JobFolders a name cannot leave the folder
// its first element names (one job's folder); a missing file is "file not found". Each transfer runs in its
// own goroutine on its own UDP socket, streams the file from disk,
// retransmits on timeout a bounded number of times, ignores duplicate ACKs
// (no sorcerer's apprentice) and wraps block numbers past 65535.
//
// The dispatcher and the worker import it. Its imports are checked by
// internal/archtest (rules.go).
package tftp
