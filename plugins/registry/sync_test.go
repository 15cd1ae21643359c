package registry_test

import (
	"context"
	"errors"
	"testing"

	"github.com/lavalab/lavalab/plugins/registry"
)

// TestSync: two registries sharing one store (two server instances, or a
// server and the admin's command line). What one installs, activates or
// rolls back, the other takes on Sync.
func TestSync(t *testing.T) {
	ctx := context.Background()
	h := newHost(t)
	storeDir := t.TempDir()
	a := newRegistry(t, h, storeDir, "")
	b := newRegistry(t, h, storeDir, "")
	v1, v2 := good(t, "1.0.0"), good(t, "2.0.0")

	check := func(step string, r interface {
		Sync(context.Context) (bool, error)
	}, wantChanged bool) {
		t.Helper()
		changed, err := r.Sync(ctx)
		if err != nil || changed != wantChanged {
			t.Fatalf("%s: Sync = %v, %v; want changed=%v", step, changed, err, wantChanged)
		}
	}
	i1, err := a.Install(ctx, "testdrv", v1)
	if err != nil {
		t.Fatal(err)
	}
	check("install v1 on a", b, true)
	if _, info, err := b.ForDeviceType(devType); err != nil || info.SHA256 != i1.SHA256 {
		t.Fatalf("b after install: %+v %v", info, err)
	}
	check("nothing new", b, false)

	i2, err := a.Install(ctx, "", v2)
	if err != nil {
		t.Fatal(err)
	}
	check("install v2 on a", b, true)
	d, info, err := b.ForDeviceType(devType)
	if err != nil || info.SHA256 != i2.SHA256 || planVersion(t, d) != "2.0.0" {
		t.Fatalf("b after v2: %+v %v", info, err)
	}
	// Roll back on b: a follows, and a's own state was not clobbered.
	if _, err := b.Rollback(ctx, "testdrv"); err != nil {
		t.Fatal(err)
	}
	check("rollback on b", a, true)
	if g, err := a.Get("testdrv"); err != nil || g.SHA256 != i1.SHA256 {
		t.Fatalf("a after rollback on b: %+v %v", g, err)
	}
	check("a again", a, false)
	check("b itself", b, false)
}

// TestRemove: a version that is not active is removed from the store and
// the registry; another registry on the store drops it on Sync; the active
// one is refused.
func TestRemove(t *testing.T) {
	ctx := context.Background()
	h := newHost(t)
	storeDir := t.TempDir()
	a := newRegistry(t, h, storeDir, "")
	b := newRegistry(t, h, storeDir, "")
	v1, v2 := good(t, "1.0.0"), good(t, "2.0.0")
	i1, err := a.Install(ctx, "testdrv", v1)
	if err != nil {
		t.Fatal(err)
	}
	i2, err := a.Install(ctx, "", v2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if len(b.List()) != 2 {
		t.Fatalf("b before: %+v", b.List())
	}
	if _, err := a.Remove(ctx, "testdrv", i2.SHA256); !errors.Is(err, registry.ErrActive) {
		t.Fatalf("removing the active version: %v", err)
	}
	if _, err := a.Remove(ctx, "other", i1.SHA256); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("removing under another name: %v", err)
	}
	if _, err := a.Remove(ctx, "testdrv", i1.SHA256); err != nil {
		t.Fatal(err)
	}
	if l := a.List(); len(l) != 1 || l[0].SHA256 != i2.SHA256 {
		t.Fatalf("a after remove: %+v", l)
	}
	if _, err := a.Rollback(ctx, "testdrv"); !errors.Is(err, registry.ErrNoEarlierVersion) {
		t.Fatalf("rollback to a removed version: %v", err)
	}
	if _, _, err := a.BySHA256(ctx, i1.SHA256); err == nil {
		t.Fatal("a removed version still served by SHA-256")
	}
	if _, err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if l := b.List(); len(l) != 1 || l[0].SHA256 != i2.SHA256 || !l[0].Active {
		t.Fatalf("b after sync: %+v", l)
	}
	if got := b.History("testdrv"); len(got) != 1 || got[0] != i2.SHA256 {
		t.Fatalf("b's history %v", got)
	}
	c := newRegistry(t, h, storeDir, "")
	if l := c.List(); len(l) != 1 {
		t.Fatalf("a new registry on the store: %+v", l)
	}
}
