package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"time"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/store/sqlstore"
	"github.com/lavalab/lavalab/migrations"
)

// BusyTimeoutMS is how long a connection waits for a lock before failing.
const BusyTimeoutMS = 10000

// Store is the SQLite store.
type Store struct {
	*sqlstore.DB
	path   string
	write  *sql.DB
	read   *sql.DB
	lock   *os.File
	hub    sqlstore.Hub
	closed bool
	// ckpt runs the WAL checkpoints off the writer's path (server mode
	// only; checkpoint.go).
	ckpt *checkpointer
	// stopWatch ends the external-change watcher (server mode only).
	stopWatch context.CancelFunc
	watchDone chan struct{}
}

// WatchInterval is how often a server-mode store checks whether another
// process (an admin command) changed the database.
const WatchInterval = 250 * time.Millisecond

var _ store.Store = (*Store)(nil)

func dsn(path string, write bool, pragmas ...string) string {
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", BusyTimeoutMS))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if write {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Add("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	return path + "?" + q.Encode()
}

func dialect() sqlstore.Dialect {
	code := func(err error) int {
		var e *msqlite.Error
		if errors.As(err, &e) {
			return e.Code()
		}
		return 0
	}
	return sqlstore.Dialect{
		Name:       "sqlite",
		IndexHints: true,
		IsUnique: func(err error) bool {
			c := code(err)
			return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
		},
		IsForeignKey: func(err error) bool { return code(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY },
	}
}

// Open opens (creating it and its parent directories if needed) the SQLite
// database at path for a server: it takes the database's lock (a second
// server on the same file is refused), brings the schema up to date, and
// watches for changes other processes make (admin commands opened with
// OpenShared), delivering them as events so the scheduler, the workers'
// long polls and the driver registry see them at once.
func Open(ctx context.Context, path string) (*Store, error) {
	lock, err := takeLock(path, true)
	if err != nil {
		return nil, err
	}
	s, err := openPools(ctx, path, lock, true, true)
	if err != nil {
		return nil, err
	}
	if err := s.watch(); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: watching %s: %w", path, err)
	}
	return s, nil
}

// OpenShared opens the database for a short-lived admin command, next to a
// server that may be running on it. When no server holds the lock, it
// migrates like Open (and releases the lock at once); when one does, it
// refuses a database whose schema differs from this binary's, and its
// writes reach the running server through the server's change watcher.
func OpenShared(ctx context.Context, path string) (*Store, error) {
	lock, err := takeLock(path, false)
	if err != nil {
		return nil, err
	}
	s, err := openPools(ctx, path, lock, lock != nil, false)
	if err != nil {
		return nil, err
	}
	if lock != nil {
		// Migrated: a server may start now.
		_ = syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
		_ = lock.Close()
		s.lock = nil
	}
	return s, nil
}

// takeLock takes the exclusive lock on path.lock. With must false, a lock
// held by another process is not an error: it returns nil, nil.
func takeLock(path string, must bool) (*os.File, error) {
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("sqlite: creating the directory of %s: %w", path, err)
	}
	if err := privateFiles(path); err != nil {
		return nil, err
	}
	lockPath := path + ".lock"
	lock, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: opening lock file %s: %w", lockPath, err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			if !must {
				return nil, nil
			}
			return nil, fmt.Errorf("sqlite: database %s is in use by another process (lock %s is held): stop the other lava-server or use another --data-dir", path, lockPath)
		}
		return nil, fmt.Errorf("sqlite: locking %s: %w", lockPath, err)
	}
	return lock, nil
}

// privateFiles creates the database file with mode 0600 before SQLite
// opens it (SQLite gives its -wal and -shm files the database file's mode),
// and takes group and other access away from an existing database, its
// -wal and -shm: the database holds token hashes and device dictionaries.
func privateFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: creating %s: %w", path, err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm", path + ".lock"} {
		st, err := os.Stat(p)
		if err != nil || st.Mode().Perm()&0o077 == 0 {
			continue
		}
		if err := os.Chmod(p, st.Mode().Perm()&0o700); err != nil {
			return fmt.Errorf("sqlite: making %s private (mode 0600): %w", p, err)
		}
	}
	return nil
}

