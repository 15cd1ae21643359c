package job

import (
	"gopkg.in/yaml.v3"
)

// protocols validates the protocols block; lava-multinode fills v.def.Roles.
func (v *validator) protocols(path string, n *yaml.Node) {
	ps, ok := v.mapping(path, n)
	if !ok {
		return
	}
	v.extraKeys(path, ps, protocolNames, false)
	for _, p := range ps {
		pp := join(path, p.key)
		switch p.key {
		case "lava-multinode":
			v.multinodeProtocol(pp, p.v)
		case "lava-lxc":
			v.lxc(pp, p.v)
		case "lava-vland":
			v.mapping(pp, p.v)
		case "lava-xnbd":
			xps, ok := v.mapping(pp, p.v)
			if !ok {
				continue
			}
			v.extraKeys(pp, xps, set("port", "timeout"), false)
			if port := get(xps, "port"); port == nil {
				v.missing(join(pp, "port"), resolve(p.v))
			} else if s, ok := str(port); ok {
				if s != "auto" {
					v.errf(join(pp, "port"), port, `not a valid value: expected "auto" or an integer`)
				}
			} else if _, ok := intv(port); !ok {
				v.expect(join(pp, "port"), port, `"auto" or an integer`)
			}
			if t := get(xps, "timeout"); t != nil {
				v.timeout(join(pp, "timeout"), t)
			}
		}
	}
}

func (v *validator) lxc(path string, n *yaml.Node) {
	ps, ok := v.mapping(path, n)
	if !ok {
		return
	}
	check := func(p string, m *yaml.Node, mps []pair) {
		v.extraKeys(p, mps, lxcKeys, false)
		for _, k := range []string{"name", "distribution", "release"} {
			if x := get(mps, k); x == nil {
				v.missing(join(p, k), resolve(m))
			} else {
				v.str(join(p, k), x)
			}
		}
		for _, k := range []string{"persist", "verbose"} {
			if x := get(mps, k); x != nil {
				v.boolean(join(p, k), x)
			}
		}
		if t := get(mps, "timeout"); t != nil {
			v.timeout(join(p, "timeout"), t)
		}
	}
	if get(ps, "name") != nil {
		check(path, n, ps)
		return
	}
	for _, p := range ps { // {namespace: lxc}
		if sub, ok := v.mapping(join(path, p.key), p.v); ok {
			check(join(path, p.key), p.v, sub)
		}
	}
}

func (v *validator) multinodeProtocol(path string, n *yaml.Node) {
	ps, ok := v.mapping(path, n)
	if !ok {
		return
	}
	v.multinode = true
	v.roleNames = map[string]bool{}
	v.extraKeys(path, ps, multinodeKeys, false)
	if t := get(ps, "timeout"); t != nil {
		if d, ok := v.timeout(join(path, "timeout"), t); ok {
			v.globalTOs = append(v.globalTOs, namedTimeout{join(path, "timeout"), t, d})
		}
	}
	rn := get(ps, "roles")
	rp := join(path, "roles")
	if rn == nil {
		v.missing(rp, resolve(n))
		return
	}
	roles, ok := v.mapping(rp, rn)
	if !ok {
		return
	}
	if len(roles) == 0 {
		v.errf(rp, resolve(rn), "at least one role is needed")
	}
	for _, r := range roles {
		p := join(rp, r.key)
		v.roleNames[r.key] = true
		body, ok := v.mapping(p, r.v)
		if !ok {
			continue
		}
		role := Role{Name: r.key}
		conn := get(body, "connection") != nil
		if conn {
			v.extraKeys(p, body, connRoleKeys, false)
			for _, k := range []string{"connection", "expect_role", "host_role"} {
				if x := get(body, k); x == nil {
					v.missing(join(p, k), resolve(r.v))
				} else {
					v.str(join(p, k), x)
				}
			}
			role.Connection, _ = str(get(body, "connection"))
			role.HostRole, _ = str(get(body, "host_role"))
			role.ExpectRole, _ = str(get(body, "expect_role"))
			if role.Connection != "" && role.Connection != "ssh" {
				v.errf(join(p, "connection"), get(body, "connection"), "connection %q: only ssh connection roles are supported (boot method ssh)", role.Connection)
			}
			if x := get(body, "request"); x != nil {
				if s, ok := v.str(join(p, "request"), x); ok {
					if s != "lava-start" {
						v.errf(join(p, "request"), x, "request %q: the only request a connection role makes is lava-start", s)
					}
					role.Request = s
				}
			}
		} else {
			v.extraKeys(p, body, deviceRoleKeys, false)
			if x := get(body, "device_type"); x == nil {
				v.missing(join(p, "device_type"), resolve(r.v))
			} else if s, ok := v.str(join(p, "device_type"), x); ok {
				if s == "" {
					v.errf(join(p, "device_type"), x, "length of value must be at least 1")
				}
				role.DeviceType = s
			}
			if x := get(body, "environment"); x != nil {
				v.mapping(join(p, "environment"), x)
			}
		}
		if x := get(body, "count"); x == nil {
			v.missing(join(p, "count"), resolve(r.v))
		} else if c, ok := v.intMin(join(p, "count"), x, 0); ok {
			if c > 1000 {
				v.errf(join(p, "count"), x, "count %d is over the limit of 1000 devices per role", c)
			} else {
				role.Count = c
			}
		}
		if x := get(body, "tags"); x != nil {
			role.Tags = v.strList(join(p, "tags"), x)
		}
		if x := get(body, "context"); x != nil {
			v.context(join(p, "context"), x)
			role.Context = toMap(x)
		}
		if x := get(body, "essential"); x != nil {
			role.Essential, _ = v.boolean(join(p, "essential"), x)
		}
		if x := get(body, "timeout"); x != nil {
			v.timeout(join(p, "timeout"), x)
		}
		v.def.Roles = append(v.def.Roles, role)
	}
	v.connectionRoles(rp, roles)
}

// connectionRoles checks the roles named by the connection roles (LAVA's
// _validate_multinode and split_multinode_yaml): host_role and
// expect_role name roles of the job, the host role has a device and a
// count of 1.
func (v *validator) connectionRoles(rp string, roles []pair) {
	byName := map[string]Role{}
	for _, r := range v.def.Roles {
		byName[r.Name] = r
	}
	for _, r := range v.def.Roles {
		if r.Connection == "" {
			continue
		}
		body := resolve(get(roles, r.Name))
		p := join(rp, r.Name)
		if r.HostRole != "" {
			host, ok := byName[r.HostRole]
			switch {
			case !ok:
				v.errf(join(p, "host_role"), get(pairs(body), "host_role"), "'host_role' '%s' does not exist", r.HostRole)
			case host.DeviceType == "":
				v.errf(join(p, "host_role"), get(pairs(body), "host_role"), "host_role %q is a connection role: the host role needs a device", r.HostRole)
			case host.Count != 1:
				v.errf(join(p, "host_role"), get(pairs(body), "host_role"), "The count for a role designated as a host_role must be 1 (role %q has count %d).", r.HostRole, host.Count)
			}
		}
		if r.ExpectRole != "" {
			if _, ok := byName[r.ExpectRole]; !ok {
				v.errf(join(p, "expect_role"), get(pairs(body), "expect_role"), "'expect_role' '%s' does not exist", r.ExpectRole)
			}
		}
	}
}
