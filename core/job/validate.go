package job

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// validator collects the issues of one definition.
type validator struct {
	rep *Report
	def *Definition

	jobTimeout   time.Duration // 0 when timeouts.job is absent or invalid
	globalTOs    []namedTimeout
	multinode    bool
	roleNames    map[string]bool
	actionBodies []*yaml.Node // the mapping of each entry of def.Actions
	actionIdx    []int        // its index in the actions list
}

type namedTimeout struct {
	path string
	node *yaml.Node
	d    time.Duration
}

func (v *validator) errf(path string, n *yaml.Node, format string, args ...any) {
	v.rep.Errors = append(v.rep.Errors, issue(path, n, fmt.Sprintf(format, args...)))
}

func (v *validator) warnf(path string, n *yaml.Node, format string, args ...any) {
	v.rep.Warnings = append(v.rep.Warnings, issue(path, n, fmt.Sprintf(format, args...)))
}

func issue(path string, n *yaml.Node, msg string) Issue {
	i := Issue{Path: path, Message: msg}
	if n != nil {
		i.Line, i.Column = n.Line, n.Column
	}
	return i
}

// finish sorts issues by position so that reports read top to bottom.
func (v *validator) finish() {
	byPos := func(a, b Issue) int {
		if c := cmp.Compare(a.Line, b.Line); c != 0 {
			return c
		}
		return cmp.Compare(a.Column, b.Column)
	}
	slices.SortStableFunc(v.rep.Errors, byPos)
	slices.SortStableFunc(v.rep.Warnings, byPos)
}

// missing reports a required key absent from mapping m.
func (v *validator) missing(path string, m *yaml.Node) {
	v.errf(path, m, "required key not provided")
}

// expect reports a type mismatch.
func (v *validator) expect(path string, n *yaml.Node, what string) {
	v.errf(path, n, "expected %s, got %s", what, kindName(n))
}

// mapping returns the entries of n when it is a mapping, else reports an error.
func (v *validator) mapping(path string, n *yaml.Node) ([]pair, bool) {
	n = resolve(n)
	if n.Kind != yaml.MappingNode {
		v.expect(path, n, "a mapping")
		return nil, false
	}
	return pairs(n), true
}

// sequence returns the items of n when it is a list, else reports an error.
func (v *validator) sequence(path string, n *yaml.Node) ([]*yaml.Node, bool) {
	n = resolve(n)
	if n.Kind != yaml.SequenceNode {
		v.expect(path, n, "a list")
		return nil, false
	}
	return n.Content, true
}

// str returns a string value, else reports an error.
func (v *validator) str(path string, n *yaml.Node) (string, bool) {
	s, ok := str(n)
	if !ok {
		v.expect(path, n, "a string")
	}
	return s, ok
}

func (v *validator) boolean(path string, n *yaml.Node) (bool, bool) {
	b, ok := boolv(n)
	if !ok {
		v.expect(path, n, "a boolean")
	}
	return b, ok
}

// intMin returns an integer value >= lo, else reports an error.
func (v *validator) intMin(path string, n *yaml.Node, lo int64) (int, bool) {
	i, ok := intv(n)
	if !ok {
		v.expect(path, n, "an integer")
		return 0, false
	}
	if i < lo {
		v.errf(path, n, "value must be at least %d", lo)
		return 0, false
	}
	if i > 1<<31 {
		v.errf(path, n, "value too large")
		return 0, false
	}
	return int(i), true
}

// strList returns a list of strings, else reports errors.
func (v *validator) strList(path string, n *yaml.Node) []string {
	items, ok := v.sequence(path, n)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(items))
	for i, it := range items {
		if s, ok := v.str(idx(path, i), it); ok {
			out = append(out, s)
		}
	}
	return out
}

// oneOf checks that n is a string among allowed.
func (v *validator) oneOf(path string, n *yaml.Node, allowed map[string]bool) (string, bool) {
	s, ok := str(n)
	if !ok || !allowed[s] {
		v.errf(path, n, "not a valid value: %s (expected one of %s)", show(n), keysOf(allowed))
		return s, false
	}
	return s, true
}

