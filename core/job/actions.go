package job

import (
	"gopkg.in/yaml.v3"
)

// actions validates the actions list and fills v.def.Actions.
func (v *validator) actions(path string, n *yaml.Node) {
	items, ok := v.sequence(path, n)
	if !ok {
		return
	}
	withNS := 0
	for i, it := range items {
		ap := idx(path, i)
		m := resolve(it)
		if m.Kind != yaml.MappingNode {
			v.expect(ap, m, "a mapping with one key: deploy, boot, test or command")
			continue
		}
		ps := pairs(m)
		if len(ps) != 1 {
			v.errf(ap, m, "an action has exactly one key (deploy, boot, test or command), found %d", len(ps))
			if len(ps) == 0 {
				continue
			}
		}
		kind := ps[0].key
		kp := join(ap, kind)
		if !actionKinds[kind] {
			v.errf(kp, ps[0].k, "unknown action type (expected deploy, boot, test or command)")
			continue
		}
		body := resolve(ps[0].v)
		if body.Kind != yaml.MappingNode {
			v.expect(kp, body, "a mapping")
			continue
		}
		a := Action{Kind: kind, Line: ps[0].k.Line, Index: i, Params: toMap(body)}
		bps := pairs(body)
		v.actionCommon(kp, body, bps, &a)
		if a.Namespace != "" {
			withNS++
		}
		var module string
		switch kind {
		case "deploy":
			module = v.deploy(kp, body, bps, &a)
		case "boot":
			module = v.boot(kp, body, bps, &a)
		case "test":
			module = v.test(kp, body, bps)
		case "command":
			module = "command"
			if x := get(bps, "name"); x == nil {
				v.missing(join(kp, "name"), body)
			} else if s, ok := v.str(join(kp, "name"), x); ok {
				a.Method = s
				a.MethodLine, a.MethodColumn = x.Line, x.Column
			}
		}
		if allowed, ok := methodKeys[module]; ok {
			for _, p := range bps {
				if !allowed[p.key] && !actionCommonKeys[p.key] {
					v.warnf(join(kp, p.key), p.k, "extra key not allowed by LAVA's strict schema for %s; LAVA ignores it", module)
				}
			}
		}
		v.actionBodies = append(v.actionBodies, body)
		v.actionIdx = append(v.actionIdx, i)
		v.def.Actions = append(v.def.Actions, a)
	}
	if withNS > 0 && withNS != len(v.def.Actions) {
		for i, a := range v.def.Actions {
			if a.Namespace == "" {
				v.errf(idx(path, v.actionIdx[i])+"."+a.Kind+".namespace", v.actionBodies[i], "When using namespaces, every action should have a namespace")
			}
		}
	}
}

// actionCommon validates the keys every action accepts.
func (v *validator) actionCommon(path string, body *yaml.Node, ps []pair, a *Action) {
	if x := get(ps, "namespace"); x != nil {
		if s, ok := v.str(join(path, "namespace"), x); ok {
			if reservedNS[s] {
				v.errf(join(path, "namespace"), x, "'%s' is reserved", s)
			}
			a.Namespace = s
		}
	}
	if x := get(ps, "connection-namespace"); x != nil {
		v.str(join(path, "connection-namespace"), x)
	}
	if x := get(ps, "timeout"); x != nil {
		if d, ok := v.timeout(join(path, "timeout"), x); ok {
			a.Timeout = d
		}
	}
	if x := get(ps, "timeouts"); x != nil {
		if tps, ok := v.mapping(join(path, "timeouts"), x); ok {
			for _, p := range tps {
				v.timeout(join(join(path, "timeouts"), p.key), p.v)
			}
		}
	}
	if x := get(ps, "repeat"); x != nil {
		v.intMin(join(path, "repeat"), x, 1)
	}
	if x := get(ps, "failure_retry"); x != nil {
		if r, ok := v.intMin(join(path, "failure_retry"), x, 1); ok {
			a.FailureRetry = r
		}
	}
	if x := get(ps, "failure_retry_interval"); x != nil {
		v.intMin(join(path, "failure_retry_interval"), x, 0)
	}
	rp := join(path, "role")
	if x, ok := getPair(ps, "role"); ok {
		a.Roles = v.strList(rp, x.v)
		if !v.multinode {
			v.warnf(rp, x.k, "role is only used by multinode jobs; ignored")
		} else if l := resolve(x.v); l.Kind == yaml.SequenceNode {
			for i, it := range l.Content {
				if r, ok := str(it); ok && !v.roleNames[r] {
					v.errf(idx(rp, i), it, "unknown role %q (not in protocols.lava-multinode.roles)", r)
				}
			}
		}
	} else if v.multinode {
		v.errf(rp, body, "Every action of a multinode job should have roles")
	}
}

