package dispatch

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strconv"
	"strings"
)

// artifactServer serves the files of running jobs to the boards over HTTP.
// A URL is /{job id}/{job secret}/{role}/{file}: the secret is an HMAC of
// the job id under a key the dispatcher draws at start, so it cannot be
// guessed from another job's URL, and only the board of the job (and
// whoever reads the job's log) is given it. Files are opened with an
// os.Root at the job's own folder: no symbolic link leads out of it (tar
// unpacking already rewrites links to stay inside). Folders are never
// listed, and a finished job's folder is removed (Run), so its URLs answer
// 404. Every refusal is the same 404, whatever its reason.
type artifactServer struct {
	jobsDir string
	key     []byte
}

// secret is the job's URL secret: 128 bits of HMAC-SHA256, in hex.
func (a *artifactServer) secret(jobID string) string {
	m := hmac.New(sha256.New, a.key)
	m.Write([]byte("artifacts|" + jobID))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// ServeHTTP answers GET and HEAD for a file of a running job.
func (a *artifactServer) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		rw.Header().Set("Allow", "GET, HEAD")
		http.Error(rw, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	f, st, err := a.open(r.URL.Path)
	if err != nil {
		http.NotFound(rw, r)
		return
	}
	defer f.Close()
	rw.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(rw, r, st.Name(), st.ModTime(), f)
}

var errRefused = errors.New("refused")

// open resolves /{job}/{secret}/{file...} to a regular file of the job's
// folder.
func (a *artifactServer) open(urlPath string) (*os.File, fs.FileInfo, error) {
	p := strings.TrimPrefix(urlPath, "/")
	job, rest, _ := strings.Cut(p, "/")
	sec, file, _ := strings.Cut(rest, "/")
	if id, err := strconv.ParseInt(job, 10, 64); err != nil || id <= 0 || strconv.FormatInt(id, 10) != job {
		return nil, nil, errRefused
	}
	if !hmac.Equal([]byte(sec), []byte(a.secret(job))) || file == "" {
		return nil, nil, errRefused
	}
	for _, el := range strings.Split(file, "/") {
		if el == "" || el == "." || el == ".." || strings.ContainsRune(el, '\\') {
			return nil, nil, errRefused
		}
	}
	jobs, err := os.OpenRoot(a.jobsDir)
	if err != nil {
		return nil, nil, err
	}
	defer jobs.Close()
	root, err := jobs.OpenRoot(job)
	if err != nil {
		return nil, nil, err
	}
	defer root.Close()
	f, err := root.Open(path.Clean(file))
	if err != nil {
		return nil, nil, err
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		f.Close()
		return nil, nil, errRefused
	}
	return f, st, nil
}
