package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Backup writes a consistent copy of the database at src to dst (which
// must not exist) while servers and admin commands keep using src: SQLite's
// VACUUM INTO reads one snapshot (a read transaction, which in WAL mode
// blocks no writer) and writes it compacted (the pages freed by removed
// jobs are left out). The copy is checked (PRAGMA integrity_check) before
// it is renamed to dst, mode 0600. It returns dst's size.
func Backup(ctx context.Context, src, dst string) (int64, error) {
	if _, err := os.Stat(src); err != nil {
		return 0, fmt.Errorf("sqlite backup: %w", err)
	}
	if _, err := os.Lstat(dst); err == nil {
		return 0, fmt.Errorf("sqlite backup: %s already exists", dst)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), filepath.Base(dst)+".tmp-*")
	if err != nil {
		return 0, fmt.Errorf("sqlite backup: %w", err)
	}
	tmpName := tmp.Name()
	tmp.Close()
	ok := false
	defer func() {
		if !ok {
			os.Remove(tmpName)
		}
	}()
	// Not query_only (which refuses VACUUM INTO): the connection only
	// reads src.
	db, err := sql.Open("sqlite", fmt.Sprintf("%s?_pragma=busy_timeout(%d)", src, BusyTimeoutMS))
	if err != nil {
		return 0, fmt.Errorf("sqlite backup: opening %s: %w", src, err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `VACUUM INTO ?`, tmpName); err != nil {
		return 0, fmt.Errorf("sqlite backup: copying %s: %w", src, err)
	}
	if err := Check(ctx, tmpName); err != nil {
		return 0, fmt.Errorf("sqlite backup: the copy: %w", err)
	}
	if err := syncFile(tmpName); err != nil {
		return 0, fmt.Errorf("sqlite backup: %w", err)
	}
	if err := os.Link(tmpName, dst); err != nil { // fails if dst appeared meanwhile
		return 0, fmt.Errorf("sqlite backup: %w", err)
	}
	os.Remove(tmpName)
	ok = true
	st, err := os.Stat(dst)
	if err != nil {
		return 0, fmt.Errorf("sqlite backup: %w", err)
	}
	return st.Size(), nil
}

// Check runs PRAGMA integrity_check on the database file at path and
// checks it holds a lab (its migrations table), opening it read-only.
func Check(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err != nil {
		return err
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `PRAGMA integrity_check`)
	if err != nil {
		return fmt.Errorf("%s: integrity check: %w", path, err)
	}
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			rows.Close()
			return fmt.Errorf("%s: integrity check: %w", path, err)
		}
		if s != "ok" {
			problems = append(problems, s)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%s: integrity check: %w", path, err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: integrity check: %s", path, strings.Join(problems, "; "))
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil || n == 0 {
		return fmt.Errorf("%s is not a lava-server database (no schema migrations): %v", path, err)
	}
	return nil
}

// Restore puts the backup src in place of the database at dst, with no
// server running on dst (its lock is taken). An existing dst is refused
// unless force, which keeps it as dst.replaced-TIME. The backup is checked
// first, and migrated to this build's schema after.
func Restore(ctx context.Context, src, dst string, force bool) (replaced string, err error) {
	if err := Check(ctx, src); err != nil {
		return "", fmt.Errorf("sqlite restore: %w", err)
	}
	lock, err := takeLock(dst, true)
	if err != nil {
		return "", err
	}
	defer func() {
		if lock != nil {
			_ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
			lock.Close()
		}
	}()
	// takeLock created dst empty if it was missing.
	if st, err := os.Stat(dst); err == nil && st.Size() > 0 {
		if !force {
			return "", fmt.Errorf("sqlite restore: %s already holds a database (use --force to replace it; it is kept aside)", dst)
		}
		// Fold the WAL into the file before moving it aside.
		if db, err := sql.Open("sqlite", dsn(dst, true)); err == nil {
			_, err = db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
			db.Close()
			if err != nil {
				return "", fmt.Errorf("sqlite restore: checkpointing %s: %w", dst, err)
			}
		}
		replaced = dst + ".replaced-" + time.Now().UTC().Format("20060102T150405Z")
		if err := os.Rename(dst, replaced); err != nil {
			return "", fmt.Errorf("sqlite restore: %w", err)
		}
	}
	for _, p := range []string{dst + "-wal", dst + "-shm"} {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return replaced, fmt.Errorf("sqlite restore: %w", err)
		}
	}
	if err := copyFile(src, dst+".restoring"); err != nil {
		return replaced, fmt.Errorf("sqlite restore: %w", err)
	}
	if err := os.Rename(dst+".restoring", dst); err != nil {
		return replaced, fmt.Errorf("sqlite restore: %w", err)
	}
	// Bring a backup of an older build up to date, holding the lock.
	s, err := openPools(ctx, dst, nil, true, false)
	if err != nil {
		return replaced, fmt.Errorf("sqlite restore: %w", err)
	}
	if err := s.Close(); err != nil {
		return replaced, err
	}
	return replaced, nil
}

// copyFile copies src to a new file dst (mode 0600) and syncs it.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