// extraKeys reports keys of ps outside allowed, as errors or warnings.
func (v *validator) extraKeys(path string, ps []pair, allowed map[string]bool, warn bool) {
	for _, p := range ps {
		if allowed[p.key] {
			continue
		}
		if warn {
			v.warnf(join(path, p.key), p.k, "extra key not allowed by LAVA's strict schema; LAVA ignores it")
		} else {
			v.errf(join(path, p.key), p.k, "extra keys not allowed")
		}
	}
}

func show(n *yaml.Node) string {
	n = resolve(n)
	if n.Kind == yaml.ScalarNode {
		s := n.Value
		if len(s) > 60 {
			s = s[:60] + "..."
		}
		return fmt.Sprintf("%q", s)
	}
	return kindName(n)
}

func keysOf(m map[string]bool) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ", ")
}

// timeout validates a LAVA timeout mapping and returns its duration.
func (v *validator) timeout(path string, n *yaml.Node) (time.Duration, bool) {
	ps, ok := v.mapping(path, n)
	if !ok {
		return 0, false
	}
	units := 0
	good := true
	var total time.Duration
	for _, p := range ps {
		kp := join(path, p.key)
		if p.key == "skip" {
			if _, ok := v.boolean(kp, p.v); !ok {
				good = false
			}
			continue
		}
		unit, known := unitDuration[p.key]
		if !known {
			v.errf(kp, p.k, "extra keys not allowed (a timeout has one of days, hours, minutes, seconds)")
			good = false
			continue
		}
		units++
		i, ok := v.intMin(kp, p.v, 1)
		if !ok {
			good = false
			continue
		}
		d, err := mulDuration(int64(i), unit)
		if err != nil || d > MaxTimeout {
			v.errf(kp, p.v, "timeout too large: %d %s is over the limit of %d days", i, p.key, int(MaxTimeout/(24*time.Hour)))
			good = false
			continue
		}
		total += d
	}
	switch {
	case units == 0 && good:
		v.errf(path, resolve(n), "a timeout needs one of days, hours, minutes or seconds")
		return 0, false
	case units > 1:
		v.errf(path, resolve(n), "a timeout takes exactly one of days, hours, minutes or seconds")
		return 0, false
	}
	return total, good
}

// validate checks the top-level mapping and fills v.def.
func (v *validator) validate(root *yaml.Node) {
	ps := pairs(root)
	d := v.def
	for _, p := range ps {
		if !topLevelKeys[p.key] {
			if p.key == "compatibility" {
				v.warnf(p.key, p.k, "set by the server when the job runs; ignored in a submission")
				continue
			}
			v.errf(p.key, p.k, "extra keys not allowed")
		}
	}

	// protocols first: multinode changes the other rules.
	if p, ok := getPair(ps, "protocols"); ok {
		v.protocols("protocols", p.v)
	}

	if n := get(ps, "job_name"); n == nil {
		v.missing("job_name", root)
	} else if s, ok := v.str("job_name", n); ok {
		if l := len([]rune(s)); l < 1 || l > 200 {
			v.errf("job_name", n, "length of value must be between 1 and 200")
		}
		d.JobName = s
	}

	if n := get(ps, "device_type"); n != nil {
		if s, ok := v.str("device_type", n); ok {
			if l := len([]rune(s)); l < 1 || l > 200 {
				v.errf("device_type", n, "length of value must be between 1 and 200")
			}
			d.DeviceType = s
		}
		if v.multinode {
			v.errf("device_type", n, `"device_type" should not be used with multinode`)
		}
	} else if !v.multinode {
		v.errf("device_type", root, `"device_type" or multinode should be defined`)
	}

	if n := get(ps, "timeouts"); n == nil {
		v.missing("timeouts", root)
	} else {
		v.timeouts("timeouts", n)
	}

	if n := get(ps, "visibility"); n == nil {
		v.missing("visibility", root)
	} else {
		v.visibility("visibility", n)
	}

	if n := get(ps, "priority"); n != nil {
		v.priority("priority", n)
	}

	if n := get(ps, "tags"); n != nil {
		d.Tags = v.strList("tags", n)
		if v.multinode {
			v.errf("tags", n, `"tags" should not be used with multinode: set tags per role`)
		}
	}

	if n := get(ps, "context"); n != nil {
		v.context("context", n)
		d.Context = toMap(n)
		if v.multinode {
			v.errf("context", n, `"context" should not be used with multinode: set context per role`)
		}
	}

	if n := get(ps, "metadata"); n != nil {
		v.metadata("metadata", n)
		d.Metadata = toMap(n)
	}

	for _, key := range []string{"secrets", "environment"} {
		n := get(ps, key)
		if n == nil {
			continue
		}
		if _, ok := v.mapping(key, n); !ok {
			continue
		}
		if key == "secrets" {
			d.Secrets = toMap(n)
		} else {
			d.Environment = toMap(n)
			if v.multinode {
				v.errf(key, n, `"environment" should not be used with multinode: set environment per role`)
			}
		}
	}

	if n := get(ps, "notify"); n != nil {
		v.notify("notify", n)
	}

	if n := get(ps, "reboot_to_fastboot"); n != nil {
		v.boolean("reboot_to_fastboot", n)
	}

	if n := get(ps, "actions"); n == nil {
		v.missing("actions", root)
	} else {
		v.actions("actions", n)
	}

	v.checkTimeoutsAgainstJob()
}

