package testshell

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
)

// loadArchive fetches a tar archive and reads it into repo, refusing any
// member that would land outside the repository (absolute names, ..,
// links pointing out).
func loadArchive(ctx context.Context, repo tree, opts Options, url, compression string) error {
	rc, err := opts.Fetcher.Fetch(ctx, url, compression)
	if err != nil {
		return fmt.Errorf("from url: %w", err)
	}
	defer func() { _ = rc.Close() }()
	if err := readTar(repo, rc, opts.MaxRepoBytes); err != nil {
		return fmt.Errorf("from url %s: %w", url, err)
	}
	return nil
}

// ErrPathTraversal marks an archive member that would be written outside
// the test folder.
var ErrPathTraversal = errors.New("path traversal")

func readTar(repo tree, r io.Reader, limit int64) error {
	tr := tar.NewReader(r)
	var total int64
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read tar: %w", err)
		}
		name := strings.TrimPrefix(h.Name, "./")
		if name == "" || name == "." {
			continue
		}
		rel, err := cleanRel(strings.TrimSuffix(name, "/"))
		if err != nil {
			return fmt.Errorf("archive member %q: %w", h.Name, ErrPathTraversal)
		}
		mode := fs.FileMode(h.Mode).Perm()
		switch h.Typeflag {
		case tar.TypeDir:
			repo.dir(rel)
		case tar.TypeReg:
			total += h.Size
			if total > limit {
				return fmt.Errorf("archive is larger than %d bytes", limit)
			}
			data, err := io.ReadAll(io.LimitReader(tr, h.Size))
			if err != nil {
				return fmt.Errorf("read tar member %q: %w", h.Name, err)
			}
			repo.file(rel, mode|0o600, data)
		case tar.TypeSymlink:
			if err := checkLink(rel, h.Linkname); err != nil {
				return fmt.Errorf("archive member %q: %w", h.Name, err)
			}
			repo.dir(path.Dir(rel))
			repo[rel] = &File{Path: rel, Mode: fs.ModeSymlink | 0o777, Link: h.Linkname}
		case tar.TypeLink:
			target, err := cleanRel(h.Linkname)
			if err != nil {
				return fmt.Errorf("archive member %q: hard link to %q: %w", h.Name, h.Linkname, ErrPathTraversal)
			}
			f, ok := repo[target]
			if !ok || f.Mode.Type() != 0 {
				return fmt.Errorf("archive member %q: hard link to %q, not an earlier file", h.Name, h.Linkname)
			}
			repo.file(rel, f.Mode, f.Data)
		default:
			// Devices, fifos and the like have no place in a test
			// repository; they are left out.
		}
	}
}

// checkLink refuses a symlink whose target leaves the repository.
func checkLink(rel, target string) error {
	if target == "" || strings.HasPrefix(target, "/") {
		return fmt.Errorf("symlink to %q: %w", target, ErrPathTraversal)
	}
	joined := path.Clean(path.Join(path.Dir(rel), target))
	if joined == ".." || strings.HasPrefix(joined, "../") {
		return fmt.Errorf("symlink to %q: %w", target, ErrPathTraversal)
	}
	return nil
}

// loadGit clones the repository with the git program and reads the
// checkout into repo; it returns the commit id.
func loadGit(ctx context.Context, repo tree, opts Options, d Definition) (string, error) {
	if strings.HasPrefix(d.Repository, "-") || strings.HasPrefix(d.Branch, "-") || strings.HasPrefix(d.Revision, "-") {
		return "", fmt.Errorf("from git: repository, branch and revision must not start with -")
	}
	tmp, err := os.MkdirTemp(opts.TempDir, "lava-git-")
	if err != nil {
		return "", fmt.Errorf("from git: %w", err)
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	dir := filepath.Join(tmp, "repo")
	args := []string{"-c", "protocol.ext.allow=never", "clone", "--quiet"}
	if d.Branch != "" {
		args = append(args, "--branch", d.Branch)
	}
	args = append(args, "--", d.Repository, dir)
	if _, err := runGit(ctx, opts.Git, "", args...); err != nil {
		return "", err
	}
	if d.Revision != "" {
		if _, err := runGit(ctx, opts.Git, dir, "checkout", "--quiet", d.Revision); err != nil {
			return "", err
		}
	}
	commit, err := runGit(ctx, opts.Git, dir, "rev-parse", "HEAD")
	if err != nil {
		return "", err
	}
	keepGit := d.History == nil || *d.History
	var total int64
	err = filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if rel == ".git" && !keepGit {
			return filepath.SkipDir
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		switch {
		case e.IsDir():
			repo.dir(rel)
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			if err := checkLink(rel, target); err != nil {
				return fmt.Errorf("%s: %w", rel, err)
			}
			repo.dir(path.Dir(rel))
			repo[rel] = &File{Path: rel, Mode: fs.ModeSymlink | 0o777, Link: target}
		case info.Mode().IsRegular():
			total += info.Size()
			if total > opts.MaxRepoBytes {
				return fmt.Errorf("repository is larger than %d bytes", opts.MaxRepoBytes)
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			repo.file(rel, info.Mode().Perm()|0o600, data)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("from git %s: read checkout: %w", d.Repository, err)
	}
	return commit, nil
}

func runGit(ctx context.Context, git, dir string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, git, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=true")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
	}
	return strings.TrimSpace(out.String()), nil
}
