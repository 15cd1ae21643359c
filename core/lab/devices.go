package lab

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/lavalab/lavalab/core/devdict"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// ListDevices lists the devices that match f (anyone may).
func (s *Service) ListDevices(ctx context.Context, c Caller, f store.DeviceFilter) ([]model.Device, error) {
	devs, err := s.st.ListDevices(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("listing devices: %w", err)
	}
	return devs, nil
}

// Device is one device (anyone may see it; a front-end shows its
// dictionary, which may hold power-switch credentials, to admins only:
// CanSeeDictionary).
func (s *Service) Device(ctx context.Context, c Caller, hostname string) (model.Device, error) {
	d, err := s.st.Device(ctx, hostname)
	if err != nil {
		return model.Device{}, storeErr(err, ObjDevice, hostname)
	}
	return d, nil
}

// CanSeeDictionary is the rule for device dictionaries: admins only.
func (c Caller) CanSeeDictionary() bool { return c.IsAdmin() }

// Dictionary is a device's dictionary as get_dictionary answers it.
type Dictionary struct {
	Device model.Device
	// Settings are, when asked for, the settings the driver gets: the
	// device type's admin overrides, then the dictionary's values.
	Settings map[string]any
}

// DeviceDictionary is a device's dictionary (admins only; a device with
// none is KindNotFound, ReasonNoDictionary); render adds the merged
// settings (a dictionary that does not parse is KindInvalid,
// ReasonDictionary).
func (s *Service) DeviceDictionary(ctx context.Context, c Caller, hostname string, render bool) (Dictionary, error) {
	if err := c.NeedAdmin(); err != nil {
		return Dictionary{}, err
	}
	d, err := s.Device(ctx, c, hostname)
	if err != nil {
		return Dictionary{}, err
	}
	if strings.TrimSpace(d.Dictionary) == "" {
		return Dictionary{}, &Error{Kind: KindNotFound, Reason: ReasonNoDictionary, Object: ObjDevice, Name: d.Hostname,
			Msg: fmt.Sprintf("device %q has no dictionary", d.Hostname)}
	}
	out := Dictionary{Device: d}
	if !render {
		return out, nil
	}
	dt, err := s.st.DeviceType(ctx, d.DeviceType)
	if err != nil {
		return Dictionary{}, storeErr(err, ObjDeviceType, d.DeviceType)
	}
	dd, err := devdict.Parse([]byte(d.Dictionary))
	if err != nil {
		return Dictionary{}, dictErr(err)
	}
	out.Settings = devdict.Merge(dt.Settings, dd.Values)
	return out, nil
}

func dictErr(err error) *Error {
	return &Error{Kind: KindInvalid, Reason: ReasonDictionary, Object: ObjDevice, Msg: "invalid device dictionary: " + err.Error(), Err: err}
}

// CheckDictionary refuses a device dictionary the dispatcher cannot read
// (KindInvalid, ReasonDictionary); "" is fine (the type's settings alone).
func CheckDictionary(text string) error {
	if text == "" {
		return nil
	}
	if _, err := devdict.Parse([]byte(text)); err != nil {
		return dictErr(err)
	}
	return nil
}

// SetDictionary stores a device's dictionary (admins; checked first).
func (s *Service) SetDictionary(ctx context.Context, c Caller, hostname, text string) error {
	if err := c.NeedAdmin(); err != nil {
		return err
	}
	if _, err := devdict.Parse([]byte(text)); err != nil {
		return dictErr(err)
	}
	_, err := s.st.UpdateDevice(ctx, hostname, func(d *model.Device) error { d.Dictionary = text; return nil })
	return storeErr(err, ObjDevice, hostname)
}

// noObject is the error for a reference to an object that does not exist.
func noObject(obj Object, name string) *Error {
	e := notFound(obj, name)
	e.Reason = ReasonNoObject
	e.Msg = fmt.Sprintf("%s %q does not exist", obj, name)
	return e
}

// needDeviceType and needWorker check a reference (ReasonNoObject).
func (s *Service) needDeviceType(ctx context.Context, name string) error {
	_, err := s.st.DeviceType(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return noObject(ObjDeviceType, name)
	}
	return storeErr(err, ObjDeviceType, name)
}

func (s *Service) needWorker(ctx context.Context, name string) error {
	_, err := s.st.Worker(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return noObject(ObjWorker, name)
	}
	return storeErr(err, ObjWorker, name)
}

