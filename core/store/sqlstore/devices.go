package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// ---- device types ----

const deviceTypeCols = `name, description, health_check, health_frequency, health_denominator, health_disabled, aliases, settings, display, driver, template`

func scanDeviceType(sc interface{ Scan(...any) error }) (model.DeviceType, error) {
	var dt model.DeviceType
	var aliases, settings string
	if err := sc.Scan(&dt.Name, &dt.Description, &dt.HealthCheck, &dt.HealthFrequency, &dt.HealthDenominator,
		&dt.HealthDisabled, &aliases, &settings, &dt.Display, &dt.Driver, &dt.Template); err != nil {
		return dt, err
	}
	if err := json.Unmarshal([]byte(aliases), &dt.Aliases); err != nil {
		return dt, fmt.Errorf("device type %q: aliases: %w", dt.Name, err)
	}
	if err := json.Unmarshal([]byte(settings), &dt.Settings); err != nil {
		return dt, fmt.Errorf("device type %q: settings: %w", dt.Name, err)
	}
	return dt, nil
}

func deviceTypeArgs(dt model.DeviceType) ([]any, error) {
	if strings.TrimSpace(dt.Name) == "" {
		return nil, invalid("device type: empty name")
	}
	if dt.HealthFrequency < 0 {
		return nil, invalid("device type %q: negative health frequency", dt.Name)
	}
	switch dt.HealthDenominator {
	case "":
		dt.HealthDenominator = "hours"
	case "hours", "jobs":
	default:
		return nil, invalid("device type %q: health denominator %q (want hours or jobs)", dt.Name, dt.HealthDenominator)
	}
	if dt.Aliases == nil {
		dt.Aliases = []string{}
	}
	if dt.Settings == nil {
		dt.Settings = map[string]any{}
	}
	aliases, err := json.Marshal(dt.Aliases)
	if err != nil {
		return nil, invalid("device type %q: aliases: %v", dt.Name, err)
	}
	settings, err := json.Marshal(dt.Settings)
	if err != nil {
		return nil, invalid("device type %q: settings: %v", dt.Name, err)
	}
	return []any{dt.Name, dt.Description, dt.HealthCheck, dt.HealthFrequency, dt.HealthDenominator,
		dt.HealthDisabled, string(aliases), string(settings), dt.Display, dt.Driver, dt.Template}, nil
}

// CreateDeviceType stores a device type (ErrExists if the name is taken).
func (s *DB) CreateDeviceType(ctx context.Context, dt model.DeviceType) error {
	a, err := deviceTypeArgs(dt)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(t *tx) error {
		_, err := t.ExecContext(ctx, `INSERT INTO device_types (`+deviceTypeCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, a...)
		return s.wrap(err, "creating device type %q", dt.Name)
	})
}

// DeviceType returns one device type.
func (s *DB) DeviceType(ctx context.Context, name string) (model.DeviceType, error) {
	dt, err := scanDeviceType(s.rq.QueryRowContext(ctx, `SELECT `+deviceTypeCols+` FROM device_types WHERE name = $1`, name))
	return dt, s.wrap(err, "device type %q", name)
}

func (s *DB) deviceTypes(ctx context.Context, q querier, where string, a ...any) ([]model.DeviceType, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+deviceTypeCols+` FROM device_types `+where+` ORDER BY name`, a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []model.DeviceType
	for rows.Next() {
		dt, err := scanDeviceType(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, dt)
	}
	return out, rows.Err()
}

// ListDeviceTypes returns every device type, by name.
func (s *DB) ListDeviceTypes(ctx context.Context) ([]model.DeviceType, error) {
	out, err := s.deviceTypes(ctx, s.rq, "")
	return out, s.wrap(err, "listing device types")
}