func (v *validator) timeouts(path string, n *yaml.Node) {
	ps, ok := v.mapping(path, n)
	if !ok {
		return
	}
	v.extraKeys(path, ps, timeoutsKeys, false)
	t := &v.def.Timeouts
	if jn := get(ps, "job"); jn == nil {
		v.missing(join(path, "job"), resolve(n))
	} else if d, ok := v.timeout(join(path, "job"), jn); ok {
		t.Job, v.jobTimeout = d, d
	}
	for _, key := range []string{"action", "connection", "queue"} {
		p, ok := getPair(ps, key)
		if !ok {
			continue
		}
		kp := join(path, key)
		d, ok := v.timeout(kp, p.v)
		if !ok {
			continue
		}
		switch key {
		case "action":
			t.Action = d
		case "connection":
			t.Connection = d
		case "queue":
			t.Queue = d
		}
		if key != "queue" {
			v.globalTOs = append(v.globalTOs, namedTimeout{kp, p.v, d})
		}
	}
	for _, key := range []string{"actions", "connections"} {
		p, ok := getPair(ps, key)
		if !ok {
			continue
		}
		kp := join(path, key)
		sub, ok := v.mapping(kp, p.v)
		if !ok {
			continue
		}
		m := make(map[string]time.Duration, len(sub))
		for _, s := range sub {
			sp := join(kp, s.key)
			if d, ok := v.timeout(sp, s.v); ok {
				m[s.key] = d
				v.globalTOs = append(v.globalTOs, namedTimeout{sp, s.v, d})
			}
		}
		if key == "actions" {
			t.Actions = m
		} else {
			t.Connections = m
		}
	}
}

// checkTimeoutsAgainstJob refuses global and action timeouts above the job's.
func (v *validator) checkTimeoutsAgainstJob() {
	if v.jobTimeout == 0 {
		return
	}
	for _, g := range v.globalTOs {
		if g.d > v.jobTimeout {
			v.errf(g.path, resolve(g.node), "Global timeout is larger than job timeout (%s > %s)", g.d, v.jobTimeout)
		}
	}
	for i, a := range v.def.Actions {
		if a.Timeout > v.jobTimeout {
			n := v.actionTimeoutNode(i)
			v.errf(fmt.Sprintf("actions[%d].%s.timeout", v.actionIdx[i], a.Kind), n, "Action timeout is larger than job timeout (%s > %s)", a.Timeout, v.jobTimeout)
		}
	}
}

