package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/store/sqlstore"
	"github.com/lavalab/lavalab/migrations"
)

// DefaultMaxConns is the pool size unless the DSN sets pool_max_conns.
const DefaultMaxConns = 16

// DefaultMaxConnIdleTime is how long an idle pooled connection is kept
// unless the DSN sets pool_max_conn_idle_time: an idle server gives its
// connections back to the database (pgx's default, 30 minutes, kept all 16
// open at idle).
const DefaultMaxConnIdleTime = time.Minute

// Store is the PostgreSQL store.
type Store struct {
	*sqlstore.DB
	pool    *pgxpool.Pool
	db      *sql.DB
	connCfg *pgx.ConnConfig
	schema  string
	channel string
	hub     sqlstore.Hub
	log     *slog.Logger

	stopListen context.CancelFunc
	listenDone chan struct{}
	closeOnce  sync.Once
}

var _ store.Store = (*Store)(nil)

func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func dialect() sqlstore.Dialect {
	return sqlstore.Dialect{
		Name:              "postgres",
		ForUpdate:         " FOR UPDATE",
		SnapshotIsolation: true,
		ArrayParams:       true,
		IsUnique:          func(err error) bool { return pgCode(err) == "23505" },
		IsForeignKey:      func(err error) bool { return pgCode(err) == "23503" },
	}
}

// Open connects to the database at dsn (a postgres:// URL or key=value
// string), applies the migrations under an advisory lock, and starts the
// event listener.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parsing the DSN: %w", err)
	}
	if !strings.Contains(dsn, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	if !strings.Contains(dsn, "pool_max_conn_idle_time") {
		cfg.MaxConnIdleTime = DefaultMaxConnIdleTime
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connecting: %w", err)
	}
	s := &Store{pool: pool, connCfg: cfg.ConnConfig.Copy(), log: slog.Default().With("component", "store", "backend", "postgres")}
	fail := func(err error) (*Store, error) {
		s.Close()
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		return fail(fmt.Errorf("postgres: connecting: %w", err))
	}
	var schema *string
	if err := pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return fail(fmt.Errorf("postgres: reading the current schema: %w", err))
	}
	if schema == nil {
		return fail(errors.New("postgres: no current schema (does the search_path name an existing schema?)"))
	}
	s.schema = *schema
	s.channel = "lava_events"
	if s.schema != "public" {
		s.channel += "_" + s.schema
	}
	if len(s.channel) > 63 {
		return fail(fmt.Errorf("postgres: schema name %q too long for an event channel", s.schema))
	}
	s.db = stdlib.OpenDBFromPool(pool)
	if err := s.migrate(ctx); err != nil {
		return fail(err)
	}
	s.DB = sqlstore.New(sqlstore.Config{
		Dialect:  dialect(),
		Write:    s.db,
		Read:     s.db,
		NotifyTx: s.notifyTx,
		// One transaction (BEGIN, INSERTs, pg_notify, COMMIT) for a
		// burst of concurrent submissions instead of one each.
		GroupCommit: true,
	})
	if _, err := s.BackfillMetadata(ctx); err != nil {
		return fail(fmt.Errorf("postgres: %w", err))
	}
	if err := s.listen(ctx); err != nil {
		return fail(err)
	}
	return s, nil
}

// lockKey names an advisory lock of this schema.
func (s *Store) lockKey(name string) string { return "lava:" + s.schema + ":" + name }

