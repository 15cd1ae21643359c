package job

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Limits against YAML bombs: the document is walked once with aliases
// expanded, and refused when the expanded tree is larger or deeper than this.
const (
	maxExpandedNodes = 200_000
	maxDepth         = 64
	maxAliasChain    = 32
)

// resolve follows alias nodes to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < maxAliasChain; i++ {
		n = n.Alias
	}
	if n == nil || n.Kind == yaml.AliasNode {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
	}
	return n
}

// pair is one key: value entry of a mapping.
type pair struct {
	key  string
	k, v *yaml.Node
}

// isMerge reports whether k is the YAML merge key "<<".
func isMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" && (k.Tag == "!!merge" || k.Tag == "")
}

// pairs returns a mapping's entries in document order, with merge keys
// ("<<: *anchor") expanded and duplicate keys resolved (the last one wins,
// like PyYAML). n must be resolved.
func pairs(n *yaml.Node) []pair {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	return pairsDepth(n, 0)
}

func pairsDepth(n *yaml.Node, depth int) []pair {
	var explicit, merged []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolve(n.Content[i]), n.Content[i+1]
		if isMerge(k) && depth < maxAliasChain {
			src := resolve(val)
			switch src.Kind {
			case yaml.MappingNode:
				merged = append(merged, pairsDepth(src, depth+1)...)
			case yaml.SequenceNode:
				for _, s := range src.Content {
					if s = resolve(s); s.Kind == yaml.MappingNode {
						merged = append(merged, pairsDepth(s, depth+1)...)
					}
				}
			}
			continue
		}
		explicit = append(explicit, pair{key: keyString(k), k: k, v: val})
	}
	out := make([]pair, 0, len(explicit)+len(merged))
	index := make(map[string]int, len(explicit)+len(merged))
	add := func(p pair, override bool) {
		if i, ok := index[p.key]; ok {
			if override {
				out[i] = p
			}
			return
		}
		index[p.key] = len(out)
		out = append(out, p)
	}
	for _, p := range explicit {
		add(p, true)
	}
	for _, p := range merged {
		add(p, false)
	}
	return out
}

// keyString renders a mapping key as a string.
func keyString(k *yaml.Node) string {
	if k.Kind == yaml.ScalarNode {
		return k.Value
	}
	return fmt.Sprintf("<%s key>", kindName(k))
}

// get returns the value of key in mapping n (resolved), or nil.
func get(ps []pair, key string) *yaml.Node {
	for _, p := range ps {
		if p.key == key {
			return resolve(p.v)
		}
	}
	return nil
}

// getPair returns the entry for key, if any.
func getPair(ps []pair, key string) (pair, bool) {
	for _, p := range ps {
		if p.key == key {
			return p, true
		}
	}
	return pair{}, false
}

func kindName(n *yaml.Node) string {
	n = resolve(n)
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return "null"
		case "!!int":
			return "an integer"
		case "!!float":
			return "a number"
		case "!!bool":
			return "a boolean"
		case "!!str":
			return "a string"
		}
		return "a scalar (" + n.ShortTag() + ")"
	}
	return "an unknown node"
}

func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// str returns a string scalar's value.
func str(n *yaml.Node) (string, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		return "", false
	}
	return n.Value, true
}

// intv returns an integer scalar's value.
func intv(n *yaml.Node) (int64, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
		return 0, false
	}
	i, err := parseInt(n.Value)
	return i, err == nil
}

func parseInt(s string) (int64, error) {
	s = strings.ReplaceAll(s, "_", "")
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	base := 10
	switch {
	case strings.HasPrefix(s, "0x"), strings.HasPrefix(s, "0X"):
		base, s = 16, s[2:]
	case strings.HasPrefix(s, "0o"):
		base, s = 8, s[2:]
	case strings.HasPrefix(s, "0b"):
		base, s = 2, s[2:]
	case len(s) > 1 && s[0] == '0':
		base = 8
	}
	u, err := strconv.ParseInt(s, base, 64)
	if err != nil {
		return 0, fmt.Errorf("integer %q: %w", s, err)
	}
	if neg {
		u = -u
	}
	return u, nil
}

// boolv returns a boolean scalar's value.
func boolv(n *yaml.Node) (bool, bool) {
	n = resolve(n)
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
		return false, false
	}
	var b bool
	if err := n.Decode(&b); err != nil {
		return false, false
	}
	return b, true
}