// UpdateDeviceType applies fn to the stored device type in one transaction.
func (s *DB) UpdateDeviceType(ctx context.Context, name string, fn func(*model.DeviceType) error) (model.DeviceType, error) {
	var dt model.DeviceType
	err := s.inTx(ctx, func(t *tx) error {
		var err error
		dt, err = scanDeviceType(t.QueryRowContext(ctx, `SELECT `+deviceTypeCols+` FROM device_types WHERE name = $1`+s.d.ForUpdate, name))
		if err != nil {
			return s.wrap(err, "device type %q", name)
		}
		if err := fn(&dt); err != nil {
			return err
		}
		dt.Name = name
		a, err := deviceTypeArgs(dt)
		if err != nil {
			return err
		}
		_, err = t.ExecContext(ctx, `UPDATE device_types SET description = $2, health_check = $3, health_frequency = $4,
health_denominator = $5, health_disabled = $6, aliases = $7, settings = $8, display = $9,
driver = $10, template = $11 WHERE name = $1`, a...)
		if err != nil {
			return s.wrap(err, "updating device type %q", name)
		}
		t.emit(store.TopicDeviceFree, name)
		return nil
	})
	if err == nil && dt.HealthDenominator == "" {
		dt.HealthDenominator = "hours"
	}
	return dt, err
}

// ---- tags ----

// CreateTag stores a tag (ErrExists if the name is taken).
func (s *DB) CreateTag(ctx context.Context, tg model.Tag) error {
	if strings.TrimSpace(tg.Name) == "" {
		return invalid("tag: empty name")
	}
	return s.inTx(ctx, func(t *tx) error {
		_, err := t.ExecContext(ctx, `INSERT INTO tags (name, description) VALUES ($1, $2)`, tg.Name, tg.Description)
		return s.wrap(err, "creating tag %q", tg.Name)
	})
}

// ListTags returns every tag, by name.
func (s *DB) ListTags(ctx context.Context) ([]model.Tag, error) {
	rows, err := s.rq.QueryContext(ctx, `SELECT name, description FROM tags ORDER BY name`)
	if err != nil {
		return nil, s.wrap(err, "listing tags")
	}
	defer rows.Close()
	var out []model.Tag
	for rows.Next() {
		var tg model.Tag
		if err := rows.Scan(&tg.Name, &tg.Description); err != nil {
			return nil, s.wrap(err, "listing tags")
		}
		out = append(out, tg)
	}
	return out, s.wrap(rows.Err(), "listing tags")
}

// DeleteTag removes a tag, and it from every device.
func (s *DB) DeleteTag(ctx context.Context, name string) error {
	return s.inTx(ctx, func(t *tx) error {
		if _, err := t.ExecContext(ctx, `DELETE FROM device_tags WHERE tag = $1`, name); err != nil {
			return s.wrap(err, "deleting tag %q", name)
		}
		res, err := t.ExecContext(ctx, `DELETE FROM tags WHERE name = $1`, name)
		if err != nil {
			return s.wrap(err, "deleting tag %q", name)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("tag %q", name)
		}
		return nil
	})
}

// ---- devices ----

const deviceCols = `d.hostname, d.device_type, d.description, COALESCE(d.worker, ''), d.state, d.health, d.dictionary,
COALESCE(d.current_job, 0), d.last_health_report`

func scanDevice(sc interface{ Scan(...any) error }) (model.Device, error) {
	var d model.Device
	var report int64
	err := sc.Scan(&d.Hostname, &d.DeviceType, &d.Description, &d.Worker, &d.State, &d.Health, &d.Dictionary, &d.CurrentJob, &report)
	d.LastHealthReport = fromMicros(report)
	return d, err
}

// deviceTags fills the tags of the devices.
func deviceTags(ctx context.Context, q querier, devs []model.Device) error {
	if len(devs) == 0 {
		return nil
	}
	idx := make(map[string]int, len(devs))
	for i := range devs {
		idx[devs[i].Hostname] = i
	}
	var rows interface {
		Next() bool
		Scan(...any) error
		Close() error
		Err() error
	}
	var err error
	if len(devs) == 1 {
		rows, err = q.QueryContext(ctx, `SELECT device, tag FROM device_tags WHERE device = $1 ORDER BY tag`, devs[0].Hostname)
	} else {
		rows, err = q.QueryContext(ctx, `SELECT device, tag FROM device_tags ORDER BY device, tag`)
	}
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var d, tg string
		if err := rows.Scan(&d, &tg); err != nil {
			return err
		}
		if i, ok := idx[d]; ok {
			devs[i].Tags = append(devs[i].Tags, tg)
		}
	}
	return rows.Err()
}

