package lavarpc

import (
	"context"

	"github.com/lavalab/lavalab/core/model"
)

var workerMethods = []method{
	{name: "scheduler.workers.list", sig: []string{"array", "boolean"}, min: 0, max: 1,
		help: "list(show_all=False): worker hostnames (retired ones only with show_all).",
		fn:   (*Server).workersList},
	{name: "scheduler.workers.show", sig: []string{"struct", "string"}, min: 1, max: 1,
		help: "Details of a worker (its token is never shown: only its hash is stored).",
		fn:   (*Server).workersShow},
	{name: "scheduler.workers.add", sig: []string{"nil", "string", "string", "boolean"}, min: 1, max: 3,
		help: "add(hostname, description=None, disabled=False); give the worker a token with `lava-server worker token HOSTNAME`.",
		fn:   (*Server).workersAdd},
	{name: "scheduler.workers.update", sig: []string{"nil", "string", "string", "string", "int"}, min: 1, max: 4,
		help: "update(hostname, description=None, health=None (ACTIVE|MAINTENANCE|RETIRED), job_limit=None).",
		fn:   (*Server).workersUpdate},
}

var tagMethods = []method{
	{name: "scheduler.tags.list", sig: []string{"array"}, min: 0, max: 0,
		help: "Every tag: [{name, description}].",
		fn:   (*Server).tagsList},
	{name: "scheduler.tags.show", sig: []string{"struct", "string"}, min: 1, max: 1,
		help: "show(name) → {name, description, devices}.",
		fn:   (*Server).tagsShow},
	{name: "scheduler.tags.add", sig: []string{"nil", "string", "string"}, min: 1, max: 2,
		help: "add(name, description=None).",
		fn:   (*Server).tagsAdd},
	{name: "scheduler.tags.delete", sig: []string{"nil", "string"}, min: 1, max: 1,
		help: "delete(name).",
		fn:   (*Server).tagsDelete},
}

func parseWorkerHealth(s string) (model.WorkerHealth, error) {
	h, err := model.ParseWorkerHealth(s)
	if err != nil {
		return 0, Faultf(400, "Invalid health '%s'", s)
	}
	return h, nil
}

func (s *Server) workersList(ctx context.Context, c *Caller, a args) (any, error) {
	all, err := a.optBool(0, false)
	if err != nil {
		return nil, err
	}
	ws, err := s.lab.ListWorkers(ctx, *c)
	if err != nil {
		return nil, err
	}
	out := []any{}
	for _, w := range ws {
		if all || w.Health != model.WorkerRetired {
			out = append(out, w.Hostname)
		}
	}
	return out, nil
}

func (s *Server) workersShow(ctx context.Context, c *Caller, a args) (any, error) {
	h, err := a.str(0)
	if err != nil {
		return nil, err
	}
	w, err := s.lab.Worker(ctx, *c, h)
	if err != nil {
		return nil, err
	}
	names, err := s.lab.WorkerDevices(ctx, *c, h)
	if err != nil {
		return nil, err
	}
	return map[string]any{"hostname": w.Hostname, "description": w.Description, "state": w.State.String(),
		"health": w.Health.String(), "devices": nonNil(names), "last_ping": timeOrNil(w.LastPing),
		"job_limit": w.JobLimit, "version": strOrNil(w.Version),
		"default_config": true, "default_env": true, "default_env_dut": true}, nil
}

func (s *Server) workersAdd(ctx context.Context, c *Caller, a args) (any, error) {
	if err := c.NeedAdmin(); err != nil {
		return nil, err
	}
	w := model.Worker{State: model.WorkerOffline}
	var err error
	if w.Hostname, err = a.str(0); err != nil {
		return nil, err
	}
	if w.Description, err = a.optStr(1, ""); err != nil {
		return nil, err
	}
	disabled, err := a.optBool(2, false)
	if err != nil {
		return nil, err
	}
	if disabled {
		w.Health = model.WorkerMaintenance
	}
	// The token's secret is not answered: nobody knows it until the admin
	// makes a new one.
	_, _, err = s.lab.CreateWorker(ctx, *c, w)
	return nil, err
}

func (s *Server) workersUpdate(ctx context.Context, c *Caller, a args) (any, error) {
	if err := c.NeedAdmin(); err != nil {
		return nil, err
	}
	h, err := a.str(0)
	if err != nil {
		return nil, err
	}
	desc, err := a.optStrPtr(1)
	if err != nil {
		return nil, err
	}
	health, err := a.optStrPtr(2)
	if err != nil {
		return nil, err
	}
	var hv model.WorkerHealth
	if health != nil {
		if hv, err = parseWorkerHealth(*health); err != nil {
			return nil, err
		}
	}
	limit, err := a.optIntPtr(3)
	if err != nil {
		return nil, err
	}
	_, err = s.lab.UpdateWorker(ctx, *c, h, func(w *model.Worker) {
		if desc != nil {
			w.Description = *desc
		}
		if health != nil {
			w.Health = hv
		}
		if limit != nil {
			w.JobLimit = int(*limit)
		}
	})
	return nil, err
}

func (s *Server) tagsList(ctx context.Context, c *Caller, a args) (any, error) {
	tags, err := s.lab.ListTags(ctx, *c)
	if err != nil {
		return nil, err
	}
	out := []any{}
	for _, t := range tags {
		out = append(out, map[string]any{"name": t.Name, "description": strOrNil(t.Description)})
	}
	return out, nil
}

func (s *Server) tagsShow(ctx context.Context, c *Caller, a args) (any, error) {
	n, err := a.str(0)
	if err != nil {
		return nil, err
	}
	t, devs, err := s.lab.Tag(ctx, *c, n)
	if err != nil {
		return nil, err
	}
	return map[string]any{"name": n, "description": strOrNil(t.Description), "devices": nonNil(devs)}, nil
}

func (s *Server) tagsAdd(ctx context.Context, c *Caller, a args) (any, error) {
	if err := c.NeedAdmin(); err != nil {
		return nil, err
	}
	var t model.Tag
	var err error
	if t.Name, err = a.str(0); err != nil {
		return nil, err
	}
	if t.Description, err = a.optStr(1, ""); err != nil {
		return nil, err
	}
	return nil, s.lab.CreateTag(ctx, *c, t)
}

func (s *Server) tagsDelete(ctx context.Context, c *Caller, a args) (any, error) {
	if err := c.NeedAdmin(); err != nil {
		return nil, err
	}
	n, err := a.str(0)
	if err != nil {
		return nil, err
	}
	return nil, s.lab.DeleteTag(ctx, *c, n)
}
