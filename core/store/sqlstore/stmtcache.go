package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"sync"
)

// maxCachedStatements bounds the statement cache: queries built with a
// varying number of placeholders must not grow it without end. Past the
// bound, queries are prepared per call as database/sql does by default.
const maxCachedStatements = 256

// stmtCache keeps one prepared statement per query text on a *sql.DB.
// database/sql re-prepares a cached *sql.Stmt lazily on each pooled
// connection and reuses it inside transactions (Tx.StmtContext), so a hot
// query is parsed by the database once per connection instead of once per
// call. SQLite's parser was a third of the cost of a job submission.
type stmtCache struct {
	db    *sql.DB
	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, stmts: make(map[string]*sql.Stmt)}
}

// get returns the cached statement for query, preparing it on first use;
// nil when the cache is full or preparing failed (the caller then runs
// the query unprepared and reports any error itself).
func (c *stmtCache) get(ctx context.Context, query string) *sql.Stmt {
	c.mu.RLock()
	st, ok := c.stmts[query]
	full := len(c.stmts) >= maxCachedStatements
	c.mu.RUnlock()
	if ok {
		return st
	}
	if full {
		return nil
	}
	// Prepare without holding the lock: preparing waits for a pooled
	// connection, and the goroutines holding them may need the lock.
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.stmts[query]; ok {
		_ = st.Close()
		return old
	}
	if len(c.stmts) >= maxCachedStatements {
		_ = st.Close()
		return nil
	}
	c.stmts[query] = st
	return st
}

// lookup returns the cached statement for query, or nil.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.stmts[query]
}

// close releases every statement.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.stmts {
		_ = st.Close()
		delete(c.stmts, q)
	}
}

// cachedDB runs plain reads through the statement cache.
type cachedDB struct {
	db    *sql.DB
	cache *stmtCache
}

func (c cachedDB) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := c.cache.get(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return c.db.ExecContext(ctx, query, args...)
}

func (c cachedDB) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := c.cache.get(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.db.QueryContext(ctx, query, args...)
}

func (c cachedDB) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := c.cache.get(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.db.QueryRowContext(ctx, query, args...)
}

// The tx methods shadow *sql.Tx's to use the write handle's cache. A
// transaction holds its connection, and the write handle of a single-writer
// backend has only that one, so a query not yet cached runs unprepared and
// is prepared after the commit (prepareMissed), never inside the
// transaction.

func (t *tx) cached(query string) *sql.Stmt {
	if t.cache == nil {
		return nil
	}
	if st := t.cache.lookup(query); st != nil {
		return st
	}
	if !slices.Contains(t.missed, query) {
		t.missed = append(t.missed, query)
	}
	return nil
}

// prepareMissed caches the statements the transaction ran unprepared.
func (t *tx) prepareMissed(ctx context.Context) {
	for _, q := range t.missed {
		t.cache.get(ctx, q)
	}
}

// stmt returns query for running several times in the transaction: its
// cached statement bound to the transaction once, or, not cached yet, its
// text (prepared after the commit).
func (t *tx) stmt(ctx context.Context, query string) txStmt {
	s := txStmt{tx: t.Tx, query: query}
	if st := t.cached(query); st != nil {
		s.st = t.Tx.StmtContext(ctx, st)
	}
	return s
}

// txStmt is a query of a transaction, prepared or not (see tx.stmt).
type txStmt struct {
	tx    *sql.Tx
	st    *sql.Stmt
	query string
}

func (s txStmt) ExecContext(ctx context.Context, args ...any) (sql.Result, error) {
	if s.st != nil {
		return s.st.ExecContext(ctx, args...)
	}
	return s.tx.ExecContext(ctx, s.query, args...)
}

func (s txStmt) QueryRowContext(ctx context.Context, args ...any) *sql.Row {
	if s.st != nil {
		return s.st.QueryRowContext(ctx, args...)
	}
	return s.tx.QueryRowContext(ctx, s.query, args...)
}

func (t *tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.cached(query); st != nil {
		return t.Tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, query, args...)
}

func (t *tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.cached(query); st != nil {
		return t.Tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, query, args...)
}

func (t *tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.cached(query); st != nil {
		return t.Tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, query, args...)
}