// deploy validates a deploy action and returns its schema module name.
func (v *validator) deploy(path string, body *yaml.Node, ps []pair, a *Action) string {
	to := get(ps, "to")
	if to == nil {
		v.missing(join(path, "to"), body)
		return ""
	}
	s, ok := v.str(join(path, "to"), to)
	if !ok {
		return ""
	}
	a.Method = s
	a.MethodLine, a.MethodColumn = to.Line, to.Column
	if !deployTo[s] {
		v.errf(join(path, "to"), to, "unknown action type: deploy to %q (expected one of %s)", s, keysOf(deployTo))
		return ""
	}
	if x := get(ps, "os"); x != nil {
		v.str(join(path, "os"), x)
	}
	switch s {
	case "tftp":
		if get(ps, "kernel") == nil {
			v.errf(join(path, "kernel"), body, "needs a kernel to deploy")
		}
		if get(ps, "nfsrootfs") != nil && get(ps, "persistent_nfs") != nil {
			v.errf(join(path, "persistent_nfs"), get(ps, "persistent_nfs"), "nfsrootfs and persistent_nfs are mutually exclusive")
		}
	case "tmpfs":
		im := get(ps, "images")
		if im == nil {
			v.missing(join(path, "images"), body)
		} else if ips, ok := v.mapping(join(path, "images"), im); ok && len(ips) == 0 {
			v.errf(join(path, "images"), im, "'images' is empty")
		}
	}
	for _, p := range ps {
		if actionCommonKeys[p.key] {
			continue
		}
		v.resources(join(path, p.key), p.v, 0)
	}
	return "deploy." + s
}

// resources finds URL resources (mappings with a `url` key) below a deploy
// key and validates them.
func (v *validator) resources(path string, n *yaml.Node, depth int) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode || depth > 4 {
		return
	}
	ps := pairs(n)
	if _, ok := getPair(ps, "url"); ok {
		v.resource(path, n, ps)
	}
	for _, p := range ps {
		if resolve(p.v).Kind == yaml.MappingNode {
			v.resources(join(path, p.key), p.v, depth+1)
		}
	}
}

func (v *validator) resource(path string, n *yaml.Node, ps []pair) {
	if u := get(ps, "url"); u != nil {
		if s, ok := v.str(join(path, "url"), u); ok && s == "" {
			v.errf(join(path, "url"), u, "empty url")
		}
	}
	if c := get(ps, "compression"); c != nil && !isNull(c) {
		v.oneOf(join(path, "compression"), c, compressions)
	}
	if ar := get(ps, "archive"); ar != nil {
		v.oneOf(join(path, "archive"), ar, set("tar"))
	}
	for _, k := range []string{"md5sum", "sha256sum", "sha512sum"} {
		if x := get(ps, k); x != nil {
			v.str(join(path, k), x)
		}
	}
	if h := get(ps, "headers"); h != nil {
		v.mapping(join(path, "headers"), h)
	}
}

// boot validates a boot action and returns its schema module name.
func (v *validator) boot(path string, body *yaml.Node, ps []pair, a *Action) string {
	m := get(ps, "method")
	if m == nil {
		v.missing(join(path, "method"), body)
		return ""
	}
	s, ok := v.str(join(path, "method"), m)
	if !ok {
		return ""
	}
	a.Method = s
	a.MethodLine, a.MethodColumn = m.Line, m.Column
	if !bootMethods[s] {
		v.errf(join(path, "method"), m, "unknown action type: boot method %q (expected one of %s)", s, keysOf(bootMethods))
		return ""
	}
	if x := get(ps, "prompts"); x != nil {
		v.prompts(join(path, "prompts"), x)
	}
	if x := get(ps, "auto_login"); x != nil {
		v.autoLogin(join(path, "auto_login"), x)
	}
	if x := get(ps, "transfer_overlay"); x != nil {
		tp := join(path, "transfer_overlay")
		if tps, ok := v.mapping(tp, x); ok {
			for _, k := range []string{"download_command", "unpack_command"} {
				if y := get(tps, k); y == nil {
					v.missing(join(tp, k), resolve(x))
				} else {
					v.str(join(tp, k), y)
				}
			}
		}
	}
	if x := get(ps, "commands"); x != nil {
		cp := join(path, "commands")
		if resolve(x).Kind == yaml.SequenceNode && s == "uuu" {
			v.uuuCommands(cp, x) // issue 19: {uuu: ...} / {bcu: ...} entries
		} else if resolve(x).Kind == yaml.SequenceNode {
			v.strList(cp, x)
		} else {
			v.str(cp, x)
		}
	} else if s == "u-boot" {
		v.missing(join(path, "commands"), body)
	}
	if x := get(ps, "parameters"); x != nil {
		v.mapping(join(path, "parameters"), x)
	}
	return "boot." + s
}

func (v *validator) prompts(path string, n *yaml.Node) {
	if resolve(n).Kind == yaml.SequenceNode {
		for i, it := range resolve(n).Content {
			if s, ok := v.str(idx(path, i), it); ok && s == "" {
				v.errf(idx(path, i), it, "empty prompt")
			}
		}
		return
	}
	if s, ok := v.str(path, n); ok && s == "" {
		v.errf(path, n, "empty prompt")
	}
}

