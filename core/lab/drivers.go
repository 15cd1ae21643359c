package lab

import (
	"context"
	"errors"
	"time"

	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/sdk"
)

// Errors a Drivers implementation wraps, so that each front-end answers the
// right status.
var (
	// ErrDriverNotFound: no such driver, version or module.
	ErrDriverNotFound = errors.New("not found")
	// ErrDriverRefused: the module failed its checks; the message says why.
	ErrDriverRefused = errors.New("refused")
	// ErrDriverConflict: the change is not possible now, e.g. no earlier
	// version to roll back to.
	ErrDriverConflict = errors.New("conflict")
	// ErrNoDrivers: the lab runs without a driver registry.
	ErrNoDrivers = errors.New("this server runs without a driver registry")
)

// DriverInfo describes one driver version (the fields of the registry's
// own Info, so the server converts one to the other).
type DriverInfo struct {
	Name        string          `json:"name"`
	Version     string          `json:"version"`
	SHA256      string          `json:"sha256"`
	Kind        string          `json:"kind"`
	DeviceTypes []string        `json:"device_types"`
	Source      string          `json:"source"`
	Path        string          `json:"path,omitempty"`
	Active      bool            `json:"active"`
	LoadedAt    time.Time       `json:"loaded_at"`
	Description sdk.Description `json:"description"`
}

// DriverRefusal is a file of the drivers directory that failed its checks.
type DriverRefusal struct {
	Path   string    `json:"path"`
	SHA256 string    `json:"sha256"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// Drivers is the driver registry as the lab uses it. The server adapts
// plugins/registry to it; errors wrap ErrDriverNotFound, ErrDriverRefused
// or ErrDriverConflict where those apply.
type Drivers interface {
	// List returns every known version, by name then load time.
	List() []DriverInfo
	// Refused lists the directory's files that failed their checks.
	Refused() []DriverRefusal
	// Install checks a WASM module with describe and activates it; name,
	// if not empty, must be the name the module gives.
	Install(ctx context.Context, name string, module []byte) (DriverInfo, error)
	// Activate makes a known version the active one of its name.
	Activate(ctx context.Context, name, sha string) (DriverInfo, error)
	// Rollback re-activates the version active before the current one.
	Rollback(ctx context.Context, name string) (DriverInfo, error)
	// Module returns a WASM module's bytes by SHA-256.
	Module(ctx context.Context, sha string) ([]byte, error)
	// ForDeviceType returns the active version serving a device type.
	ForDeviceType(devType string) (DriverInfo, error)
}

// DriverFor adapts a driver registry to the check of a job's deploy and
// boot methods at submission (nil: nothing is checked).
func DriverFor(d Drivers) func(string) (job.Driver, bool) {
	if d == nil {
		return nil
	}
	return func(devType string) (job.Driver, bool) {
		in, err := d.ForDeviceType(devType)
		if err != nil {
			return job.Driver{}, false
		}
		desc := in.Description
		return job.Driver{Name: in.Name, Version: in.Version, DeployMethods: desc.DeployMethods, BootMethods: desc.BootMethods}, true
	}
}

// HasDrivers says whether the lab runs with a driver registry.
func (s *Service) HasDrivers() bool { return s.drivers != nil }

// ListDrivers returns every known driver version and the refused files of
// the drivers directory: anyone may read them.
func (s *Service) ListDrivers(ctx context.Context, c Caller) ([]DriverInfo, []DriverRefusal, error) {
	if s.drivers == nil {
		return nil, nil, ErrNoDrivers
	}
	return s.drivers.List(), s.drivers.Refused(), nil
}

// Driver returns the versions of driver name, oldest first, and its
// active one (nil if none).
func (s *Service) Driver(ctx context.Context, c Caller, name string) (active *DriverInfo, versions []DriverInfo, err error) {
	if s.drivers == nil {
		return nil, nil, ErrNoDrivers
	}
	for _, in := range s.drivers.List() {
		if in.Name != name {
			continue
		}
		versions = append(versions, in)
		if in.Active {
			act := in
			active = &act
		}
	}
	if len(versions) == 0 {
		return nil, nil, notFound(ObjDriver, name)
	}
	return active, versions, nil
}

// InstallDriver checks a module and activates it (admins only).
func (s *Service) InstallDriver(ctx context.Context, c Caller, name string, module []byte) (DriverInfo, error) {
	if err := c.NeedAdmin(); err != nil {
		return DriverInfo{}, err
	}
	if s.drivers == nil {
		return DriverInfo{}, ErrNoDrivers
	}
	in, err := s.drivers.Install(ctx, name, module)
	if err != nil {
		s.log.Warn("driver upload refused", "name", name, "bytes", len(module), "by", c.Name(), "via", c.Via, "err", err)
		return DriverInfo{}, err
	}
	s.log.Info("driver uploaded and activated", "driver", in.Name, "version", in.Version, "sha256", in.SHA256, "by", c.Name(), "via", c.Via)
	return in, nil
}

// ActivateDriver makes version sha of driver name the active one (admins
// only).
func (s *Service) ActivateDriver(ctx context.Context, c Caller, name, sha string) (DriverInfo, error) {
	if err := c.NeedAdmin(); err != nil {
		return DriverInfo{}, err
	}
	if s.drivers == nil {
		return DriverInfo{}, ErrNoDrivers
	}
	in, err := s.drivers.Activate(ctx, name, sha)
	if err != nil {
		return DriverInfo{}, err
	}
	s.log.Info("driver activated", "driver", in.Name, "version", in.Version, "sha256", in.SHA256, "by", c.Name(), "via", c.Via)
	return in, nil
}

// RollbackDriver re-activates the version of driver name active before
// the current one (admins only).
func (s *Service) RollbackDriver(ctx context.Context, c Caller, name string) (DriverInfo, error) {
	if err := c.NeedAdmin(); err != nil {
		return DriverInfo{}, err
	}
	if s.drivers == nil {
		return DriverInfo{}, ErrNoDrivers
	}
	in, err := s.drivers.Rollback(ctx, name)
	if err != nil {
		return DriverInfo{}, err
	}
	s.log.Info("driver rolled back", "driver", in.Name, "version", in.Version, "sha256", in.SHA256, "by", c.Name(), "via", c.Via)
	return in, nil
}

// DriverModule returns the bytes of the WASM module with SHA-256 sha. It
// checks no caller: the REST API serves it to admins, the worker protocol
// to workers, each behind its own authentication.
func (s *Service) DriverModule(ctx context.Context, sha string) ([]byte, error) {
	if s.drivers == nil {
		return nil, ErrNoDrivers
	}
	return s.drivers.Module(ctx, sha)
}

// DriverForDeviceType returns the active driver version serving devType.
func (s *Service) DriverForDeviceType(devType string) (DriverInfo, error) {
	if s.drivers == nil {
		return DriverInfo{}, ErrNoDrivers
	}
	return s.drivers.ForDeviceType(devType)
}

// ActiveDrivers maps each device type to the active driver version that
// serves it, and returns every known version, by name then load time.
func (s *Service) ActiveDrivers(ctx context.Context, c Caller) (map[string]*DriverInfo, []DriverInfo, error) {
	all, _, err := s.ListDrivers(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	active := map[string]*DriverInfo{}
	for i := range all {
		if !all[i].Active {
			continue
		}
		for _, dt := range all[i].DeviceTypes {
			active[dt] = &all[i]
		}
	}
	return active, all, nil
}
