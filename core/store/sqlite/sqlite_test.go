package sqlite

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/store/sqlstore"
	"github.com/lavalab/lavalab/core/store/storetest"
	"github.com/lavalab/lavalab/migrations"
)

func open(t testing.TB) store.Store {
	t.Helper()
	st, err := Open(context.Background(), filepath.Join(t.TempDir(), "sub", "lava.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, open)
}

func TestLockExcludesSecondOpen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lava.db")
	st, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(ctx, path)
	if err == nil || !strings.Contains(err.Error(), "in use by another process") {
		t.Fatalf("second Open = %v, want an in-use error", err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = Open(ctx, path)
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	defer st.Close()
}

func TestMigrationsRecordedOnce(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lava.db")
	for range 2 {
		st, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		var name string
		if err := st.read.QueryRowContext(ctx, `SELECT COUNT(*), (SELECT name FROM schema_migrations ORDER BY version LIMIT 1) FROM schema_migrations`).Scan(&n, &name); err != nil {
			t.Fatal(err)
		}
		ms, err := sqlstore.Migrations(migrations.SQLite, "sqlite")
		if err != nil {
			t.Fatal(err)
		}
		if n != len(ms) || name != "init" {
			t.Errorf("schema_migrations has %d rows (first %q), want %d (one per migration, first init)", n, name, len(ms))
		}
		var mode string
		if err := st.write.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
			t.Errorf("journal_mode = %q, %v", mode, err)
		}
		st.Close()
	}
}

// An admin command (OpenShared) works next to a running server (Open) on
// the same file, and the server's subscribers hear of its change.
func TestSharedOpenNextToServer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	path := filepath.Join(t.TempDir(), "lava.db")
	server, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	events, err := server.Subscribe(ctx, store.TopicDeviceFree)
	if err != nil {
		t.Fatal(err)
	}
	// The server's own writes are delivered by the store itself, not by
	// the watcher: drain them first.
	if err := server.CreateDeviceType(ctx, model.DeviceType{Name: "own"}); err != nil {
		t.Fatal(err)
	}
	drain(events)

	admin, err := OpenShared(ctx, path)
	if err != nil {
		t.Fatalf("OpenShared next to a server: %v", err)
	}
	if err := admin.CreateDeviceType(ctx, model.DeviceType{Name: "from-admin"}); err != nil {
		t.Fatal(err)
	}
	if err := admin.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-events:
	case <-ctx.Done():
		t.Fatal("the server heard nothing of the admin command's change")
	}
	if _, err := server.DeviceType(ctx, "from-admin"); err != nil {
		t.Fatalf("the server does not see the admin's device type: %v", err)
	}
	// The server keeps its lock: a second server is still refused.
	if _, err := Open(ctx, path); err == nil {
		t.Fatal("a second server opened the database")
	}
}

// Without a server, OpenShared migrates a new database and leaves it free
// for a server to start.
func TestSharedOpenMigratesAndReleases(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lava.db")
	admin, err := OpenShared(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.CreateDeviceType(ctx, model.DeviceType{Name: "qemu"}); err != nil {
		t.Fatal(err)
	}
	server, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("a server cannot start while an admin command is open: %v", err)
	}
	defer server.Close()
	admin.Close()
	if _, err := server.DeviceType(ctx, "qemu"); err != nil {
		t.Fatal(err)
	}
}

// Next to a server whose schema is older than this build, an admin
// command refuses to run rather than write to a schema it does not know.
func TestSharedOpenRefusesOtherSchema(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lava.db")
	st, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	// A "server" holding the lock.
	lock, err := takeLock(path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	_, err = OpenShared(ctx, path)
	if err == nil || !strings.Contains(err.Error(), "has not applied migration") {
		t.Fatalf("OpenShared = %v, want a schema refusal", err)
	}
}

func drain(ch <-chan store.Event) {
	for {
		select {
		case <-ch:
		case <-time.After(2 * WatchInterval):
			return
		}
	}
}

// A token an admin command deletes stops working on the running server as
// soon as the server sees the change, not after the token cache's TTL.
func TestSharedDeleteTokenReachesServerCache(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	path := filepath.Join(t.TempDir(), "lava.db")
	server, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	if _, err := server.CreateUser(ctx, model.User{Username: "bob"}); err != nil {
		t.Fatal(err)
	}
	hash := []byte("0123456789abcdef0123456789abcdef")
	tok, err := server.CreateToken(ctx, "bob", "test", hash)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := server.UserByTokenHash(ctx, hash); err != nil { // now cached
		t.Fatal(err)
	}
	events, err := server.Subscribe(ctx, store.TopicJobSubmitted)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := OpenShared(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.DeleteToken(ctx, "bob", tok.ID); err != nil {
		t.Fatal(err)
	}
	admin.Close()
	select {
	case <-events:
	case <-ctx.Done():
		t.Fatal("the server heard nothing of the admin command's change")
	}
	if u, err := server.UserByTokenHash(ctx, hash); err == nil {
		t.Fatalf("the deleted token still authenticates %s on the server", u.Username)
	}
}

// TestFilesPrivate: the database, its WAL and shared-memory files and the
// lock are made with mode 0600, and an existing world-readable database is
// made private.
func TestFilesPrivate(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "lava.db")
	check := func() {
		t.Helper()
		for _, p := range []string{path, path + "-wal", path + "-shm", path + ".lock"} {
			st, err := os.Stat(p)
			if err != nil {
				t.Errorf("%s: %v", p, err)
				continue
			}
			if st.Mode().Perm()&0o077 != 0 {
				t.Errorf("%s: mode %v, want no access for group and others", filepath.Base(p), st.Mode().Perm())
			}
		}
	}
	st, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateUser(ctx, model.User{Username: "u"}); err != nil {
		t.Fatal(err)
	}
	check()
	st.Close()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	st, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	check()
}

// The server's writer leaves WAL checkpoints to the background
// checkpointer (checkpoint.go): its commits never copy the WAL into the
// database, the checkpointer does, and its checkpoints are not mistaken
// for another process's changes by the change watcher.
func TestCheckpointsRunOffTheWriter(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "lava.db")
	st, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var auto int
	if err := st.write.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&auto); err != nil {
		t.Fatal(err)
	}
	if auto != writerAutoCheckpointPages {
		t.Fatalf("writer wal_autocheckpoint = %d, want %d (checkpoints belong to the checkpointer)", auto, writerAutoCheckpointPages)
	}
	v0, err := st.dataVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st0, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	// About 12 MB (3,000 pages: three times SQLite's default checkpoint
	// threshold) in 24 commits.
	if _, err := st.write.ExecContext(ctx, `CREATE TABLE ckpt_test (b BLOB)`); err != nil {
		t.Fatal(err)
	}
	for range 24 {
		if _, err := st.write.ExecContext(ctx, `INSERT INTO ckpt_test (b) VALUES (randomblob(512*1024))`); err != nil {
			t.Fatal(err)
		}
		st.ckpt.committed()
	}
	runs0 := st.ckpt.Runs()
	deadline := time.Now().Add(20 * time.Second)
	for {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() >= st0.Size()+12<<20 && st.ckpt.Runs() > runs0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("database file %d bytes after 20 s, want ≥ %d: the background checkpointer did not copy the WAL (runs %d)", fi.Size(), st0.Size()+12<<20, st.ckpt.Runs())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The watcher reads data_version on the writer: this process's own
	// commits and the checkpoints must not change it.
	v1, err := st.dataVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v1 != v0 {
		t.Fatalf("data_version changed %d → %d: the watcher would take a checkpoint for another process's change", v0, v1)
	}
}