// scalarValue decodes a scalar node to string, int, float64, bool or nil.
func scalarValue(n *yaml.Node) any {
	switch n.ShortTag() {
	case "!!str":
		return n.Value
	case "!!null":
		return nil
	case "!!bool":
		if b, ok := boolv(n); ok {
			return b
		}
	case "!!int":
		if i, err := parseInt(n.Value); err == nil {
			return int(i)
		}
	}
	var v any
	if err := n.Decode(&v); err != nil {
		return n.Value
	}
	switch x := v.(type) {
	case int64:
		return int(x)
	case uint64:
		return float64(x)
	case float32:
		return float64(x)
	}
	return v
}

// toValue converts a node to map[string]any, []any, string, int, float64,
// bool or nil. The caller has bounded the expanded size with measure.
func toValue(n *yaml.Node) any {
	return toValueDepth(n, 0)
}

func toValueDepth(n *yaml.Node, depth int) any {
	n = resolve(n)
	if depth > maxDepth {
		return nil
	}
	switch n.Kind {
	case yaml.MappingNode:
		ps := pairs(n)
		m := make(map[string]any, len(ps))
		for _, p := range ps {
			m[p.key] = toValueDepth(p.v, depth+1)
		}
		return m
	case yaml.SequenceNode:
		l := make([]any, len(n.Content))
		for i, c := range n.Content {
			l[i] = toValueDepth(c, depth+1)
		}
		return l
	case yaml.ScalarNode:
		return scalarValue(n)
	}
	return nil
}

// toMap is toValue for a mapping node; nil when n is not a mapping.
func toMap(n *yaml.Node) map[string]any {
	m, _ := toValue(n).(map[string]any)
	return m
}

// measure walks the document with aliases expanded and refuses documents
// that expand past maxExpandedNodes or nest deeper than maxDepth (YAML
// bombs, self-referencing aliases). Duplicate keys are accepted silently
// (the last one wins), as PyYAML and LAVA do.
func (v *validator) measure(root *yaml.Node) bool {
	count := 0
	var walk func(n *yaml.Node, depth int, path string) bool
	walk = func(n *yaml.Node, depth int, path string) bool {
		count++
		if count > maxExpandedNodes {
			v.errf(path, n, "definition too large once its aliases are expanded (over %d nodes)", maxExpandedNodes)
			return false
		}
		if depth > maxDepth {
			v.errf(path, n, "definition nested too deeply (over %d levels) or with a recursive alias", maxDepth)
			return false
		}
		r := resolve(n)
		if n.Kind == yaml.AliasNode && r.Kind == yaml.ScalarNode && r.Tag == "!!null" && r.Line == 0 {
			v.errf(path, n, "alias chain too long")
			return false
		}
		switch r.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(r.Content); i += 2 {
				key := keyString(resolve(r.Content[i]))
				if !walk(r.Content[i], depth+1, path) || !walk(r.Content[i+1], depth+1, join(path, key)) {
					return false
				}
			}
		case yaml.SequenceNode:
			for i, c := range r.Content {
				if !walk(c, depth+1, fmt.Sprintf("%s[%d]", path, i)) {
					return false
				}
			}
		}
		return true
	}
	return walk(root, 0, "")
}

// join appends a key to a path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// idx appends a list index to a path.
func idx(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// expand returns a deep copy of n with aliases and merge keys expanded and
// anchors dropped, so that it can be encoded on its own.
func expand(n *yaml.Node) *yaml.Node { return expandDepth(n, 0) }

func expandDepth(n *yaml.Node, depth int) *yaml.Node {
	n = resolve(n)
	c := *n
	c.Anchor = ""
	c.Alias = nil
	if depth > maxDepth {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	}
	switch n.Kind {
	case yaml.MappingNode:
		ps := pairs(n)
		c.Content = make([]*yaml.Node, 0, 2*len(ps))
		for _, p := range ps {
			c.Content = append(c.Content, expandDepth(p.k, depth+1), expandDepth(p.v, depth+1))
		}
	case yaml.SequenceNode:
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, it := range n.Content {
			c.Content[i] = expandDepth(it, depth+1)
		}
	}
	return &c
}
