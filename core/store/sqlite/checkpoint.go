package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// Why a checkpointer of our own (RATIONALE.md, "SQLite checkpoints off the
// commit path"): with SQLite's default wal_autocheckpoint, the connection
// whose commit takes the WAL past 1,000 pages copies the WAL into the
// database and fsyncs it inside that commit. The server writes through one
// connection, so every log append queued behind such a commit waits for
// the copy: a profile of log ingestion at 1,000 boards spent 1.9 s of 8 s
// of wall time in checkpoints run by Commit, and those stalls were the
// tail of the log latency. In WAL mode a checkpoint may run on another
// connection while the writer goes on (a PASSIVE checkpoint takes no lock
// a writer needs), so the server turns the writer's automatic checkpoint
// down to a backstop and runs them here instead.

// CheckpointEvery is the least time between two background checkpoints
// while commits arrive.
const CheckpointEvery = 200 * time.Millisecond

// writerAutoCheckpointPages is the writer connection's wal_autocheckpoint in
// server mode: a backstop (about 160 MB of WAL with 4 KiB pages) that only
// a checkpointer unable to keep up would reach; SQLite's default is 1,000.
const writerAutoCheckpointPages = 40000

// checkpointer runs PASSIVE checkpoints on a connection of its own after
// commits, at most one per CheckpointEvery, and one a second while idle
// commits (those without events) may have left frames behind.
type checkpointer struct {
	db     *sql.DB
	kick   chan struct{}
	cancel context.CancelFunc
	done   chan struct{}
	log    *slog.Logger
	runs   atomic.Int64 // checkpoints run
}

// startCheckpointer opens the checkpointer's connection to path and starts
// its goroutine.
func startCheckpointer(path string, log *slog.Logger) (*checkpointer, error) {
	db, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return nil, fmt.Errorf("sqlite: opening %s for checkpoints: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	ctx, cancel := context.WithCancel(context.Background())
	if err := db.PingContext(ctx); err != nil {
		cancel()
		db.Close()
		return nil, fmt.Errorf("sqlite: opening %s for checkpoints: %w", path, err)
	}
	c := &checkpointer{db: db, kick: make(chan struct{}, 1), cancel: cancel, done: make(chan struct{}), log: log}
	go c.loop(ctx)
	return c, nil
}

// committed tells the checkpointer that the WAL grew; it never blocks.
func (c *checkpointer) committed() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

func (c *checkpointer) loop(ctx context.Context) {
	defer close(c.done)
	idle := time.NewTicker(time.Second)
	defer idle.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.kick:
		case <-idle.C:
		}
		start := time.Now()
		if err := c.checkpoint(ctx); err != nil && ctx.Err() == nil {
			// Not fatal: the writer's backstop checkpoints if this keeps
			// failing, and the next commit tries again.
			c.log.Warn("sqlite: background checkpoint failed", "err", err)
		}
		// At most one checkpoint per CheckpointEvery: each one fsyncs the
		// database file.
		if wait := CheckpointEvery - time.Since(start); wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
	}
}

// checkpoint runs one PASSIVE checkpoint: it copies what it can of the WAL
// without waiting for readers or the writer.
func (c *checkpointer) checkpoint(ctx context.Context) error {
	var busy, frames, copied int64
	if err := c.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied); err != nil {
		return fmt.Errorf("wal_checkpoint: %w", err)
	}
	c.runs.Add(1)
	return nil
}

// Runs returns how many checkpoints have run.
func (c *checkpointer) Runs() int64 { return c.runs.Load() }

// stop ends the goroutine and closes the connection.
func (c *checkpointer) stop() error {
	c.cancel()
	<-c.done
	return c.db.Close()
}