// openPools opens both pools; migrate says whether this process may migrate
// (it holds the lock) or must find the schema up to date; server, that it
// is the long-lived server, whose WAL checkpoints run in the background
// (checkpoint.go) rather than in its commits.
func openPools(ctx context.Context, path string, lock *os.File, migrate, server bool) (*Store, error) {
	var err error
	s := &Store{path: path, lock: lock}
	fail := func(err error) (*Store, error) {
		s.closeAll()
		return nil, err
	}
	var writerPragmas []string
	if server {
		writerPragmas = append(writerPragmas, fmt.Sprintf("wal_autocheckpoint(%d)", writerAutoCheckpointPages))
	}
	if s.write, err = sql.Open("sqlite", dsn(path, true, writerPragmas...)); err != nil {
		return fail(fmt.Errorf("sqlite: opening %s: %w", path, err))
	}
	s.write.SetMaxOpenConns(1)
	s.write.SetMaxIdleConns(1)
	s.write.SetConnMaxLifetime(0)
	s.write.SetConnMaxIdleTime(0)
	if err := s.write.PingContext(ctx); err != nil {
		return fail(fmt.Errorf("sqlite: opening %s: %w", path, err))
	}
	ms, err := sqlstore.Migrations(migrations.SQLite, "sqlite")
	if err != nil {
		return fail(fmt.Errorf("sqlite: %w", err))
	}
	if migrate {
		// The flock makes this process the only one migrating.
		if _, err := sqlstore.Migrate(ctx, s.write, ms); err != nil {
			return fail(fmt.Errorf("sqlite: migrating %s: %w", path, err))
		}
	} else {
		pending, err := sqlstore.Pending(ctx, s.write, ms)
		if err != nil {
			return fail(fmt.Errorf("sqlite: %s: %w", path, err))
		}
		if len(pending) > 0 {
			return fail(fmt.Errorf("sqlite: %s: the running server has not applied migration %04d_%s of this build: stop it and run this command again (or use the server's API)", path, pending[0].Version, pending[0].Name))
		}
	}
	if s.read, err = sql.Open("sqlite", dsn(path, false)); err != nil {
		return fail(fmt.Errorf("sqlite: opening %s for reading: %w", path, err))
	}
	n := max(runtime.NumCPU(), 4)
	s.read.SetMaxOpenConns(n)
	s.read.SetMaxIdleConns(n)
	if server {
		if s.ckpt, err = startCheckpointer(path, slog.Default()); err != nil {
			return fail(err)
		}
	}
	s.DB = sqlstore.New(sqlstore.Config{
		Dialect: dialect(),
		Write:   s.write,
		Read:    s.read,
		AfterCommit: func(evs []store.Event) {
			if s.ckpt != nil {
				s.ckpt.committed()
			}
			s.hub.Deliver(evs...)
		},
		GroupCommit: true,
		// modernc.org/sqlite parses every query text anew.
		CacheStatements: true,
	})
	if migrate {
		if _, err := s.BackfillMetadata(ctx); err != nil {
			return fail(fmt.Errorf("sqlite: %s: %w", path, err))
		}
	}
	return s, nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Backend returns "sqlite".
func (s *Store) Backend() string { return "sqlite" }

// Subscribe returns the in-process events of the given topics.
func (s *Store) Subscribe(ctx context.Context, topics ...string) (<-chan store.Event, error) {
	return s.hub.Subscribe(ctx, topics...)
}

// Leader is always granted: SQLite serves one machine, whose flock already
// excludes a second server.
func (s *Store) Leader(ctx context.Context, name string) (func(), bool, error) {
	return func() {}, true, nil
}

// watch starts the goroutine that notices commits made by other processes
// (PRAGMA data_version on the write connection changes only for those:
// this process writes through that one connection) and delivers them as
// events to this process's subscribers. It fails if the first reading
// does.
func (s *Store) watch() error {
	ctx, cancel := context.WithCancel(context.Background())
	last, err := s.dataVersion(ctx)
	if err != nil {
		cancel()
		return err
	}
	s.stopWatch = cancel
	s.watchDone = make(chan struct{})
	go func() {
		defer close(s.watchDone)
		t := time.NewTicker(WatchInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			v, err := s.dataVersion(ctx)
			if err != nil || v == last {
				continue
			}
			last = v
			// What changed is unknown: drop the caches and wake whoever
			// re-reads the store.
			s.ForgetCached()
			s.hub.Deliver(
				store.Event{Topic: store.TopicJobSubmitted},
				store.Event{Topic: store.TopicDeviceFree},
				store.Event{Topic: store.TopicDriversChanged},
			)
		}
	}()
	return nil
}

func (s *Store) dataVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.write.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&v)
	return v, err
}

func (s *Store) closeAll() error {
	var errs []error
	if s.ckpt != nil {
		errs = append(errs, s.ckpt.stop())
	}
	if s.read != nil {
		errs = append(errs, s.read.Close())
	}
	if s.write != nil {
		errs = append(errs, s.write.Close())
	}
	if s.lock != nil {
		_ = syscall.Flock(int(s.lock.Fd()), syscall.LOCK_UN)
		errs = append(errs, s.lock.Close())
	}
	return errors.Join(errs...)
}

// Close closes the database, ends every subscription and releases the
// lock.
func (s *Store) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	if s.stopWatch != nil {
		s.stopWatch()
		<-s.watchDone
	}
	s.hub.CloseAll()
	if s.DB != nil {
		s.DB.CloseStatements()
	}
	if err := s.closeAll(); err != nil {
		return fmt.Errorf("sqlite: closing %s: %w", s.path, err)
	}
	return nil
}