func setDeviceTags(ctx context.Context, t *tx, hostname string, tags []string) error {
	if _, err := t.ExecContext(ctx, `DELETE FROM device_tags WHERE device = $1`, hostname); err != nil {
		return err
	}
	tags = slices.Clone(tags)
	slices.Sort(tags)
	for _, tg := range slices.Compact(tags) {
		if strings.TrimSpace(tg) == "" {
			return invalid("device %q: empty tag", hostname)
		}
		if _, err := t.ExecContext(ctx, `INSERT INTO tags (name) VALUES ($1) ON CONFLICT DO NOTHING`, tg); err != nil {
			return err
		}
		if _, err := t.ExecContext(ctx, `INSERT INTO device_tags (device, tag) VALUES ($1, $2)`, hostname, tg); err != nil {
			return err
		}
	}
	return nil
}

// checkRefs fails with ErrInvalid when the type or worker does not exist.
func (s *DB) checkRefs(ctx context.Context, t *tx, d model.Device) error {
	var n int
	if err := t.QueryRowContext(ctx, `SELECT COUNT(*) FROM device_types WHERE name = $1`, d.DeviceType).Scan(&n); err != nil {
		return s.wrap(err, "device %q", d.Hostname)
	}
	if n == 0 {
		return invalid("device %q: no device type %q", d.Hostname, d.DeviceType)
	}
	if d.Worker == "" {
		return nil
	}
	if err := t.QueryRowContext(ctx, `SELECT COUNT(*) FROM workers WHERE hostname = $1`, d.Worker).Scan(&n); err != nil {
		return s.wrap(err, "device %q", d.Hostname)
	}
	if n == 0 {
		return invalid("device %q: no worker %q", d.Hostname, d.Worker)
	}
	return nil
}

// CreateDevice stores a device, Idle, with the health given.
func (s *DB) CreateDevice(ctx context.Context, d model.Device) error {
	if strings.TrimSpace(d.Hostname) == "" {
		return invalid("device: empty hostname")
	}
	if d.Health < model.DeviceGood || d.Health > model.DeviceRetired {
		return invalid("device %q: health %d", d.Hostname, d.Health)
	}
	return s.inTx(ctx, func(t *tx) error {
		if err := s.checkRefs(ctx, t, d); err != nil {
			return err
		}
		_, err := t.ExecContext(ctx, `INSERT INTO devices (hostname, device_type, description, worker, state, health, dictionary)
VALUES ($1, $2, $3, $4, $5, $6, $7)`, d.Hostname, d.DeviceType, d.Description, nullStr(d.Worker), model.DeviceIdle, d.Health, d.Dictionary)
		if err != nil {
			return s.wrap(err, "creating device %q", d.Hostname)
		}
		if err := setDeviceTags(ctx, t, d.Hostname, d.Tags); err != nil {
			return s.wrap(err, "tagging device %q", d.Hostname)
		}
		t.emit(store.TopicDeviceFree, d.Hostname)
		return nil
	})
}

