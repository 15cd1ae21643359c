package lab_test

import (
	"context"
	"errors"
	"testing"

	"github.com/lavalab/lavalab/core/lab"
	"github.com/lavalab/lavalab/core/model"
)

// oneDriver is a registry with one active version of "drv".
type oneDriver struct{ installs int }

func (d *oneDriver) List() []lab.DriverInfo {
	return []lab.DriverInfo{{Name: "drv", Version: "1", SHA256: "aa", Active: true, DeviceTypes: []string{"qemu"}}}
}
func (d *oneDriver) Refused() []lab.DriverRefusal { return []lab.DriverRefusal{{Path: "bad.wasm"}} }
func (d *oneDriver) Install(context.Context, string, []byte) (lab.DriverInfo, error) {
	d.installs++
	return d.List()[0], nil
}
func (d *oneDriver) Activate(context.Context, string, string) (lab.DriverInfo, error) {
	return d.List()[0], nil
}
func (d *oneDriver) Rollback(context.Context, string) (lab.DriverInfo, error) {
	return lab.DriverInfo{}, lab.ErrDriverConflict
}
func (d *oneDriver) Module(context.Context, string) ([]byte, error) { return []byte("wasm"), nil }
func (d *oneDriver) ForDeviceType(dt string) (lab.DriverInfo, error) {
	if dt == "qemu" {
		return d.List()[0], nil
	}
	return lab.DriverInfo{}, lab.ErrDriverNotFound
}

// TestDriverOperations: anyone reads the registry; only admins change it;
// an unknown driver is not found; a lab without a registry says so.
func TestDriverOperations(t *testing.T) {
	ctx := context.Background()
	reg := &oneDriver{}
	svc := lab.New(lab.Options{Drivers: reg})
	anon := lab.Anonymous("test")
	bob := lab.As(&model.User{Username: "bob"}, "test")
	admin := lab.As(&model.User{Username: "root", IsAdmin: true}, "test")

	list, refused, err := svc.ListDrivers(ctx, anon)
	if err != nil || len(list) != 1 || len(refused) != 1 {
		t.Fatalf("ListDrivers(anonymous) = %d, %d, %v", len(list), len(refused), err)
	}
	if act, versions, err := svc.Driver(ctx, anon, "drv"); err != nil || act == nil || len(versions) != 1 {
		t.Fatalf("Driver(drv) = %v, %d, %v", act, len(versions), err)
	}
	if _, _, err := svc.Driver(ctx, anon, "nope"); !isKind(err, lab.KindNotFound) {
		t.Fatalf("Driver(nope) = %v, want not found", err)
	}
	for _, c := range []struct {
		who  lab.Caller
		want lab.Kind
	}{{anon, lab.KindUnauthenticated}, {bob, lab.KindForbidden}} {
		if _, err := svc.InstallDriver(ctx, c.who, "drv", []byte("x")); !isKind(err, c.want) {
			t.Errorf("InstallDriver by %q = %v, want kind %v", c.who.Name(), err, c.want)
		}
		if _, err := svc.ActivateDriver(ctx, c.who, "drv", "aa"); !isKind(err, c.want) {
			t.Errorf("ActivateDriver by %q = %v, want kind %v", c.who.Name(), err, c.want)
		}
		if _, err := svc.RollbackDriver(ctx, c.who, "drv"); !isKind(err, c.want) {
			t.Errorf("RollbackDriver by %q = %v, want kind %v", c.who.Name(), err, c.want)
		}
	}
	if reg.installs != 0 {
		t.Fatalf("a refused caller reached the registry (%d installs)", reg.installs)
	}
	if _, err := svc.InstallDriver(ctx, admin, "drv", []byte("x")); err != nil || reg.installs != 1 {
		t.Fatalf("InstallDriver by an admin = %v (%d installs)", err, reg.installs)
	}
	if _, err := svc.RollbackDriver(ctx, admin, "drv"); !errors.Is(err, lab.ErrDriverConflict) {
		t.Fatalf("RollbackDriver = %v, want the registry's conflict", err)
	}
	if in, err := svc.DriverForDeviceType("qemu"); err != nil || in.Name != "drv" {
		t.Fatalf("DriverForDeviceType(qemu) = %v, %v", in, err)
	}

	none := lab.New(lab.Options{})
	if none.HasDrivers() {
		t.Fatal("a lab without a registry says it has one")
	}
	if _, _, err := none.ListDrivers(ctx, anon); !errors.Is(err, lab.ErrNoDrivers) {
		t.Fatalf("ListDrivers without a registry = %v, want ErrNoDrivers", err)
	}
}

func isKind(err error, k lab.Kind) bool {
	e, ok := lab.AsError(err)
	return ok && e.Kind == k
}
