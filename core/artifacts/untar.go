package artifacts

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// untar unpacks a tar stream into the folder dest (created if needed). Every
// name is resolved inside dest with os.Root: absolute names, ".." and
// writes through symbolic links leading outside are refused. Regular files,
// folders, symbolic and hard links are created; other entries are skipped.
// A symbolic link's target is rewritten relative and kept inside dest (see
// insideLink): a root file system's "/lib/x" link still names its own
// /lib/x for the board, and never the worker's. Hard links name a file
// inside dest (os.Root.Link). It returns the bytes of regular files written.
func untar(r io.Reader, dest string) (int64, error) {
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return 0, err
	}
	root, err := os.OpenRoot(dest)
	if err != nil {
		return 0, err
	}
	defer root.Close()
	tr := tar.NewReader(r)
	var total int64
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if err != nil {
			return total, fmt.Errorf("tar: %w", err)
		}
		name, err := tarName(h.Name)
		if err != nil {
			return total, err
		}
		if name == "." {
			continue
		}
		mode := fs.FileMode(h.Mode) & fs.ModePerm
		switch h.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(name, mode|0o700); err != nil {
				return total, fmt.Errorf("tar: %s: %w", h.Name, err)
			}
		case tar.TypeReg:
			if err := mkParent(root, name); err != nil {
				return total, fmt.Errorf("tar: %s: %w", h.Name, err)
			}
			f, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
			if err != nil {
				return total, fmt.Errorf("tar: %s: %w", h.Name, err)
			}
			n, err := io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			total += n
			if err != nil {
				return total, fmt.Errorf("tar: %s: %w", h.Name, err)
			}
		case tar.TypeSymlink:
			if err := mkParent(root, name); err != nil {
				return total, fmt.Errorf("tar: %s: %w", h.Name, err)
			}
			if err := root.Symlink(insideLink(name, h.Linkname), name); err != nil {
				return total, fmt.Errorf("tar: %s: %w", h.Name, err)
			}
		case tar.TypeLink:
			target, err := tarName(h.Linkname)
			if err != nil {
				return total, err
			}
			if err := mkParent(root, name); err != nil {
				return total, fmt.Errorf("tar: %s: %w", h.Name, err)
			}
			if err := root.Link(target, name); err != nil {
				return total, fmt.Errorf("tar: %s: %w", h.Name, err)
			}
		}
	}
}

func mkParent(root *os.Root, name string) error {
	if dir := path.Dir(name); dir != "." {
		return root.MkdirAll(dir, 0o755)
	}
	return nil
}

// insideLink rewrites the target of the symbolic link name (both relative
// to the unpacked folder, which stands for "/") so that it stays inside the
// folder: the target is resolved as the board would resolve it in its own
// root file system (absolute targets from the folder, ".." stopping at the
// top) and made relative to the link's folder. "leak -> /etc/passwd"
// becomes "leak -> etc/passwd" and "rootdir -> /" becomes "rootdir -> .".
func insideLink(name, target string) string {
	dir := path.Dir("/" + name)
	abs := path.Clean(target)
	if !path.IsAbs(abs) {
		abs = path.Join(dir, target)
	}
	from := splitPath(dir)
	to := splitPath(abs)
	i := 0
	for i < len(from) && i < len(to) && from[i] == to[i] {
		i++
	}
	parts := make([]string, 0, len(from)-i+len(to)-i)
	for range from[i:] {
		parts = append(parts, "..")
	}
	parts = append(parts, to[i:]...)
	if len(parts) == 0 {
		return "."
	}
	return strings.Join(parts, "/")
}

// splitPath splits a clean absolute slash path into its elements.
func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// tarName cleans a member name and refuses absolute names and "..".
func tarName(name string) (string, error) {
	n := strings.TrimPrefix(name, "./")
	if path.IsAbs(n) {
		return "", fmt.Errorf("tar: absolute member name %q refused", name)
	}
	for _, el := range strings.Split(n, "/") {
		if el == ".." {
			return "", fmt.Errorf("tar: member name %q leaves the folder", name)
		}
	}
	return path.Clean(n), nil
}
