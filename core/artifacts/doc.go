// Package artifacts downloads the `url` resources of a job's deploy actions
// (http, https and file URLs) for the dispatcher: it checks the
// `md5sum`/`sha256sum`/`sha512sum` of the downloaded bytes, decompresses by
// `compression:` (gz, xz, bz2, zstd, zip, none), optionally unpacks
// `archive: tar`, and places the result in a job's folder
// (`<work>/jobs/<id>/<role>/<file name>`, see JobPath).
//
// Downloads that carry a checksum are cached on disk, keyed by URL, the
// checksums and the compression, and shared by every job on a worker:
// concurrent fetches of one resource download it once (the others wait),
// entries are written to a temporary file and renamed into place, and a
// partial or corrupt file is never used. A cached file is hard-linked into
// the job folder (copied across file systems), so consumers must treat
// fetched files as read only and write a new file to change one.
//
// file:// URLs read only under Downloader.FileDirs (none by default), and
// links in an unpacked tar are rewritten to stay inside its folder: a job
// cannot copy or expose the worker's own files.
//
// Everything streams: no file is ever held whole in memory. Progress is
// reported through a callback (every 5% of a known size, or every
// Downloader.ProgressBytes), which the dispatcher turns into log records.
//
// The dispatcher and the test shell import it. Its imports are checked by
// internal/archtest (rules.go).
package artifacts
