package testshell

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/cavaliergopher/cpio"
)

// entryName is a file's name in the tar and cpio forms: the root without
// its leading slash, then the file's path.
func (o *Overlay) entryName(p string) string {
	r := strings.TrimPrefix(o.Root, "/")
	if p == "" {
		return r
	}
	return r + "/" + p
}

// WriteTar writes the overlay as a tar stream (paths relative to /, so
// `tar -C / -x` puts it in place), the root folder first.
func (o *Overlay) WriteTar(ctx context.Context, w io.Writer) error {
	tw := tar.NewWriter(w)
	hdr := func(f File) *tar.Header {
		h := &tar.Header{
			Name: o.entryName(f.Path), Mode: int64(f.Mode.Perm()), ModTime: o.modTime,
			Uname: "root", Gname: "root", Format: tar.FormatPAX,
		}
		switch f.Mode.Type() {
		case fs.ModeDir:
			h.Typeflag, h.Name = tar.TypeDir, h.Name+"/"
		case fs.ModeSymlink:
			h.Typeflag, h.Linkname = tar.TypeSymlink, f.Link
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.Data))
		}
		return h
	}
	if err := tw.WriteHeader(hdr(File{Mode: fs.ModeDir | 0o755})); err != nil {
		return fmt.Errorf("overlay tar: %w", err)
	}
	for _, f := range o.Files {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("overlay tar: %w", err)
		}
		if err := tw.WriteHeader(hdr(f)); err != nil {
			return fmt.Errorf("overlay tar %s: %w", f.Path, err)
		}
		if f.Mode.Type() == 0 {
			if _, err := tw.Write(f.Data); err != nil {
				return fmt.Errorf("overlay tar %s: %w", f.Path, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("overlay tar: %w", err)
	}
	return nil
}

// WriteCPIO writes the overlay as one cpio newc archive (with its trailer).
func (o *Overlay) WriteCPIO(ctx context.Context, w io.Writer) error {
	cw := cpio.NewWriter(w)
	write := func(f File) error {
		h := &cpio.Header{Name: o.entryName(f.Path), ModTime: o.modTime}
		switch f.Mode.Type() {
		case fs.ModeDir:
			h.Mode = cpio.TypeDir | cpio.FileMode(f.Mode.Perm())
		case fs.ModeSymlink:
			h.Mode = cpio.TypeSymlink | 0o777
			h.Linkname = f.Link
			h.Size = int64(len(f.Link))
		default:
			h.Mode = cpio.TypeReg | cpio.FileMode(f.Mode.Perm())
			h.Size = int64(len(f.Data))
		}
		if err := cw.WriteHeader(h); err != nil {
			return err
		}
		switch f.Mode.Type() {
		case fs.ModeSymlink:
			_, err := cw.Write([]byte(f.Link))
			return err
		case 0:
			_, err := cw.Write(f.Data)
			return err
		}
		return nil
	}
	if err := write(File{Mode: fs.ModeDir | 0o755}); err != nil {
		return fmt.Errorf("overlay cpio: %w", err)
	}
	for _, f := range o.Files {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("overlay cpio: %w", err)
		}
		if err := write(f); err != nil {
			return fmt.Errorf("overlay cpio %s: %w", f.Path, err)
		}
	}
	if err := cw.Close(); err != nil {
		return fmt.Errorf("overlay cpio: %w", err)
	}
	return nil
}

// AppendCPIO copies a cpio newc ramdisk from r to w and appends the overlay
// as a second cpio archive (the kernel unpacks concatenated archives in
// order). A gzip-compressed ramdisk is decompressed, appended to and
// recompressed as one gzip stream. A U-Boot legacy image header (mkimage) or
// another compression is refused: strip or decompress it first.
func (o *Overlay) AppendCPIO(ctx context.Context, r io.Reader, w io.Writer) error {
	br := bufio.NewReader(r)
	magic, err := br.Peek(6)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("append overlay to ramdisk: %w", err)
	}
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("append overlay to ramdisk: gzip: %w", err)
		}
		zw := gzip.NewWriter(w)
		if err := o.appendRaw(ctx, zr, zw); err != nil {
			return err
		}
		if err := zw.Close(); err != nil {
			return fmt.Errorf("append overlay to ramdisk: gzip: %w", err)
		}
		return nil
	case bytes.HasPrefix(magic, []byte("07070")):
		return o.appendRaw(ctx, br, w)
	case bytes.HasPrefix(magic, []byte{0x27, 0x05, 0x19, 0x56}):
		return errors.New("append overlay to ramdisk: the ramdisk has a U-Boot header; strip it first")
	}
	// The file's bytes are never quoted: the ramdisk may be any file the
	// job named, and this message reaches the job's submitter.
	return errors.New("append overlay to ramdisk: not a cpio newc archive nor a gzip stream (its first bytes are neither)")
}