func (v *validator) actionTimeoutNode(i int) *yaml.Node {
	if i < len(v.actionBodies) && v.actionBodies[i] != nil {
		if n := get(pairs(v.actionBodies[i]), "timeout"); n != nil {
			return n
		}
	}
	return nil
}

func (v *validator) visibility(path string, n *yaml.Node) {
	n = resolve(n)
	if s, ok := str(n); ok {
		if s == "public" || s == "personal" {
			v.def.Visibility.Kind = s
			return
		}
		v.errf(path, n, "not a valid value: %s (expected public, personal or {group: [names]})", show(n))
		return
	}
	if n.Kind != yaml.MappingNode {
		v.expect(path, n, `"public", "personal" or {group: [names]}`)
		return
	}
	ps := pairs(n)
	v.extraKeys(path, ps, set("group"), false)
	g := get(ps, "group")
	if g == nil {
		v.missing(join(path, "group"), n)
		return
	}
	groups := v.strList(join(path, "group"), g)
	if len(groups) == 0 && resolve(g).Kind == yaml.SequenceNode {
		v.errf(join(path, "group"), g, "at least one group is needed")
	}
	v.def.Visibility = Visibility{Kind: "group", Groups: groups}
}

func (v *validator) priority(path string, n *yaml.Node) {
	if s, ok := str(n); ok {
		switch s {
		case "high":
			v.def.Priority = 100
			return
		case "medium":
			v.def.Priority = 50
			return
		case "low":
			v.def.Priority = 0
			return
		}
	} else if i, ok := intv(n); ok {
		if i >= 0 && i <= 100 {
			v.def.Priority = int(i)
			return
		}
		v.errf(path, resolve(n), "not a valid value: invalid job priority %d, should be in [0, 100]", i)
		return
	}
	v.errf(path, resolve(n), "not a valid value: %s (expected high, medium, low or an integer in [0, 100])", show(n))
}

// context checks a job or role context: known keys, scalar or list values.
func (v *validator) context(path string, n *yaml.Node) {
	ps, ok := v.mapping(path, n)
	if !ok {
		return
	}
	for _, p := range ps {
		kp := join(path, p.key)
		if !contextVariables[p.key] {
			v.warnf(kp, p.k, "extra key not allowed by LAVA's strict schema (not a known context variable); passed to the device template as is")
		}
		val := resolve(p.v)
		switch val.Kind {
		case yaml.ScalarNode:
		case yaml.SequenceNode:
			for i, it := range val.Content {
				if resolve(it).Kind != yaml.ScalarNode {
					v.expect(idx(kp, i), resolve(it), "an integer or a string")
				}
			}
		default:
			v.expect(kp, val, "an integer, a string or a list")
		}
	}
}

// metadata checks the metadata mapping: string (or integer) keys, scalar values.
func (v *validator) metadata(path string, n *yaml.Node) {
	ps, ok := v.mapping(path, n)
	if !ok {
		return
	}
	if len(ps) > maxMetadataEntries {
		v.errf(path, n, "metadata has %d entries, at most %d", len(ps), maxMetadataEntries)
	}
	for _, p := range ps {
		kp := join(path, p.key)
		switch k := resolve(p.k); {
		case k.Kind != yaml.ScalarNode || (k.ShortTag() != "!!str" && k.ShortTag() != "!!int"):
			v.expect(kp, k, "a string key")
		case k.ShortTag() == "!!int":
			v.warnf(kp, k, "LAVA's strict schema expects string keys in metadata")
		}
		val := resolve(p.v)
		if val.Kind != yaml.ScalarNode {
			v.expect(kp, val, "a string or an integer (metadata values are scalars)")
		}
	}
}

