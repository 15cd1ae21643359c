package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lavalab/lavalab/core/store"
)

// Dialect is what differs between the SQL backends.
type Dialect struct {
	// Name is the backend name ("sqlite", "postgres").
	Name string
	// ForUpdate is appended to a SELECT that reads rows the transaction
	// will change (" FOR UPDATE" on PostgreSQL; "" on SQLite, whose write
	// transactions are already exclusive).
	ForUpdate string
	// SnapshotIsolation reads the scheduling snapshot in a REPEATABLE READ
	// read-only transaction (PostgreSQL; SQLite's read transactions are
	// snapshots already).
	SnapshotIsolation bool
	// ArrayParams binds the rows of set-based statements as arrays
	// (unnest, = ANY) instead of VALUES and IN lists (PostgreSQL).
	ArrayParams bool
	// IndexHints names the index of the queue queries (SQLite's INDEXED
	// BY).
	IndexHints bool
	// IsUnique reports a unique or primary key violation.
	IsUnique func(error) bool
	// IsForeignKey reports a foreign key violation.
	IsForeignKey func(error) bool
}

// Config wires a backend's handles into the shared store.
type Config struct {
	Dialect Dialect
	// Write runs transactions; Read runs plain reads (may be Write).
	Write, Read *sql.DB
	// NotifyTx, if set, is called inside each transaction with the events
	// it produced, to be delivered on commit (PostgreSQL: pg_notify).
	NotifyTx func(ctx context.Context, tx *sql.Tx, evs []store.Event) error
	// AfterCommit, if set, is called with the events of each committed
	// transaction (SQLite: the in-process hub).
	AfterCommit func(evs []store.Event)
	// Now returns the current time (default time.Now).
	Now func() time.Time
	// GroupCommit commits concurrent CreateJobs calls in one transaction
	// (SQLite, whose single writer makes each commit a serial cost).
	GroupCommit bool
	// CacheStatements keeps hot queries prepared (SQLite, whose driver
	// re-parses every query; pgx caches statements by itself).
	CacheStatements bool
}

// DB implements every store.Store method but Events, Leader, Backend and
// Close, which the backends add.
type DB struct {
	cfg Config
	d   Dialect
	w   *sql.DB
	r   *sql.DB
	// rq runs plain reads (through the statement cache when enabled).
	rq querier
	// wc and rc are the statement caches of w and r (nil when disabled).
	wc, rc *stmtCache

	creates group[*createReq] // CreateJobs group commit (jobs.go)
	logs    group[*logReq]    // AppendLogs group commit (logs.go)

	tokens tokenCache // UserByTokenHash (tokencache.go)
}

// New returns the shared store over cfg's handles.
func New(cfg Config) *DB {
	if cfg.Read == nil {
		cfg.Read = cfg.Write
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Dialect.IsUnique == nil {
		cfg.Dialect.IsUnique = func(error) bool { return false }
	}
	if cfg.Dialect.IsForeignKey == nil {
		cfg.Dialect.IsForeignKey = func(error) bool { return false }
	}
	s := &DB{cfg: cfg, d: cfg.Dialect, w: cfg.Write, r: cfg.Read, rq: cfg.Read}
	if cfg.CacheStatements {
		s.wc = newStmtCache(cfg.Write)
		s.rc = s.wc
		if cfg.Read != cfg.Write {
			s.rc = newStmtCache(cfg.Read)
		}
		s.rq = cachedDB{db: cfg.Read, cache: s.rc}
	}
	return s
}

// CloseStatements releases the cached prepared statements; backends call
// it before closing their handles.
func (s *DB) CloseStatements() {
	if s.wc != nil {
		s.wc.close()
	}
	if s.rc != nil && s.rc != s.wc {
		s.rc.close()
	}
}

func (s *DB) now() time.Time { return s.cfg.Now().UTC() }

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// tx is a write transaction collecting the events to publish on commit.
type tx struct {
	*sql.Tx
	cache  *stmtCache
	missed []string // queries run unprepared, to cache after commit
	events []store.Event
}

func (t *tx) emit(topic, key string) {
	ev := store.Event{Topic: topic, Key: key}
	for _, e := range t.events {
		if e == ev {
			return
		}
	}
	t.events = append(t.events, ev)
}

// inTx runs fn in one write transaction and publishes its events after
// commit.
func (s *DB) inTx(ctx context.Context, fn func(t *tx) error) error {
	stx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("beginning a transaction: %w", err)
	}
	t := &tx{Tx: stx, cache: s.wc}
	if err := fn(t); err != nil {
		_ = stx.Rollback()
		return err
	}
	if len(t.events) > 0 && s.cfg.NotifyTx != nil {
		if err := s.cfg.NotifyTx(ctx, stx, t.events); err != nil {
			_ = stx.Rollback()
			return fmt.Errorf("queueing events: %w", err)
		}
	}
	if err := stx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	if len(t.events) > 0 && s.cfg.AfterCommit != nil {
		s.cfg.AfterCommit(t.events)
	}
	if len(t.missed) > 0 {
		t.prepareMissed(ctx)
	}
	return nil
}

// Publish delivers one event through the backend's channel (in a
// transaction of its own for NotifyTx backends).
func (s *DB) Publish(ctx context.Context, ev store.Event) error {
	if s.cfg.NotifyTx == nil {
		if s.cfg.AfterCommit != nil {
			s.cfg.AfterCommit([]store.Event{ev})
		}
		return nil
	}
	return s.inTx(ctx, func(t *tx) error {
		t.events = append(t.events, ev)
		return nil
	})
}

// args builds a query's argument list, handing out $N placeholders.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// list returns "$i, $j, ..." for the values.
func (a *args) list(vs ...any) string {
	ps := make([]string, len(vs))
	for i, v := range vs {
		ps[i] = a.add(v)
	}
	return strings.Join(ps, ", ")
}

// micros stores a time as Unix microseconds, 0 for the zero time.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromMicros is the reverse of micros, in UTC.
func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// wrap names what failed, mapping constraint errors to the store's.
func (s *DB) wrap(err error, format string, a ...any) error {
	if err == nil {
		return nil
	}
	what := fmt.Sprintf(format, a...)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%s: %w", what, store.ErrNotFound)
	case s.d.IsUnique(err):
		return fmt.Errorf("%s: %w (%v)", what, store.ErrExists, err)
	case s.d.IsForeignKey(err):
		return fmt.Errorf("%s: %w: refers to nothing (%v)", what, store.ErrInvalid, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

func notFound(format string, a ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, a...), store.ErrNotFound)
}

func invalid(format string, a ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, a...), store.ErrInvalid)
}

func conflict(format string, a ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, a...), store.ErrConflict)
}

// column reads a one-column query.
func column[T any](ctx context.Context, q querier, query string, a ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}