func (o *Overlay) appendRaw(ctx context.Context, r io.Reader, w io.Writer) error {
	n, err := io.Copy(w, r)
	if err != nil {
		return fmt.Errorf("append overlay to ramdisk: copy: %w", err)
	}
	if pad := (4 - n%4) % 4; pad > 0 {
		if _, err := w.Write(make([]byte, pad)); err != nil {
			return fmt.Errorf("append overlay to ramdisk: %w", err)
		}
	}
	return o.WriteCPIO(ctx, w)
}

// Unpack writes the overlay under rootfs (an NFS root or a mounted image):
// the root lands at rootfs/<Root>. Existing files are replaced.
func (o *Overlay) Unpack(ctx context.Context, rootfs string) error {
	// Everything is written through an os.Root at the root file system: a
	// link in the unpacked image (lava-123 -> /etc) never leads the writes
	// onto the worker's own files.
	root, err := os.OpenRoot(rootfs)
	if err != nil {
		return fmt.Errorf("unpack overlay: %w", err)
	}
	defer root.Close()
	base := strings.TrimPrefix(path.Clean("/"+o.Root), "/")
	if base == "" {
		base = "."
	}
	if err := root.MkdirAll(base, 0o755); err != nil {
		return fmt.Errorf("unpack overlay: %w", err)
	}
	for _, f := range o.Files {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("unpack overlay: %w", err)
		}
		p := path.Join(base, f.Path)
		switch f.Mode.Type() {
		case fs.ModeDir:
			if err := root.MkdirAll(p, f.Mode.Perm()); err != nil {
				return fmt.Errorf("unpack overlay: %w", err)
			}
		case fs.ModeSymlink:
			_ = root.Remove(p)
			if err := root.Symlink(f.Link, p); err != nil {
				return fmt.Errorf("unpack overlay: %w", err)
			}
		default:
			_ = root.Remove(p) // never write through an old symlink
			if err := root.WriteFile(p, f.Data, f.Mode.Perm()); err != nil {
				return fmt.Errorf("unpack overlay: %w", err)
			}
			if err := root.Chmod(p, f.Mode.Perm()); err != nil {
				return fmt.Errorf("unpack overlay: %w", err)
			}
		}
	}
	return nil
}

// ConsoleOptions tune ConsoleCommands.
type ConsoleOptions struct {
	// TempFile holds the base64 text on the device (default
	// /tmp/lava-overlay.b64).
	TempFile string
	// LineMax caps the length of one command line (default 1000; a
	// terminal in canonical mode takes at most 4095).
	LineMax int
}

// ConsoleCommands returns shell command lines that recreate the overlay on a
// running shell with no other way in: the gzipped tar, base64 encoded, is
// appended to a file in chunks, then decoded and unpacked at /. The device
// needs base64, gzip and tar (busybox has them).
func (o *Overlay) ConsoleCommands(ctx context.Context, opts ConsoleOptions) ([]string, error) {
	if opts.TempFile == "" {
		opts.TempFile = "/tmp/lava-overlay.b64"
	}
	if opts.LineMax <= 0 {
		opts.LineMax = 1000
	}
	tmp := ShellQuote(opts.TempFile)
	prefix, suffix := "echo ", " >> "+tmp
	chunk := opts.LineMax - len(prefix) - len(suffix)
	chunk -= chunk % 4
	if chunk < 4 {
		return nil, fmt.Errorf("console overlay: line max %d is too short for %s", opts.LineMax, opts.TempFile)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if err := o.WriteTar(ctx, zw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("console overlay: %w", err)
	}
	text := base64.StdEncoding.EncodeToString(buf.Bytes())
	cmds := []string{"rm -f " + tmp}
	for len(text) > 0 {
		n := min(chunk, len(text))
		cmds = append(cmds, prefix+text[:n]+suffix)
		text = text[n:]
	}
	cmds = append(cmds,
		"base64 -d "+tmp+" | gzip -dc | tar -C / -xf -",
		"rm -f "+tmp)
	return cmds, nil
}

// StartCommands returns the lines the dispatcher sends, after login, to run
// one stage of the overlay: set SHELL, source the environment, start
// lava-test-runner on the stage folder.
func (o *Overlay) StartCommands(stage int) []string {
	return StartCommands(o.Root, o.shell, stage)
}

// StartCommands is Overlay.StartCommands for a known root and shell
// (DefaultShell when empty).
func StartCommands(root, shell string, stage int) []string {
	if shell == "" {
		shell = DefaultShell
	}
	return []string{
		"export SHELL=" + shell,
		". " + root + "/environment",
		fmt.Sprintf("%s/bin/lava-test-runner %s/%d", root, root, stage),
	}
}