func (v *validator) autoLogin(path string, n *yaml.Node) {
	ps, ok := v.mapping(path, n)
	if !ok {
		return
	}
	if x := get(ps, "login_prompt"); x == nil {
		v.missing(join(path, "login_prompt"), resolve(n))
	} else if s, ok := v.str(join(path, "login_prompt"), x); ok && s == "" {
		v.errf(join(path, "login_prompt"), x, "empty prompt")
	}
	if x := get(ps, "username"); x == nil {
		v.missing(join(path, "username"), resolve(n))
	} else {
		v.str(join(path, "username"), x)
	}
	pp, pw := get(ps, "password_prompt"), get(ps, "password")
	switch {
	case pp != nil && pw == nil:
		v.missing(join(path, "password"), resolve(n))
	case pw != nil && pp == nil:
		v.missing(join(path, "password_prompt"), resolve(n))
	}
	if pp != nil {
		v.str(join(path, "password_prompt"), pp)
	}
	if pw != nil {
		v.str(join(path, "password"), pw)
	}
	if x := get(ps, "login_commands"); x != nil {
		v.strList(join(path, "login_commands"), x)
	}
}

// test validates a test action and returns its schema module name.
func (v *validator) test(path string, body *yaml.Node, ps []pair) string {
	switch {
	case get(ps, "definitions") != nil:
		v.definitions(join(path, "definitions"), get(ps, "definitions"))
		return "test.definitions"
	case get(ps, "interactive") != nil:
		v.sequence(join(path, "interactive"), get(ps, "interactive"))
		return "test.interactive"
	case get(ps, "monitors") != nil:
		v.monitors(join(path, "monitors"), get(ps, "monitors"))
		return "test.monitors"
	}
	v.errf(path, body, "invalid action: a test needs definitions, interactive or monitors")
	return ""
}

func (v *validator) definitions(path string, n *yaml.Node) {
	items, ok := v.sequence(path, n)
	if !ok {
		return
	}
	for i, it := range items {
		dp := idx(path, i)
		ps, ok := v.mapping(dp, it)
		if !ok {
			continue
		}
		m := resolve(it)
		v.extraKeys(dp, ps, testDefKeys, true)
		from := ""
		fromNode := get(ps, "from")
		if fromNode == nil {
			v.missing(join(dp, "from"), m)
		} else {
			from, _ = v.oneOf(join(dp, "from"), fromNode, testFrom)
		}
		if x := get(ps, "name"); x == nil {
			v.missing(join(dp, "name"), m)
		} else if s, ok := v.str(join(dp, "name"), x); ok {
			switch {
			case !testNameRE.MatchString(s):
				v.errf(join(dp, "name"), x, "does not match regular expression ^[-_a-zA-Z0-9.]+$")
			case s == "lava":
				v.errf(join(dp, "name"), x, `The "lava" test definition name is reserved.`)
			}
		}
		if x := get(ps, "path"); x == nil {
			v.missing(join(dp, "path"), m)
		} else {
			v.str(join(dp, "path"), x)
		}
		repo := get(ps, "repository")
		rp := join(dp, "repository")
		if repo == nil {
			v.missing(rp, m)
		} else if from == "inline" {
			if rps, ok := v.mapping(rp, repo); ok {
				if md := get(rps, "metadata"); md == nil {
					v.missing(join(rp, "metadata"), resolve(repo))
				} else {
					v.mapping(join(rp, "metadata"), md)
				}
				if run := get(rps, "run"); run != nil {
					if runps, ok := v.mapping(join(rp, "run"), run); ok {
						if st := get(runps, "steps"); st != nil {
							v.sequence(join(join(rp, "run"), "steps"), st)
						}
					}
				}
			}
		} else if from != "" {
			v.str(rp, repo)
		}
		comp := get(ps, "compression")
		if from == "url" && comp == nil {
			v.errf(join(dp, "from"), fromNode, `not a valid value: from: url needs a "compression" (bz2, gz, xz, zip or zstd)`)
		}
		if comp != nil && !isNull(comp) {
			v.oneOf(join(dp, "compression"), comp, compressions)
		}
		if x := get(ps, "skip_install"); x != nil {
			sp := join(dp, "skip_install")
			if items, ok := v.sequence(sp, x); ok {
				for j, s := range items {
					v.oneOf(idx(sp, j), s, skipInstall)
				}
			}
		}
		if x := get(ps, "lava-signal"); x != nil {
			v.oneOf(join(dp, "lava-signal"), x, lavaSignals)
		}
		if x := get(ps, "history"); x != nil {
			v.boolean(join(dp, "history"), x)
		}
		for _, k := range []string{"branch", "revision"} {
			if x := get(ps, k); x != nil && resolve(x).Kind != yaml.ScalarNode {
				v.expect(join(dp, k), x, "a string")
			}
		}
		for _, k := range []string{"parameters", "params"} {
			if x := get(ps, k); x != nil {
				v.mapping(join(dp, k), x)
			}
		}
	}
}
