package lab

import (
	"context"
	"fmt"
	"slices"

	"github.com/lavalab/lavalab/core/auth"
	"github.com/lavalab/lavalab/core/model"
	"github.com/lavalab/lavalab/core/store"
)

// ListWorkers lists every worker (anyone may; tokens are never stored in
// clear).
func (s *Service) ListWorkers(ctx context.Context, c Caller) ([]model.Worker, error) {
	ws, err := s.st.ListWorkers(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing workers: %w", err)
	}
	return ws, nil
}

// Worker is one worker.
func (s *Service) Worker(ctx context.Context, c Caller, hostname string) (model.Worker, error) {
	w, err := s.st.Worker(ctx, hostname)
	if err != nil {
		return model.Worker{}, storeErr(err, ObjWorker, hostname)
	}
	return w, nil
}

// WorkerDevices are the hostnames of a worker's devices.
func (s *Service) WorkerDevices(ctx context.Context, c Caller, hostname string) ([]string, error) {
	devs, err := s.st.ListDevices(ctx, store.DeviceFilter{Worker: hostname})
	if err != nil {
		return nil, fmt.Errorf("devices of worker %q: %w", hostname, err)
	}
	names := []string{}
	for _, d := range devs {
		names = append(names, d.Hostname)
	}
	return names, nil
}

// CreateWorker adds a worker (admins) with a new token, and returns it as
// stored with the token's secret (shown once: only its hash is kept).
func (s *Service) CreateWorker(ctx context.Context, c Caller, w model.Worker) (model.Worker, string, error) {
	if err := c.NeedAdmin(); err != nil {
		return model.Worker{}, "", err
	}
	if w.JobLimit < 0 {
		return model.Worker{}, "", invalid("job_limit must be >= 0")
	}
	secret, hash := auth.NewWorkerToken()
	w.TokenHash = hash
	if err := s.st.CreateWorker(ctx, w); err != nil {
		return model.Worker{}, "", storeErr(err, ObjWorker, w.Hostname)
	}
	s.log.Info("worker created", "hostname", w.Hostname, "by", c.Name(), "via", c.Via)
	w, err := s.Worker(ctx, c, w.Hostname)
	return w, secret, err
}

// UpdateWorker changes a worker (admins) with fn; its job limit must stay
// >= 0.
func (s *Service) UpdateWorker(ctx context.Context, c Caller, hostname string, fn func(*model.Worker)) (model.Worker, error) {
	if err := c.NeedAdmin(); err != nil {
		return model.Worker{}, err
	}
	var bad error
	w, err := s.st.UpdateWorker(ctx, hostname, func(w *model.Worker) error {
		fn(w)
		if w.JobLimit < 0 {
			bad = invalid("job_limit must be >= 0")
			return errRefused
		}
		return nil
	})
	if bad != nil {
		return model.Worker{}, bad
	}
	if err != nil {
		return model.Worker{}, storeErr(err, ObjWorker, hostname)
	}
	return w, nil
}

// RotateWorkerToken gives a worker a new token (admins) and returns the
// worker with the new secret.
func (s *Service) RotateWorkerToken(ctx context.Context, c Caller, hostname string) (model.Worker, string, error) {
	if err := c.NeedAdmin(); err != nil {
		return model.Worker{}, "", err
	}
	secret, hash := auth.NewWorkerToken()
	if err := s.st.SetWorkerToken(ctx, hostname, hash); err != nil {
		return model.Worker{}, "", storeErr(err, ObjWorker, hostname)
	}
	s.log.Info("worker token replaced", "hostname", hostname, "by", c.Name(), "via", c.Via)
	w, err := s.Worker(ctx, c, hostname)
	return w, secret, err
}

// ListTags lists every tag.
func (s *Service) ListTags(ctx context.Context, c Caller) ([]model.Tag, error) {
	tags, err := s.st.ListTags(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing tags: %w", err)
	}
	return tags, nil
}

// Tag is one tag with the hostnames of the devices (retired too) that
// have it.
func (s *Service) Tag(ctx context.Context, c Caller, name string) (model.Tag, []string, error) {
	tags, err := s.ListTags(ctx, c)
	if err != nil {
		return model.Tag{}, nil, err
	}
	i := slices.IndexFunc(tags, func(t model.Tag) bool { return t.Name == name })
	if i < 0 {
		return model.Tag{}, nil, notFound(ObjTag, name)
	}
	devs, err := s.st.ListDevices(ctx, store.DeviceFilter{IncludeRetired: true})
	if err != nil {
		return model.Tag{}, nil, fmt.Errorf("listing devices: %w", err)
	}
	names := []string{}
	for _, d := range devs {
		if slices.Contains(d.Tags, name) {
			names = append(names, d.Hostname)
		}
	}
	return tags[i], names, nil
}

// CreateTag adds a tag (admins).
func (s *Service) CreateTag(ctx context.Context, c Caller, t model.Tag) error {
	if err := c.NeedAdmin(); err != nil {
		return err
	}
	return storeErr(s.st.CreateTag(ctx, t), ObjTag, t.Name)
}

// DeleteTag removes a tag (admins).
func (s *Service) DeleteTag(ctx context.Context, c Caller, name string) error {
	if err := c.NeedAdmin(); err != nil {
		return err
	}
	return storeErr(s.st.DeleteTag(ctx, name), ObjTag, name)
}
