package sqlite

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// TestBackupUnderLoadRestores backs a database up while jobs are being
// submitted and logged, restores the copy and finds every job it holds
// readable with all its logs, the user's token working, and new job ids
// above every id the backup knew.
func TestBackupUnderLoadRestores(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, err := Open(ctx, filepath.Join(dir, "lava.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.CreateDeviceType(ctx, model.DeviceType{Name: "qemu"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateUser(ctx, model.User{Username: "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateToken(ctx, "alice", "ci", []byte("token-hash")); err != nil {
		t.Fatal(err)
	}
	lctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var submitted atomic.Int64
	for range 2 {
		wg.Go(func() {
			for lctx.Err() == nil {
				out, err := st.CreateJobs(ctx, []model.Job{{RequestedDeviceType: "qemu", Definition: "x", Submitter: "alice"}})
				if err != nil {
					t.Error(err)
					return
				}
				recs := make([]model.LogRecord, 20)
				for i := range recs {
					recs[i] = model.LogRecord{Time: time.Now(), Level: model.LevelInfo, Message: strings.Repeat("x", 100)}
				}
				if _, err := st.AppendLogs(ctx, out[0].ID, 0, recs); err != nil {
					t.Error(err)
					return
				}
				submitted.Add(1)
			}
		})
	}
	for submitted.Load() < 50 {
		time.Sleep(5 * time.Millisecond)
	}
	backup := filepath.Join(dir, "backup.db")
	n, err := Backup(ctx, st.Path(), backup)
	stop()
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(backup); err != nil || fi.Size() != n || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v, %v (reported %d bytes)", fi, err, n)
	}
	if _, err := Backup(ctx, st.Path(), backup); err == nil {
		t.Error("a backup over an existing file was accepted")
	}

	restored := filepath.Join(dir, "restored", "lava.db")
	if _, err := Restore(ctx, backup, restored, false); err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(ctx, backup, restored, false); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("restore over a database without force: %v", err)
	}
	rs, err := Open(ctx, restored)
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	// The lock refuses a restore under a running server.
	if _, err := Restore(ctx, backup, restored, true); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("restore under a running server: %v", err)
	}
	jobs, total, err := rs.ListJobs(ctx, store.System(), store.JobFilter{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	if total < 50 || int64(total) > submitted.Load()+2 {
		t.Fatalf("the backup holds %d jobs; %d were submitted, 50 before it started", total, submitted.Load())
	}
	var maxID int64
	for _, j := range jobs {
		maxID = max(maxID, j.ID)
		n, err := rs.LogCount(ctx, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		logs, err := rs.ReadLogs(ctx, j.ID, 0, 1000)
		if err != nil || int64(len(logs)) != n || (n != 0 && n != 20) {
			t.Errorf("job %d: %d of %d log records readable (%v)", j.ID, len(logs), n, err)
		}
	}
	if u, err := rs.UserByTokenHash(ctx, []byte("token-hash")); err != nil || u.Username != "alice" {
		t.Errorf("the token after restore: %v, %v", u.Username, err)
	}
	out, err := rs.CreateJobs(ctx, []model.Job{{RequestedDeviceType: "qemu", Definition: "x"}})
	if err != nil {
		t.Fatal(err)
	}
	if out[0].ID <= maxID {
		t.Errorf("new job %d after restore, want above %d", out[0].ID, maxID)
	}
	t.Logf("backup of %d jobs (%d submitted during the run): %d bytes", total, submitted.Load(), n)
}

func TestCheckRefusesOtherFiles(t *testing.T) {
	p := filepath.Join(t.TempDir(), "junk.db")
	if err := os.WriteFile(p, []byte("not a database, but long enough to have a header of some sort........................................"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Check(context.Background(), p); err == nil {
		t.Error("Check accepted a file that is no database")
	}
	if err := Check(context.Background(), p+".missing"); err == nil {
		t.Error("Check accepted a missing file")
	}
}
