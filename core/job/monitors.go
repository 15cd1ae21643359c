package job

import (
	"regexp"

	"gopkg.in/yaml.v3"
)

// Issue 18: the `monitors` test action.

// monitorKeys are the keys of one entry of a test action's monitors (LAVA's
// lava_common/schemas/test/monitor.py).
var monitorKeys = map[string]bool{"name": true, "start": true, "end": true, "pattern": true, "fixupdict": true}

// monitorResults are the values a monitor's fixupdict may map to.
var monitorResults = map[string]bool{"pass": true, "fail": true, "skip": true, "unknown": true}

// monitors validates a test action's monitors: a non-empty list of
// mappings with a name (LAVA's test name characters), start, end and
// pattern strings, and an optional fixupdict of results. The start, end and
// pattern are regular expressions the dispatcher compiles (Go's RE2 syntax,
// which takes Python's (?P<name>...) groups): one that does not compile is
// an error here, at submit time, rather than in the middle of the job.
func (v *validator) monitors(path string, n *yaml.Node) {
	items, ok := v.sequence(path, n)
	if !ok {
		return
	}
	if len(items) == 0 {
		v.errf(path, n, "a monitors test action needs at least one monitor")
	}
	for i, it := range items {
		mp := idx(path, i)
		ps, ok := v.mapping(mp, it)
		if !ok {
			continue
		}
		v.extraKeys(mp, ps, monitorKeys, false)
		for _, k := range []string{"name", "start", "end", "pattern"} {
			x := get(ps, k)
			if x == nil {
				v.missing(join(mp, k), resolve(it))
				continue
			}
			s, ok := v.str(join(mp, k), x)
			if !ok {
				continue
			}
			switch {
			case k == "name" && !testNameRE.MatchString(s):
				v.errf(join(mp, k), x, "does not match regular expression ^[-_a-zA-Z0-9.]+$")
			case k != "name" && s == "":
				v.errf(join(mp, k), x, "empty %s", k)
			case k != "name":
				if _, err := regexp.Compile(s); err != nil {
					v.errf(join(mp, k), x, "not a regular expression the dispatcher can use: %v", err)
				}
			}
		}
		if x := get(ps, "fixupdict"); x != nil {
			fps, ok := v.mapping(join(mp, "fixupdict"), x)
			if !ok {
				continue
			}
			for _, p := range fps {
				v.oneOf(join(join(mp, "fixupdict"), p.key), p.v, monitorResults)
			}
		}
	}
}