// CreateDevice adds a device (admins): its dictionary must parse, its
// device type and worker (when named) exist (ReasonNoObject).
func (s *Service) CreateDevice(ctx context.Context, c Caller, d model.Device) (model.Device, error) {
	if err := c.NeedAdmin(); err != nil {
		return model.Device{}, err
	}
	if err := CheckDictionary(d.Dictionary); err != nil {
		return model.Device{}, err
	}
	if err := s.needDeviceType(ctx, d.DeviceType); err != nil {
		return model.Device{}, err
	}
	if d.Worker != "" {
		if err := s.needWorker(ctx, d.Worker); err != nil {
			return model.Device{}, err
		}
	}
	if err := s.st.CreateDevice(ctx, d); err != nil {
		return model.Device{}, storeErr(err, ObjDevice, d.Hostname)
	}
	s.log.Info("device created", "hostname", d.Hostname, "device_type", d.DeviceType, "by", c.Name(), "via", c.Via)
	return s.Device(ctx, c, d.Hostname)
}

// DeviceChange is a change of a device: nil fields are kept.
type DeviceChange struct {
	Description *string
	Worker      *string
	Dictionary  *string
	DeviceType  *string
	Tags        *[]string
}

func (ch DeviceChange) empty() bool {
	return ch.Description == nil && ch.Worker == nil && ch.Dictionary == nil && ch.DeviceType == nil && ch.Tags == nil
}

// UpdateDevice changes a device (admins): the dictionary must parse, the
// worker and device type named must exist (ReasonNoObject).
func (s *Service) UpdateDevice(ctx context.Context, c Caller, hostname string, ch DeviceChange) (model.Device, error) {
	if err := c.NeedAdmin(); err != nil {
		return model.Device{}, err
	}
	if ch.Dictionary != nil {
		if err := CheckDictionary(*ch.Dictionary); err != nil {
			return model.Device{}, err
		}
	}
	d, err := s.Device(ctx, c, hostname)
	if err != nil {
		return model.Device{}, err
	}
	if ch.Worker != nil && *ch.Worker != "" {
		if err := s.needWorker(ctx, *ch.Worker); err != nil {
			return model.Device{}, err
		}
	}
	if ch.DeviceType != nil {
		if err := s.needDeviceType(ctx, *ch.DeviceType); err != nil {
			return model.Device{}, err
		}
	}
	if ch.empty() {
		return d, nil
	}
	d, err = s.st.UpdateDevice(ctx, hostname, func(d *model.Device) error {
		set(&d.Description, ch.Description)
		set(&d.Worker, ch.Worker)
		set(&d.Dictionary, ch.Dictionary)
		set(&d.DeviceType, ch.DeviceType)
		set(&d.Tags, ch.Tags)
		return nil
	})
	if err != nil {
		return model.Device{}, storeErr(err, ObjDevice, hostname)
	}
	return d, nil
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// MaxHealthReason is the longest reason kept with a health change.
const MaxHealthReason = 1000

// SetDeviceHealth sets a device's health (admins), recording the caller
// and reason in its health history.
func (s *Service) SetDeviceHealth(ctx context.Context, c Caller, hostname string, h model.DeviceHealth, reason string) (model.Device, error) {
	if err := c.NeedAdmin(); err != nil {
		return model.Device{}, err
	}
	if len(reason) > MaxHealthReason {
		return model.Device{}, invalid("reason: at most %d bytes", MaxHealthReason)
	}
	d, err := s.st.SetDeviceHealthBy(ctx, hostname, h, c.Name(), reason)
	if err != nil {
		return model.Device{}, storeErr(err, ObjDevice, hostname)
	}
	s.log.Info("device health set", "hostname", hostname, "health", h, "by", c.Name(), "reason", reason, "via", c.Via)
	return d, nil
}

// DeviceHealthHistory is a device's health transitions, newest first.
func (s *Service) DeviceHealthHistory(ctx context.Context, c Caller, hostname string, limit int) ([]model.HealthChange, error) {
	hist, err := s.st.DeviceHealthHistory(ctx, hostname, limit)
	if err != nil {
		return nil, storeErr(err, ObjDevice, hostname)
	}
	return hist, nil
}

// TagDevice adds (or, with remove, removes) a tag of a device (admins;
// adding creates the tag when needed).
func (s *Service) TagDevice(ctx context.Context, c Caller, hostname, tag string, remove bool) error {
	if err := c.NeedAdmin(); err != nil {
		return err
	}
	if strings.TrimSpace(tag) == "" {
		return invalid("empty tag name")
	}
	_, err := s.st.UpdateDevice(ctx, hostname, func(d *model.Device) error {
		if remove {
			d.Tags = slices.DeleteFunc(d.Tags, func(t string) bool { return t == tag })
		} else if !slices.Contains(d.Tags, tag) {
			d.Tags = append(d.Tags, tag)
		}
		return nil
	})
	return storeErr(err, ObjDevice, hostname)
}
