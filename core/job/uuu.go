package job

import "gopkg.in/yaml.v3"

// uuuCommands checks the `commands` list of a uuu boot (issue 19): each
// entry is a mapping of one protocol (uuu, bcu, SDP, FB, ...) to a
// command string, e.g. {uuu: -b sd {boot}} or {bcu: reset usb}.
func (v *validator) uuuCommands(path string, n *yaml.Node) {
	items, ok := v.sequence(path, n)
	if !ok {
		return
	}
	for i, it := range items {
		p := idx(path, i)
		ps, ok := v.mapping(p, it)
		if !ok {
			continue
		}
		if len(ps) == 0 {
			v.errf(p, it, "empty uuu command: want {uuu: ...} or {bcu: ...}")
		}
		for _, kv := range ps {
			v.str(join(p, kv.key), kv.v)
		}
	}
}
