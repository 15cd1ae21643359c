package job

import (
	"bytes"
	"fmt"
	"slices"

	"gopkg.in/yaml.v3"
)

// SubJob is the part of a multinode definition that runs on one device.
type SubJob struct {
	Role       string
	Index      int // position in the group, 0..N-1 (LAVA's sub_id suffix)
	DeviceType string
	Tags       []string
	Context    map[string]any
	Actions    []Action
	Text       []byte // a YAML definition for that role alone (device_type set, protocols kept)
}

// Split returns one SubJob per device of a multinode definition: Count
// sub-jobs per role, in the order the roles are written, each with the role's
// device_type, tags and context and the actions whose role list contains the
// role. Text is a definition for that device alone: device_type, tags and
// context are set from the role, actions are filtered, and
// protocols.lava-multinode gains `role: <name>` (as LAVA's dispatcher
// expects); the roles map is kept. Split returns nil for a non-multinode
// definition.
func (d *Definition) Split() []SubJob {
	if !d.IsMultinode() {
		return nil
	}
	var out []SubJob
	for _, r := range d.Roles {
		var acts []Action
		for _, a := range d.Actions {
			if slices.Contains(a.Roles, r.Name) {
				acts = append(acts, a)
			}
		}
		text := d.roleText(r)
		for range r.Count {
			out = append(out, SubJob{
				Role:       r.Name,
				Index:      len(out),
				DeviceType: r.DeviceType,
				Tags:       slices.Clone(r.Tags),
				Context:    r.Context,
				Actions:    acts,
				Text:       text,
			})
		}
	}
	return out
}

// roleText renders the definition of one role as YAML.
func (d *Definition) roleText(r Role) []byte {
	if d.root == nil {
		return nil
	}
	str := func(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }
	out := &yaml.Node{Kind: yaml.MappingNode}
	add := func(k string, v *yaml.Node) { out.Content = append(out.Content, str(k), v) }
	for _, p := range pairs(d.root) {
		switch p.key {
		case "device_type", "tags", "context", "environment":
			continue
		case "actions":
			add(p.key, filterActions(resolve(p.v), r.Name))
		case "protocols":
			add(p.key, withRole(resolve(p.v), r.Name))
		default:
			add(p.key, p.v)
		}
		if p.key == "job_name" && r.DeviceType != "" {
			add("device_type", str(r.DeviceType))
		}
	}
	if r.DeviceType != "" && !hasKey(out, "device_type") {
		add("device_type", str(r.DeviceType))
	}
	if len(r.Tags) > 0 {
		tags := &yaml.Node{Kind: yaml.SequenceNode}
		for _, t := range r.Tags {
			tags.Content = append(tags.Content, str(t))
		}
		add("tags", tags)
	}
	if ctx := roleField(d.root, r.Name, "context"); ctx != nil {
		add("context", ctx)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(expand(out)); err != nil {
		return []byte(fmt.Sprintf("# cannot render role %s: %v\n", r.Name, err))
	}
	_ = enc.Close()
	return buf.Bytes()
}

func hasKey(m *yaml.Node, key string) bool {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return true
		}
	}
	return false
}

// roleField returns protocols.lava-multinode.roles.<role>.<key>.
func roleField(root *yaml.Node, role, key string) *yaml.Node {
	n := root
	for _, k := range []string{"protocols", "lava-multinode", "roles", role, key} {
		n = resolve(n)
		if n.Kind != yaml.MappingNode {
			return nil
		}
		if n = get(pairs(n), k); n == nil {
			return nil
		}
	}
	return n
}

// filterActions keeps the actions whose role list contains role.
func filterActions(actions *yaml.Node, role string) *yaml.Node {
	out := &yaml.Node{Kind: yaml.SequenceNode}
	if actions.Kind != yaml.SequenceNode {
		return out
	}
	for _, it := range actions.Content {
		m := resolve(it)
		ps := pairs(m)
		if len(ps) != 1 {
			continue
		}
		body := resolve(ps[0].v)
		roles := get(pairs(body), "role")
		if roles == nil || roles.Kind != yaml.SequenceNode {
			continue
		}
		for _, r := range roles.Content {
			if s, ok := str(r); ok && s == role {
				out.Content = append(out.Content, it)
				break
			}
		}
	}
	return out
}

// withRole copies the protocols mapping and sets lava-multinode.role.
func withRole(protocols *yaml.Node, role string) *yaml.Node {
	if protocols.Kind != yaml.MappingNode {
		return protocols
	}
	out := &yaml.Node{Kind: yaml.MappingNode}
	for _, p := range pairs(protocols) {
		v := p.v
		if p.key == "lava-multinode" {
			if mn := resolve(p.v); mn.Kind == yaml.MappingNode {
				nm := &yaml.Node{Kind: yaml.MappingNode}
				for _, q := range pairs(mn) {
					if q.key != "role" {
						nm.Content = append(nm.Content, q.k, q.v)
					}
				}
				nm.Content = append(nm.Content,
					&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: "role"},
					&yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: role})
				v = nm
			}
		}
		out.Content = append(out.Content, p.k, v)
	}
	return out
}
