package lab

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/lavalab/lavalab/core/job"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// Problems lists why a valid definition cannot run here: what the lab
// lacks (labProblems), then every deploy `to` and boot `method` the active
// driver of its device type does not declare (methodProblems).
func (s *Service) Problems(ctx context.Context, def *job.Definition) ([]job.Issue, error) {
	out, err := s.labProblems(ctx, def)
	if err != nil {
		return nil, err
	}
	return append(out, s.methodProblems(def)...), nil
}

// methodProblems applies job.CheckMethods with the active drivers: nothing
// is checked without DriverFor, or for a device type no active driver
// serves (the job waits for one).
func (s *Service) methodProblems(def *job.Definition) []job.Issue {
	if s.driverFor == nil {
		return nil
	}
	return job.CheckMethods(def, s.driverFor)
}

// labProblems lists why a valid definition cannot run here (missing device
// types, devices, tags or groups).
func (s *Service) labProblems(ctx context.Context, def *job.Definition) ([]job.Issue, error) {
	out, err := s.nameProblems(ctx, def)
	if err != nil || len(out) > 0 {
		return out, err
	}
	if def.IsMultinode() {
		return s.multinodeProblems(ctx, def)
	}
	msg, err := s.available(ctx, def.DeviceType, def.Tags, 1)
	if err != nil {
		return nil, err
	}
	if msg != "" {
		out = append(out, job.Issue{Path: "device_type", Message: msg})
	}
	return out, nil
}

// nameProblems lists the tags and groups a definition names that do not
// exist.
func (s *Service) nameProblems(ctx context.Context, def *job.Definition) ([]job.Issue, error) {
	var out []job.Issue
	if len(def.Tags) > 0 || def.IsMultinode() {
		tags, err := s.st.ListTags(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing tags: %w", err)
		}
		known := map[string]bool{}
		for _, t := range tags {
			known[t.Name] = true
		}
		check := func(path string, ts []string) {
			for _, t := range ts {
				if !known[t] {
					out = append(out, job.Issue{Path: path, Message: fmt.Sprintf("Device tag %q does not exist.", t)})
				}
			}
		}
		check("tags", def.Tags)
		for _, r := range def.Roles {
			check("protocols.lava-multinode.roles."+r.Name+".tags", r.Tags)
		}
	}
	if def.Visibility.Kind == model.VisibilityGroup {
		groups, err := s.st.ListGroups(ctx)
		if err != nil {
			return nil, fmt.Errorf("listing groups: %w", err)
		}
		for _, g := range def.Visibility.Groups {
			if !slices.ContainsFunc(groups, func(x model.Group) bool { return x.Name == g }) {
				out = append(out, job.Issue{Path: "visibility.group", Message: fmt.Sprintf("group %q does not exist", g)})
			}
		}
	}
	return out, nil
}

// multinodeProblems lists why the roles of a multinode definition cannot
// have their devices.
func (s *Service) multinodeProblems(ctx context.Context, def *job.Definition) ([]job.Issue, error) {
	var out []job.Issue
	need := map[string]int{}
	var types []string
	for _, r := range def.Roles {
		path := "protocols.lava-multinode.roles." + r.Name
		if r.DeviceType == "" {
			continue // a connection role runs on its host role's worker, without a device (issue 21)
		}
		msg, err := s.available(ctx, r.DeviceType, r.Tags, max(r.Count, 1))
		if err != nil {
			return nil, err
		}
		if msg != "" {
			out = append(out, job.Issue{Path: path + ".device_type", Message: fmt.Sprintf("role %q: %s", r.Name, msg)})
			continue
		}
		if need[r.DeviceType] == 0 {
			types = append(types, r.DeviceType)
		}
		need[r.DeviceType] += max(r.Count, 1)
	}
	if len(out) > 0 {
		return out, nil
	}
	// Roles of one type share its devices: together they need the sum.
	for _, dt := range types {
		msg, err := s.available(ctx, dt, nil, need[dt])
		if err != nil {
			return nil, err
		}
		if msg != "" {
			out = append(out, job.Issue{Path: "protocols.lava-multinode.roles", Message: msg})
		}
	}
	return out, nil
}

// available says why count devices of the type with all the tags cannot
// be had ("" when they can): the type must exist and have enough devices
// that are not Retired.
func (s *Service) available(ctx context.Context, deviceType string, tags []string, count int) (string, error) {
	key := availKey(deviceType, tags, count)
	if s.avail.ok(key) {
		return "", nil
	}
	msg, err := s.checkAvailable(ctx, deviceType, tags, count)
	if err == nil && msg == "" {
		s.avail.remember(key)
	}
	return msg, err
}

// checkAvailable answers available from the store.
func (s *Service) checkAvailable(ctx context.Context, deviceType string, tags []string, count int) (string, error) {
	if _, err := s.st.DeviceType(ctx, deviceType); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Sprintf("Device type %q does not exist.", deviceType), nil
		}
		return "", fmt.Errorf("device type %q: %w", deviceType, err)
	}
	devs, err := s.st.ListDevices(ctx, store.DeviceFilter{DeviceType: deviceType})
	if err != nil {
		return "", fmt.Errorf("devices of type %q: %w", deviceType, err)
	}
	n, tagged := 0, 0
	for _, d := range devs {
		if d.Health == model.DeviceRetired {
			continue
		}
		n++
		if hasAll(d.Tags, tags) {
			tagged++
		}
	}
	switch {
	case n == 0:
		return fmt.Sprintf("No devices of type %s are available.", deviceType), nil
	case tagged == 0:
		return fmt.Sprintf("No devices of type %s are available which have all of the tags '%s'.", deviceType, strings.Join(tags, ", ")), nil
	case tagged < count && len(tags) == 0:
		return fmt.Sprintf("Not enough devices of type %s are available: %d needed, %d exist.", deviceType, count, tagged), nil
	case tagged < count:
		return fmt.Sprintf("Not enough devices of type %s are available: %d needed, %d have all of the tags.", deviceType, count, tagged), nil
	}
	return "", nil
}

func hasAll(have, want []string) bool {
	for _, t := range want {
		if !slices.Contains(have, t) {
			return false
		}
	}
	return true
}

// JobsOf makes the jobs to store for a definition.
func JobsOf(def *job.Definition, submitter string) []model.Job {
	base := model.Job{
		Description:   def.JobName,
		Priority:      def.Priority,
		Visibility:    def.Visibility.Kind,
		ViewingGroups: slices.Clone(def.Visibility.Groups),
		Submitter:     submitter,
		QueueTimeout:  def.Timeouts.Queue,
		// The store would parse the definition again for it.
		Metadata: def.FlatMetadata(),
	}
	if !def.IsMultinode() {
		j := base
		j.Definition = string(def.Text)
		j.RequestedDeviceType = def.DeviceType
		j.Tags = slices.Clone(def.Tags)
		return []model.Job{j}
	}
	var out []model.Job
	for _, s := range def.Split() {
		j := base
		j.Metadata = maps.Clone(base.Metadata)
		j.Definition = string(s.Text)
		j.RequestedDeviceType = s.DeviceType
		j.Tags = slices.Clone(s.Tags)
		out = append(out, j)
	}
	return out
}