func (s *Store) migrate(ctx context.Context) error {
	ms, err := sqlstore.Migrations(migrations.Postgres, "postgres")
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: migration lock: %w", err)
	}
	defer conn.Release()
	key := s.lockKey("migrations")
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(hashtextextended($1, 0))`, key); err != nil {
		return fmt.Errorf("postgres: taking the migration lock: %w", err)
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, key)
	}()
	if _, err := sqlstore.Migrate(ctx, s.db, ms); err != nil {
		return fmt.Errorf("postgres: migrating schema %s: %w", s.schema, err)
	}
	return nil
}

// notifyTx queues the events with pg_notify: delivered at commit, to every
// instance listening, dropped on rollback.
func (s *Store) notifyTx(ctx context.Context, tx *sql.Tx, evs []store.Event) error {
	// One statement for all of them: a group commit of many submissions
	// queues one event per job.
	payloads := make([]string, len(evs))
	for i, ev := range evs {
		payloads[i] = ev.Topic + "\n" + ev.Key
	}
	if _, err := tx.ExecContext(ctx, `SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p`, s.channel, payloads); err != nil {
		return fmt.Errorf("pg_notify: %w", err)
	}
	return nil
}

// listen connects the LISTEN connection (the first time before Open
// returns) and then keeps it up, reconnecting with backoff.
func (s *Store) listen(ctx context.Context) error {
	conn, err := s.listenConn(ctx)
	if err != nil {
		return err
	}
	lctx, cancel := context.WithCancel(context.Background())
	s.stopListen = cancel
	s.listenDone = make(chan struct{})
	go func() {
		defer close(s.listenDone)
		backoff := 100 * time.Millisecond
		for {
			if conn != nil {
				err := s.receive(lctx, conn)
				_ = conn.Close(context.Background())
				conn = nil
				if lctx.Err() != nil {
					return
				}
				s.log.Warn("event listener lost its connection; reconnecting", "err", err)
			}
			select {
			case <-lctx.Done():
				return
			case <-time.After(backoff):
			}
			c, err := s.listenConn(lctx)
			if err != nil {
				backoff = min(backoff*2, 5*time.Second)
				s.log.Warn("event listener cannot reconnect", "err", err, "retry_in", backoff)
				continue
			}
			backoff = 100 * time.Millisecond
			conn = c
			// Events may have been missed while disconnected: wake everyone.
			s.hub.Deliver(store.Event{Topic: store.TopicJobSubmitted}, store.Event{Topic: store.TopicDeviceFree},
				store.Event{Topic: store.TopicJobScheduled}, store.Event{Topic: store.TopicJobCanceling},
				store.Event{Topic: store.TopicJobFinished}, store.Event{Topic: store.TopicLogs},
				store.Event{Topic: store.TopicMultinode})
		}
	}()
	return nil
}

func (s *Store) listenConn(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, s.connCfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: event listener: connecting: %w", err)
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{s.channel}.Sanitize()); err != nil {
		_ = conn.Close(ctx)
		return nil, fmt.Errorf("postgres: event listener: LISTEN: %w", err)
	}
	return conn, nil
}

func (s *Store) receive(ctx context.Context, conn *pgx.Conn) error {
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		topic, key, _ := strings.Cut(n.Payload, "\n")
		s.hub.Deliver(store.Event{Topic: topic, Key: key})
	}
}

// Subscribe returns the events of the given topics from every instance.
func (s *Store) Subscribe(ctx context.Context, topics ...string) (<-chan store.Event, error) {
	return s.hub.Subscribe(ctx, topics...)
}

// Backend returns "postgres".
func (s *Store) Backend() string { return "postgres" }

// Schema is the schema the store works in.
func (s *Store) Schema() string { return s.schema }

// Leader takes the advisory lock named name on a dedicated connection, held
// until release is called or ctx ends. ok is false when another session
// holds it.
func (s *Store) Leader(ctx context.Context, name string) (func(), bool, error) {
	conn, err := pgx.ConnectConfig(ctx, s.connCfg)
	if err != nil {
		return func() {}, false, fmt.Errorf("postgres: leader %s: connecting: %w", name, err)
	}
	key := s.lockKey("leader:" + name)
	var ok bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock(hashtextextended($1, 0))`, key).Scan(&ok); err != nil {
		_ = conn.Close(context.Background())
		return func() {}, false, fmt.Errorf("postgres: leader %s: %w", name, err)
	}
	if !ok {
		_ = conn.Close(context.Background())
		return func() {}, false, nil
	}
	released := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(released) }) }
	go func() {
		select {
		case <-ctx.Done():
		case <-released:
		}
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = conn.Exec(cctx, `SELECT pg_advisory_unlock(hashtextextended($1, 0))`, key)
		_ = conn.Close(cctx) // closing the session frees the lock in any case
	}()
	return release, true, nil
}

// Close stops the listener, ends every subscription and closes the pool.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.stopListen != nil {
			s.stopListen()
			<-s.listenDone
		}
		s.hub.CloseAll()
		if s.db != nil {
			_ = s.db.Close()
		}
		s.pool.Close()
	})
	return nil
}
