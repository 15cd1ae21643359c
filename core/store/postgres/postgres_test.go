package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/store/sqlstore"
	"github.com/lavalab/lavalab/core/store/storetest"
	"github.com/lavalab/lavalab/core/testenv"
	"github.com/lavalab/lavalab/migrations"
)

// needDSN is the server the tests use; each store gets a fresh schema,
// dropped after the test.
func needDSN(t testing.TB) string {
	t.Helper()
	return testenv.PostgresDSN(t)
}

// freshSchema creates an empty schema for one test and returns a DSN using
// it.
func freshSchema(t testing.TB) string {
	t.Helper()
	return testenv.PostgresSchema(t, needDSN(t), "lava_test_")
}

func open(t testing.TB) store.Store {
	t.Helper()
	dsn := freshSchema(t)
	st, err := Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() }) // runs before the schema is dropped
	return st
}

func TestConformance(t *testing.T) {
	needDSN(t)
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
}

func BenchmarkStore(b *testing.B) {
	needDSN(b)
	storetest.Bench(b, open)
}

func TestLeaderExclusive(t *testing.T) {
	dsn := freshSchema(t)
	ctx := context.Background()
	a, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, dsn) // a second instance on the same schema
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	release, ok, err := a.Leader(ctx, "scheduler")
	if err != nil || !ok {
		t.Fatalf("first Leader = %v, %v", ok, err)
	}
	if _, ok, err := b.Leader(ctx, "scheduler"); err != nil || ok {
		t.Fatalf("second instance Leader = %v, %v; want not granted", ok, err)
	}
	if _, ok, err := b.Leader(ctx, "other"); err != nil || !ok {
		t.Fatalf("another name = %v, %v; want granted", ok, err)
	}
	release()
	waitLeader(t, b, "scheduler")

	// Leadership also ends with the context.
	lctx, cancel := context.WithCancel(ctx)
	_, ok, err = b.Leader(lctx, "ctx")
	if err != nil || !ok {
		t.Fatalf("Leader(ctx) = %v, %v", ok, err)
	}
	cancel()
	waitLeader(t, a, "ctx")
}

func waitLeader(t *testing.T, s *Store, name string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		rel, ok, err := s.Leader(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			rel()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("leadership %q never freed", name)
}

// TestEventsAcrossInstances: an event committed by one instance reaches the
// subscribers of another (LISTEN/NOTIFY), and survives the listener's
// connection being killed.
func TestEventsAcrossInstances(t *testing.T) {
	dsn := freshSchema(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	a, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ch, err := b.Subscribe(ctx, store.TopicLogs)
	if err != nil {
		t.Fatal(err)
	}
	want := store.Event{Topic: store.TopicLogs, Key: "42"}
	if err := a.Publish(ctx, want); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ch, want)

	// Kill b's listener session; b reconnects and hears events again.
	if _, err := a.pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	want2 := store.Event{Topic: store.TopicLogs, Key: "43"}
	deadline := time.After(20 * time.Second)
	for {
		if err := a.Publish(ctx, want2); err != nil {
			t.Fatal(err)
		}
		select {
		case ev := <-ch:
			if ev == want2 {
				return
			}
		case <-time.After(200 * time.Millisecond):
		case <-deadline:
			t.Fatal("no event after the listener's connection was killed")
		}
	}
}

func waitFor(t *testing.T, ch <-chan store.Event, want store.Event) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-ch:
			if ev == want {
				return
			}
		case <-timeout:
			t.Fatalf("no event %+v", want)
		}
	}
}

func TestMigrationsRecorded(t *testing.T) {
	dsn := freshSchema(t)
	ctx := context.Background()
	for range 2 {
		s, err := Open(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := s.pool.QueryRow(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		ms, err := sqlstore.Migrations(migrations.Postgres, "postgres")
		if err != nil {
			t.Fatal(err)
		}
		if n != len(ms) {
			t.Errorf("schema_migrations has %d rows, want %d (one per migration)", n, len(ms))
		}
		s.Close()
	}
}

// An idle server gives its pooled connections back after a minute (pgx
// alone keeps them 30 minutes: 16 idle connections per idle server); a DSN
// may say otherwise.
func TestIdlePoolBounded(t *testing.T) {
	dsn := freshSchema(t)
	for _, tc := range []struct {
		dsn  string
		want time.Duration
	}{
		{dsn, DefaultMaxConnIdleTime},
		{dsn + sep(dsn) + "pool_max_conn_idle_time=5s", 5 * time.Second},
	} {
		s, err := Open(context.Background(), tc.dsn)
		if err != nil {
			t.Fatal(err)
		}
		got := s.pool.Config().MaxConnIdleTime
		s.Close()
		if got != tc.want {
			t.Errorf("%s: idle time %s, want %s", tc.dsn, got, tc.want)
		}
	}
}

func sep(dsn string) string {
	if strings.Contains(dsn, "?") {
		return "&"
	}
	if strings.Contains(dsn, "://") {
		return "?"
	}
	return " "
}
