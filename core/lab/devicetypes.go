package lab

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// ListDeviceTypes lists every device type (anyone may).
func (s *Service) ListDeviceTypes(ctx context.Context, c Caller) ([]model.DeviceType, error) {
	dts, err := s.st.ListDeviceTypes(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing device types: %w", err)
	}
	return dts, nil
}

// DeviceType is one device type.
func (s *Service) DeviceType(ctx context.Context, c Caller, name string) (model.DeviceType, error) {
	dt, err := s.st.DeviceType(ctx, name)
	if err != nil {
		return model.DeviceType{}, storeErr(err, ObjDeviceType, name)
	}
	return dt, nil
}

// TypeDevices are the hostnames of a device type's devices (retired ones
// too when asked).
func (s *Service) TypeDevices(ctx context.Context, c Caller, name string, retired bool) ([]string, error) {
	devs, err := s.st.ListDevices(ctx, store.DeviceFilter{DeviceType: name, IncludeRetired: retired})
	if err != nil {
		return nil, fmt.Errorf("devices of %q: %w", name, err)
	}
	out := []string{}
	for _, d := range devs {
		out = append(out, d.Hostname)
	}
	return out, nil
}

// CheckHealthFields refuses a device type's health-check fields that are
// out of range (KindInvalid).
func CheckHealthFields(dt model.DeviceType) error {
	if dt.HealthFrequency < 0 {
		return invalid("health_frequency must be >= 0")
	}
	switch dt.HealthDenominator {
	case "", "hours", "jobs":
	default:
		return invalid("health_denominator %q: want hours or jobs", dt.HealthDenominator)
	}
	return nil
}

// CreateDeviceType adds a device type (admins) and returns it as stored.
func (s *Service) CreateDeviceType(ctx context.Context, c Caller, dt model.DeviceType) (model.DeviceType, error) {
	if err := c.NeedAdmin(); err != nil {
		return model.DeviceType{}, err
	}
	if err := CheckHealthFields(dt); err != nil {
		return model.DeviceType{}, err
	}
	if err := s.st.CreateDeviceType(ctx, dt); err != nil {
		return model.DeviceType{}, storeErr(err, ObjDeviceType, dt.Name)
	}
	s.log.Info("device type created", "name", dt.Name, "by", c.Name(), "via", c.Via)
	return s.DeviceType(ctx, c, dt.Name)
}

var errRefused = errors.New("refused")

// UpdateDeviceType changes a device type (admins) with fn; the result's
// health-check fields must be in range.
func (s *Service) UpdateDeviceType(ctx context.Context, c Caller, name string, fn func(*model.DeviceType)) (model.DeviceType, error) {
	if err := c.NeedAdmin(); err != nil {
		return model.DeviceType{}, err
	}
	var bad error
	dt, err := s.st.UpdateDeviceType(ctx, name, func(dt *model.DeviceType) error {
		fn(dt)
		if bad = CheckHealthFields(*dt); bad != nil {
			return errRefused
		}
		return nil
	})
	if errors.Is(err, errRefused) {
		return model.DeviceType{}, bad
	}
	if err != nil {
		return model.DeviceType{}, storeErr(err, ObjDeviceType, name)
	}
	return dt, nil
}

// SetHealthCheck stores a device type's health-check job (admins; it must
// be a valid job, KindInvalid ReasonJobSchema; empty removes it).
func (s *Service) SetHealthCheck(ctx context.Context, c Caller, name, text string) error {
	if err := c.NeedAdmin(); err != nil {
		return err
	}
	if strings.TrimSpace(text) != "" {
		if _, rep := job.Parse([]byte(text)); !rep.OK() {
			return invalidJob(ReasonJobSchema, rep.Errors, nil, rep.Warnings)
		}
	}
	_, err := s.UpdateDeviceType(ctx, c, name, func(dt *model.DeviceType) { dt.HealthCheck = text })
	return err
}

// HealthCheck is a device type's health-check job (KindNotFound,
// ReasonNoHealthCheck, when it has none).
func (s *Service) HealthCheck(ctx context.Context, c Caller, name string) (string, error) {
	dt, err := s.DeviceType(ctx, c, name)
	if err != nil {
		return "", err
	}
	if dt.HealthCheck == "" {
		return "", &Error{Kind: KindNotFound, Reason: ReasonNoHealthCheck, Object: ObjDeviceType, Name: dt.Name,
			Msg: fmt.Sprintf("device type %q has no health check", dt.Name)}
	}
	return dt.HealthCheck, nil
}

// Aliases maps every device-type alias to its device type.
func (s *Service) Aliases(ctx context.Context, c Caller) (map[string]string, error) {
	dts, err := s.ListDeviceTypes(ctx, c)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, dt := range dts {
		for _, al := range dt.Aliases {
			out[al] = dt.Name
		}
	}
	return out, nil
}

// AddAlias gives a device type an alias (admins): not empty, not an
// alias already (KindExists) nor a device type's name (KindInvalid).
func (s *Service) AddAlias(ctx context.Context, c Caller, alias, dtName string) error {
	if err := c.NeedAdmin(); err != nil {
		return err
	}
	if strings.TrimSpace(alias) == "" {
		return invalid("empty alias")
	}
	idx, err := s.Aliases(ctx, c)
	if err != nil {
		return err
	}
	if owner, ok := idx[alias]; ok {
		return &Error{Kind: KindExists, Object: ObjAlias, Name: alias,
			Msg: fmt.Sprintf("alias '%s' already exists (device-type '%s').", alias, owner)}
	}
	if _, err := s.st.DeviceType(ctx, alias); err == nil {
		return invalid("'%s' is a device-type name.", alias)
	}
	_, err = s.st.UpdateDeviceType(ctx, dtName, func(dt *model.DeviceType) error {
		dt.Aliases = append(dt.Aliases, alias)
		return nil
	})
	return storeErr(err, ObjDeviceType, dtName)
}

// DeleteAlias removes an alias (of dtName when not "", else of whichever
// type has it) (admins).
func (s *Service) DeleteAlias(ctx context.Context, c Caller, alias, dtName string) error {
	if err := c.NeedAdmin(); err != nil {
		return err
	}
	idx, err := s.Aliases(ctx, c)
	if err != nil {
		return err
	}
	owner, ok := idx[alias]
	if dtName != "" {
		if _, err := s.DeviceType(ctx, c, dtName); err != nil {
			return err
		}
	}
	if !ok || (dtName != "" && owner != dtName) {
		return notFound(ObjAlias, alias)
	}
	_, err = s.st.UpdateDeviceType(ctx, owner, func(dt *model.DeviceType) error {
		dt.Aliases = slices.DeleteFunc(dt.Aliases, func(x string) bool { return x == alias })
		return nil
	})
	return storeErr(err, ObjDeviceType, owner)
}
