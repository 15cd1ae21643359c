package workerserver

// Issue 21: the start entry of a multinode connection sub-job (LAVA's
// dynamic connection, connection: ssh): it has no device; as LAVA does, it
// runs with a minimised configuration of its host role's device (the ssh
// variables of the host device's dictionary: ssh_port, ssh_user,
// ssh_identity_file, ssh_options; no power commands), on the same worker,
// with the driver of its connection (ssh). The address it logs in to comes at run time from
// the host role's multinode message (boot parameters hostID/host_key).

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/lavalab/lavalab/core/devdict"
	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
	"github.com/lavalab/lavalab/core/workerproto"
)

// errNoHost: a job without a device that cannot run as a connection
// sub-job (it is not one, or its host role has no device).
var errNoHost = errors.New("no host device")

// connectionHost returns the device of a connection sub-job's host role
// and the sub-job's connection (its driver's device type).
func (s *Server) connectionHost(ctx context.Context, j model.Job) (model.Device, string, error) {
	facts, _, err := job.ReadSubJob([]byte(j.Definition))
	if err != nil || facts == nil || facts.Connection == "" {
		return model.Device{}, "", fmt.Errorf("%w: job %d has no device and is not a multinode connection sub-job", errNoHost, j.ID)
	}
	mn, ok := s.st.(store.Multinode)
	if !ok {
		return model.Device{}, "", fmt.Errorf("job %d: the store keeps no multinode groups", j.ID)
	}
	jobs, err := mn.GroupJobs(ctx, j.TargetGroup)
	if err != nil {
		return model.Device{}, "", fmt.Errorf("group of job %d: %w", j.ID, err)
	}
	for _, h := range jobs {
		if h.ActualDevice == "" {
			continue
		}
		if hf, _, err := job.ReadSubJob([]byte(h.Definition)); err == nil && hf != nil && hf.Role == facts.HostRole {
			dev, err := s.st.Device(ctx, h.ActualDevice)
			if err != nil {
				return model.Device{}, "", fmt.Errorf("device %q of the host role %s of job %d: %w", h.ActualDevice, facts.HostRole, j.ID, err)
			}
			return dev, facts.Connection, nil
		}
	}
	return model.Device{}, "", fmt.Errorf("%w: job %d: its host role %q has no device in group %s", errNoHost, j.ID, facts.HostRole, j.TargetGroup)
}

// connectionEntry builds the start entry of a connection sub-job: the
// driver of its connection, the settings recorded at scheduling (the
// connection's device-type settings when none were), the host device's
// name and its dictionary minimised (minimalDictionary).
func (s *Server) connectionEntry(ctx context.Context, j model.Job) (workerproto.StartJob, error) {
	dev, conn, err := s.connectionHost(ctx, j)
	if errors.Is(err, errNoHost) {
		// It can never start: end it rather than fail every poll.
		s.endJob(ctx, j.ID, "Configuration", err.Error())
		return workerproto.StartJob{}, fmt.Errorf("%v: %w", err, store.ErrConflict)
	}
	if err != nil {
		return workerproto.StartJob{}, err
	}
	dict, err := minimalDictionary(dev, conn)
	if err != nil {
		s.endJob(ctx, j.ID, "Configuration", fmt.Sprintf("connection sub-job %d: %v", j.ID, err))
		return workerproto.StartJob{}, fmt.Errorf("%v: %w", err, store.ErrConflict)
	}
	settings := j.Settings
	if settings == nil {
		if dt, err := s.st.DeviceType(ctx, conn); err == nil {
			settings = dt.Settings
		}
	}
	secret, hash := newJobToken()
	if err := s.wp.SetJobToken(ctx, j.ID, hash); err != nil {
		return workerproto.StartJob{}, err
	}
	s.authMu.Lock()
	delete(s.jobAuth, j.ID)
	s.authMu.Unlock()
	sj := workerproto.StartJob{ID: j.ID, Token: secret, Definition: j.Definition, Device: dev.Hostname, DeviceType: conn,
		Dictionary: dict, Settings: settings, DriverSHA256: j.DriverSHA256}
	if j.DriverSHA256 != "" && s.o.Driver != nil {
		if ref, ok := s.o.Driver(j.DriverSHA256); ok {
			sj.Driver = &ref
		}
	}
	return sj, nil
}

// connectionSettings are the settings of the host device's dictionary a
// connection sub-job keeps: how to log in over ssh and where the overlay
// goes. LAVA likewise gives a dynamic connection a minimised copy of its
// host device's configuration (Device.minimise_configuration: the deploy
// and boot methods, constants, timeouts), without its power and user
// commands: a guest that ends never powers off its host's board.
var connectionSettings = []string{"hostname", "ssh_host", "ssh_port", "ssh_user", "ssh_identity_file", "ssh_options",
	"lava_test_results_dir", "test_character_delay"}

// minimalDictionary is the dictionary of a connection sub-job: the ssh
// settings of its host device's dictionary, as a YAML dictionary of the
// connection's device type.
func minimalDictionary(host model.Device, conn string) (string, error) {
	keep := map[string]any{}
	if strings.TrimSpace(host.Dictionary) != "" {
		d, err := devdict.Parse([]byte(host.Dictionary))
		if err != nil {
			return "", fmt.Errorf("the dictionary of the host device %s: %w", host.Hostname, err)
		}
		for _, k := range connectionSettings {
			if v, ok := d.Values[k]; ok {
				keep[k] = v
			}
		}
	}
	b, err := yaml.Marshal(map[string]any{"extends": conn, "settings": keep})
	if err != nil {
		return "", fmt.Errorf("the dictionary of a connection to %s: %w", host.Hostname, err)
	}
	return string(b), nil
}