func (v *validator) notify(path string, n *yaml.Node) {
	ps, ok := v.mapping(path, n)
	if !ok {
		return
	}
	v.extraKeys(path, ps, notifyKeys, false)
	if c := get(ps, "criteria"); c == nil {
		v.missing(join(path, "criteria"), resolve(n))
	} else if cps, ok := v.mapping(join(path, "criteria"), c); ok {
		cp := join(path, "criteria")
		v.extraKeys(cp, cps, set("status", "type", "dependency_query"), false)
		if dq, ok := getPair(cps, "dependency_query"); ok {
			v.errf(join(cp, "dependency_query"), dq.k, "dependency_query is not supported here: notify on this job's own status")
		}
		st := get(cps, "status")
		status := ""
		if st == nil {
			v.missing(join(cp, "status"), resolve(c))
		} else {
			status, _ = v.oneOf(join(cp, "status"), st, notifyStatus)
		}
		if t := get(cps, "type"); t != nil {
			v.oneOf(join(cp, "type"), t, set("regression", "progression"))
			if status != "" && status != "complete" && status != "incomplete" {
				v.errf(join(cp, "type"), t, "type needs status complete or incomplete")
			}
		}
	}
	if vb := get(ps, "verbosity"); vb != nil {
		v.oneOf(join(path, "verbosity"), vb, set("verbose", "quiet", "status-only"))
	}
	if r := get(ps, "recipients"); r != nil {
		rp := join(path, "recipients")
		items, _ := v.sequence(rp, r)
		for i, it := range items {
			ip := idx(rp, i)
			ips, ok := v.mapping(ip, it)
			if !ok {
				continue
			}
			v.extraKeys(ip, ips, set("to"), false)
			to := get(ips, "to")
			if to == nil {
				v.missing(join(ip, "to"), resolve(it))
				continue
			}
			tp := join(ip, "to")
			tps, ok := v.mapping(tp, to)
			if !ok {
				continue
			}
			v.extraKeys(tp, tps, recipientKeys, false)
			for _, k := range []string{"user", "email", "handle", "server"} {
				if x := get(tps, k); x != nil {
					v.str(join(tp, k), x)
				}
			}
			m := get(tps, "method")
			if m == nil {
				v.missing(join(tp, "method"), resolve(to))
				continue
			}
			method, ok := v.oneOf(join(tp, "method"), m, set("email", "irc"))
			if !ok {
				continue
			}
			has := func(k string) bool { return get(tps, k) != nil }
			if method == "email" && !has("user") && !has("email") {
				v.errf(tp, resolve(to), "No valid user or email address specified.")
			}
			if method == "irc" {
				v.errf(join(tp, "method"), m, "irc notifications are not supported here: use method email or a callback")
			}
		}
	}
	cb, hasCB := getPair(ps, "callback")
	cbs, hasCBs := getPair(ps, "callbacks")
	if hasCB && hasCBs {
		v.errf(join(path, "callbacks"), cbs.k, "callback and callbacks are mutually exclusive")
	}
	if hasCB {
		v.callback(join(path, "callback"), cb.v)
	}
	if hasCBs {
		items, _ := v.sequence(join(path, "callbacks"), cbs.v)
		for i, it := range items {
			v.callback(idx(join(path, "callbacks"), i), it)
		}
	}
	if c, ok := getPair(ps, "compare"); ok {
		v.errf(join(path, "compare"), c.k, "compare (comparing with a query's jobs) is not supported here: remove it")
	}
}

func (v *validator) callback(path string, n *yaml.Node) {
	ps, ok := v.mapping(path, n)
	if !ok {
		return
	}
	v.extraKeys(path, ps, callbackKeys, false)
	if u := get(ps, "url"); u == nil {
		v.missing(join(path, "url"), resolve(n))
	} else {
		v.str(join(path, "url"), u)
	}
	if m := get(ps, "method"); m != nil {
		v.oneOf(join(path, "method"), m, set("GET", "POST"))
	}
	if t := get(ps, "token"); t != nil {
		v.str(join(path, "token"), t)
	}
	if ds := get(ps, "dataset"); ds != nil {
		v.oneOf(join(path, "dataset"), ds, set("minimal", "logs", "results", "all"))
	}
	if ct := get(ps, "content-type"); ct != nil {
		v.oneOf(join(path, "content-type"), ct, set("json", "urlencoded"))
	}
}