func (s *DB) device(ctx context.Context, q querier, hostname, lock string) (model.Device, error) {
	d, err := scanDevice(q.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM devices d WHERE d.hostname = $1`+lock, hostname))
	if err != nil {
		return d, s.wrap(err, "device %q", hostname)
	}
	devs := []model.Device{d}
	if err := deviceTags(ctx, q, devs); err != nil {
		return d, s.wrap(err, "tags of device %q", hostname)
	}
	return devs[0], nil
}

// Device returns one device with its tags.
func (s *DB) Device(ctx context.Context, hostname string) (model.Device, error) {
	return s.device(ctx, s.rq, hostname, "")
}

// ListDevices returns the devices the filter selects, by hostname.
func (s *DB) ListDevices(ctx context.Context, f store.DeviceFilter) ([]model.Device, error) {
	var a args
	var where []string
	if f.DeviceType != "" {
		where = append(where, "d.device_type = "+a.add(f.DeviceType))
	}
	if f.Worker != "" {
		where = append(where, "d.worker = "+a.add(f.Worker))
	}
	if !f.IncludeRetired {
		where = append(where, "d.health <> "+a.add(int(model.DeviceRetired)))
	}
	q := `SELECT ` + deviceCols + ` FROM devices d`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	devs, err := s.scanDevices(ctx, s.rq, q+" ORDER BY d.hostname", a...)
	return devs, s.wrap(err, "listing devices")
}

func (s *DB) scanDevices(ctx context.Context, q querier, query string, a ...any) ([]model.Device, error) {
	rows, err := q.QueryContext(ctx, query, a...)
	if err != nil {
		return nil, err
	}
	var out []model.Device
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, deviceTags(ctx, q, out)
}

// UpdateDevice applies fn in one transaction; only Description, Worker,
// Dictionary, Tags and DeviceType are kept from fn's changes.
func (s *DB) UpdateDevice(ctx context.Context, hostname string, fn func(*model.Device) error) (model.Device, error) {
	var d model.Device
	err := s.inTx(ctx, func(t *tx) error {
		old, err := s.device(ctx, t, hostname, s.d.ForUpdate)
		if err != nil {
			return err
		}
		d = old
		d.Tags = slices.Clone(old.Tags)
		if err := fn(&d); err != nil {
			return err
		}
		d.Hostname, d.State, d.Health, d.CurrentJob, d.LastHealthReport = old.Hostname, old.State, old.Health, old.CurrentJob, old.LastHealthReport
		if err := s.checkRefs(ctx, t, d); err != nil {
			return err
		}
		if _, err := t.ExecContext(ctx, `UPDATE devices SET description = $1, worker = $2, dictionary = $3, device_type = $4 WHERE hostname = $5`,
			d.Description, nullStr(d.Worker), d.Dictionary, d.DeviceType, hostname); err != nil {
			return s.wrap(err, "updating device %q", hostname)
		}
		if !slices.Equal(sortedCopy(old.Tags), sortedCopy(d.Tags)) {
			if err := setDeviceTags(ctx, t, hostname, d.Tags); err != nil {
				return s.wrap(err, "tagging device %q", hostname)
			}
		}
		d.Tags = sortedCopy(d.Tags)
		if d.State == model.DeviceIdle && (d.Worker != old.Worker || d.DeviceType != old.DeviceType || !slices.Equal(old.Tags, d.Tags)) {
			t.emit(store.TopicDeviceFree, hostname)
		}
		return nil
	})
	return d, err
}

func sortedCopy(v []string) []string {
	c := slices.Clone(v)
	slices.Sort(c)
	return slices.Compact(c)
}

// SetDeviceHealth is the admin's health change; retiring a device cancels
// its job.
func (s *DB) SetDeviceHealth(ctx context.Context, hostname string, h model.DeviceHealth) (model.Device, error) {
	return s.SetDeviceHealthBy(ctx, hostname, h, "", "")
}

// SetDeviceHealthBy is SetDeviceHealth recording who and why in the
// device's health history.
func (s *DB) SetDeviceHealthBy(ctx context.Context, hostname string, h model.DeviceHealth, actor, reason string) (model.Device, error) {
	if h < model.DeviceGood || h > model.DeviceRetired {
		return model.Device{}, invalid("device %q: health %d", hostname, h)
	}
	var d model.Device
	err := s.inTx(ctx, func(t *tx) error {
		// The job first, then the device: the order every transaction
		// takes its row locks in.
		old, err := s.device(ctx, t, hostname, "")
		if err != nil {
			return err
		}
		if h == model.DeviceRetired && old.CurrentJob != 0 {
			if _, err := s.cancelJob(ctx, t, old.CurrentJob); err != nil && !isConflict(err) {
				return err
			}
		}
		if _, err := t.ExecContext(ctx, `UPDATE devices SET health = $1 WHERE hostname = $2`, h, hostname); err != nil {
			return s.wrap(err, "setting the health of device %q", hostname)
		}
		if err := s.noteHealth(ctx, t, model.HealthChange{Device: hostname, From: old.Health, To: h,
			Cause: model.HealthCauseAdmin, Actor: actor, Reason: reason}); err != nil {
			return err
		}
		d, err = s.device(ctx, t, hostname, "")
		if err != nil {
			return err
		}
		if d.State == model.DeviceIdle && (h == model.DeviceGood || h == model.DeviceUnknown || h == model.DeviceLooping) {
			t.emit(store.TopicDeviceFree, hostname)
		}
		return nil
	})
	return d, err
}
